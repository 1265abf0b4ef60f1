/**
 * Guidance-screen dispatch: the records the cloud keeps about messages, their per-screen dispatches
 * and lifecycle, the audit log, screen metadata and condition, and automatic guidance rules.
 * Every method returns a Promise so that a PostgreSQL implementation fits the same interface; the
 * conformance suite (test/store/dispatch-conformance.ts) is what every implementation must pass.
 */
import type { ContentForm } from '@quanlink/sign-content';
import type { MessageSource, SignStatusData } from '@quanlink/contracts';
import type { GradeName } from '../traffic/grades.js';

export const DISPATCH_STATES = ['queued', 'sent', 'delivered', 'displayed', 'superseded', 'failed', 'expired', 'cancelled'] as const;
export type DispatchState = (typeof DISPATCH_STATES)[number];

/** How a message picks its screens; the forms add up (a screen named twice gets one dispatch). */
export interface MessageTargets {
  /** 'gateway/device' */
  screens?: string[] | undefined;
  groups?: string[] | undefined;
  segments?: string[] | undefined;
  corridors?: string[] | undefined;
  all?: boolean | undefined;
}

export interface MessageRecord {
  id: string;
  /** Canonical MULTI; `crc` is its NTCIP 1203 CRC. */
  multi: string;
  crc: number;
  /** The structured form it was written as, when it was. */
  form: ContentForm | null;
  priority: number;
  startAt: number;
  endAt: number | null;
  createdAt: number;
  source: MessageSource;
  targets: MessageTargets;
  note: string | null;
  /** Who created it: 'admin' or 'guidance:<rule id>'. */
  createdBy: string;
  /** The automatic guidance rule that made it, when any. */
  ruleId: string | null;
  cancelledAt: number | null;
  cancelledBy: string | null;
}

export type NewMessage = Omit<MessageRecord, 'cancelledAt' | 'cancelledBy'>;

export interface DispatchRecord {
  id: string;
  messageId: string;
  gatewayId: string;
  deviceId: string;
  state: DispatchState;
  /** Why it failed (or was ignored/expired/cancelled), when known. */
  reason: string | null;
  /** CRC the screen reported showing for it (displayed). */
  readbackCrc: number | null;
  /** The transaction id of the last command that carried it. */
  lastTx: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewDispatch {
  id: string;
  gatewayId: string;
  deviceId: string;
}

export interface HistoryEntry {
  dispatchId: string;
  from: DispatchState;
  to: DispatchState;
  /** False: the change was refused (illegal, e.g. a late edge report after expiry) and only recorded. */
  applied: boolean;
  reason: string | null;
  readbackCrc: number | null;
  actor: string;
  at: number;
}

/** A dispatch moved (or a move was refused and recorded): the record after it and its history row. */
export interface DispatchChange {
  dispatch: DispatchRecord;
  history: HistoryEntry;
}

export interface TransitionRequest {
  dispatchId: string;
  to: DispatchState;
  actor: string;
  at: number;
  reason?: string | undefined;
  readbackCrc?: number | undefined;
  /** Recorded as the dispatch's lastTx (the command that carries it). */
  tx?: string | undefined;
  /** Allows leaving failed/expired (resend). */
  reopen?: boolean | undefined;
}

export interface AuditInput {
  actor: string;
  action: string;
  /** What was changed, e.g. 'message:m-123', 'screen:gw-a/vms-1', 'rule:r1'. */
  subject: string;
  details: Record<string, unknown>;
  at: number;
}

export interface AuditEntry extends AuditInput {
  id: number;
}

export interface AuditFilter {
  since?: number | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  limit?: number | undefined;
}

export interface MessageFilter {
  /** Not cancelled and not past its end at `now`. */
  active?: boolean | undefined;
  source?: MessageSource | undefined;
  now?: number | undefined;
  limit?: number | undefined;
}

export interface DispatchFilter {
  gatewayId?: string | undefined;
  deviceId?: string | undefined;
  state?: DispatchState | undefined;
  messageId?: string | undefined;
  limit?: number | undefined;
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

/** What an operator says about a screen (the birth says what it is). */
export interface ScreenMeta {
  gatewayId: string;
  deviceId: string;
  name: string | null;
  groups: string[];
  segment: string | null;
  corridor: string | null;
  location: GeoPoint | null;
  updatedAt: number;
}

export type ScreenMetaPatch = Partial<Pick<ScreenMeta, 'name' | 'groups' | 'segment' | 'corridor' | 'location'>>;

/** A screen's own condition, from its latest sign.status event. */
export interface ScreenCondition extends SignStatusData {
  gatewayId: string;
  deviceId: string;
  /** Edge clock of the status event. */
  ts: number;
  updatedAt: number;
}

/** A message still to be shown on one gateway's screens (for sign.sync). */
export interface GatewayActiveEntry {
  message: MessageRecord;
  dispatches: DispatchRecord[];
}

// ---- automatic guidance -------------------------------------------------------------------

export interface GuidanceRule {
  id: string;
  segment: string;
  whenGradeAtLeast: GradeName;
  /** Default: one grade better than the trigger. */
  clearWhenGradeAtMost?: GradeName | undefined;
  /** Minimum seconds the message stays before it may clear; default 60. */
  holdS?: number | undefined;
  targets: MessageTargets;
  multi?: string | undefined;
  form?: ContentForm | undefined;
  /** 1-99, default 50: below the operator default of 100. */
  priority?: number | undefined;
  /** True: a trigger makes a proposal that an operator approves or rejects. */
  approval?: boolean | undefined;
}

export interface GuidanceRuleRecord extends GuidanceRule {
  createdAt: number;
  updatedAt: number;
}

/** Where a rule stands: triggered since `since`, with its message or its proposal. */
export interface GuidanceRuleState {
  ruleId: string;
  since: number;
  messageId: string | null;
  proposalId: string | null;
}

export const PROPOSAL_STATUSES = ['pending', 'approved', 'rejected', 'withdrawn'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export interface GuidanceProposal {
  id: string;
  ruleId: string;
  segment: string;
  /** The grade that triggered it. */
  grade: GradeName;
  status: ProposalStatus;
  createdAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  /** The message made on approval. */
  messageId: string | null;
}

// ---- errors -------------------------------------------------------------------------------

export class UnknownMessageError extends Error {
  override readonly name = 'UnknownMessageError';
  constructor(readonly messageId: string) {
    super(`message '${messageId}' not found`);
  }
}

export class UnknownDispatchError extends Error {
  override readonly name = 'UnknownDispatchError';
  constructor(readonly dispatchId: string) {
    super(`dispatch '${dispatchId}' not found`);
  }
}

export class DuplicateRecordError extends Error {
  override readonly name = 'DuplicateRecordError';
}

export class ProposalStateError extends Error {
  override readonly name = 'ProposalStateError';
}

// ---- the store ----------------------------------------------------------------------------

export interface DispatchStore {
  /** Stores a message with its dispatches (all 'queued') and the audit row, in one transaction. */
  createMessage(message: NewMessage, dispatches: readonly NewDispatch[], audit: AuditInput): Promise<{
    message: MessageRecord;
    dispatches: DispatchRecord[];
    audit: AuditEntry;
  }>;
  getMessage(id: string): Promise<MessageRecord | undefined>;
  /** Newest first. */
  listMessages(filter?: MessageFilter): Promise<MessageRecord[]>;
  /**
   * Marks the message cancelled and moves every dispatch that is not already terminal to
   * 'cancelled'. Throws UnknownMessageError. Cancelling twice changes nothing more.
   */
  cancelMessage(id: string, audit: AuditInput): Promise<{ message: MessageRecord; changes: DispatchChange[]; audit: AuditEntry }>;

  getDispatch(id: string): Promise<DispatchRecord | undefined>;
  /** By message, then gateway, then device. */
  listDispatches(filter?: DispatchFilter): Promise<DispatchRecord[]>;
  /**
   * Applies the moves in order, in one transaction. A move to the state the dispatch is already in
   * changes nothing (no history) except its lastTx; an illegal move is refused and recorded in the
   * history with applied=false. Throws UnknownDispatchError (and applies nothing).
   */
  transition(requests: readonly TransitionRequest[], audit?: AuditInput): Promise<{ changes: DispatchChange[]; audit?: AuditEntry }>;
  /** Dispatches carried by the command `tx`. */
  dispatchesOfTx(tx: string): Promise<DispatchRecord[]>;
  /** Oldest first. Throws UnknownDispatchError. */
  history(dispatchId: string): Promise<HistoryEntry[]>;
  /** Moves every non-terminal dispatch whose message ended at or before `now` to 'expired'. */
  expireDue(now: number, actor: string): Promise<DispatchChange[]>;
  /** Non-terminal dispatches of this gateway whose message is neither cancelled nor ended at `now`, by message. */
  activeForGateway(gatewayId: string, now: number): Promise<GatewayActiveEntry[]>;
  /** The message each of these screens shows now (a dispatch in 'displayed'), keyed 'gateway/device'. */
  displayedMessages(): Promise<Map<string, MessageRecord>>;

  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;

  /** Creates or patches a screen's metadata (fields absent from the patch are kept). */
  putScreenMeta(gatewayId: string, deviceId: string, patch: ScreenMetaPatch, audit: AuditInput): Promise<{ meta: ScreenMeta; audit: AuditEntry }>;
  listScreenMeta(): Promise<ScreenMeta[]>;
  listScreenConditions(): Promise<ScreenCondition[]>;

  putRule(rule: GuidanceRule, audit: AuditInput): Promise<{ rule: GuidanceRuleRecord; created: boolean; audit: AuditEntry }>;
  getRule(id: string): Promise<GuidanceRuleRecord | undefined>;
  /** By id. */
  listRules(): Promise<GuidanceRuleRecord[]>;
  /** False when there was no such rule. Its state goes with it. */
  deleteRule(id: string, audit: AuditInput): Promise<{ deleted: boolean; audit?: AuditEntry }>;
  getRuleState(ruleId: string): Promise<GuidanceRuleState | undefined>;
  listRuleStates(): Promise<GuidanceRuleState[]>;
  /** null clears the state. */
  setRuleState(ruleId: string, state: GuidanceRuleState | null): Promise<void>;

  createProposal(proposal: Omit<GuidanceProposal, 'status' | 'decidedAt' | 'decidedBy' | 'messageId'>, audit: AuditInput): Promise<{
    proposal: GuidanceProposal;
    audit: AuditEntry;
  }>;
  getProposal(id: string): Promise<GuidanceProposal | undefined>;
  /** Newest first. */
  listProposals(filter?: { status?: ProposalStatus | undefined; ruleId?: string | undefined }): Promise<GuidanceProposal[]>;
  /** Decides a pending proposal; throws ProposalStateError when it is no longer pending. */
  decideProposal(
    id: string,
    decision: { status: Exclude<ProposalStatus, 'pending'>; messageId?: string | undefined },
    audit: AuditInput,
  ): Promise<{ proposal: GuidanceProposal; audit: AuditEntry }>;
}

/** What an event batch did to screens and dispatches (reported with the ingest result). */
export interface SignIngestEffects {
  dispatchChanges: DispatchChange[];
  screenChanges: ScreenCondition[];
}
