/** The DispatchStore on the cloud's SQLite database (the same connection as the CloudStore). */
import type Database from 'better-sqlite3';
import { TERMINAL_STATES } from '../../dispatch/lifecycle.js';
import {
  DuplicateRecordError,
  ProposalStateError,
  UnknownDispatchError,
  UnknownMessageError,
  type AuditEntry,
  type AuditFilter,
  type AuditInput,
  type DispatchChange,
  type DispatchFilter,
  type DispatchRecord,
  type DispatchStore,
  type GatewayActiveEntry,
  type GuidanceProposal,
  type GuidanceRule,
  type GuidanceRuleRecord,
  type GuidanceRuleState,
  type HistoryEntry,
  type MessageFilter,
  type MessageRecord,
  type NewDispatch,
  type NewMessage,
  type ProposalStatus,
  type ScreenCondition,
  type ScreenMeta,
  type ScreenMetaPatch,
  type TransitionRequest,
} from '../../dispatch/types.js';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../types.js';
import { DispatchRows, toDispatch, toHistory, toMessage, type DispatchRow, type HistoryRow, type MessageRow } from './dispatch-rows.js';
import { locationOf } from './location-columns.js';

const TERMINAL_LIST = `(${[...TERMINAL_STATES].map((s) => `'${s}'`).join(', ')})`;

function limitOf(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_QUERY_LIMIT;
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_QUERY_LIMIT);
}

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  details: string;
}

interface ScreenMetaRow {
  gateway_id: string;
  device_id: string;
  name: string | null;
  groups: string;
  segment: string | null;
  corridor: string | null;
  lat: number | null;
  lon: number | null;
  updated_at: number;
}

interface ProposalRow {
  id: string;
  rule_id: string;
  segment: string;
  grade: GuidanceProposal['grade'];
  status: ProposalStatus;
  created_at: number;
  decided_at: number | null;
  decided_by: string | null;
  message_id: string | null;
}

interface RuleRow {
  id: string;
  definition: string;
  created_at: number;
  updated_at: number;
}

const toAudit = (row: AuditRow): AuditEntry => ({
  id: row.id,
  at: row.at,
  actor: row.actor,
  action: row.action,
  subject: row.subject,
  details: JSON.parse(row.details),
});

const toScreenMeta = (row: ScreenMetaRow): ScreenMeta => ({
  gatewayId: row.gateway_id,
  deviceId: row.device_id,
  name: row.name,
  groups: JSON.parse(row.groups),
  segment: row.segment,
  corridor: row.corridor,
  location: locationOf(row),
  updatedAt: row.updated_at,
});

const toProposal = (row: ProposalRow): GuidanceProposal => ({
  id: row.id,
  ruleId: row.rule_id,
  segment: row.segment,
  grade: row.grade,
  status: row.status,
  createdAt: row.created_at,
  decidedAt: row.decided_at,
  decidedBy: row.decided_by,
  messageId: row.message_id,
});

const toRule = (row: RuleRow): GuidanceRuleRecord => ({
  ...(JSON.parse(row.definition) as GuidanceRule),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export class SqliteDispatchStore implements DispatchStore {
  private readonly rows: DispatchRows;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.rows = new DispatchRows(db);
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private tx<T>(body: () => T): T {
    return this.db.transaction(body).immediate();
  }

  private messageRow(id: string): MessageRecord | undefined {
    const row = this.sql('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    return row && toMessage(row);
  }

  // ---- messages and dispatches --------------------------------------------------------------

  async createMessage(message: NewMessage, dispatches: readonly NewDispatch[], audit: AuditInput) {
    return this.tx(() => {
      try {
        this.sql(
          `INSERT INTO messages (id, multi, crc, form, priority, start_at, end_at, created_at, source, targets, note, created_by, rule_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          message.id,
          message.multi,
          message.crc,
          message.form === null ? null : JSON.stringify(message.form),
          message.priority,
          message.startAt,
          message.endAt,
          message.createdAt,
          message.source,
          JSON.stringify(message.targets),
          message.note,
          message.createdBy,
          message.ruleId,
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateRecordError(`message '${message.id}' already exists`);
        throw err;
      }
      const insert = this.sql(
        `INSERT INTO dispatches (id, message_id, gateway_id, device_id, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)`,
      );
      for (const dispatch of dispatches) {
        try {
          insert.run(dispatch.id, message.id, dispatch.gatewayId, dispatch.deviceId, message.createdAt, message.createdAt);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
            throw new DuplicateRecordError(`dispatch '${dispatch.id}' (screen ${dispatch.gatewayId}/${dispatch.deviceId}) is a duplicate`);
          }
          throw err;
        }
      }
      return {
        message: this.messageRow(message.id)!,
        dispatches: this.listDispatchesSync({ messageId: message.id, limit: MAX_QUERY_LIMIT }),
        audit: this.rows.audit(audit),
      };
    });
  }

  async getMessage(id: string): Promise<MessageRecord | undefined> {
    return this.messageRow(id);
  }

  async listMessages(filter: MessageFilter = {}): Promise<MessageRecord[]> {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.active !== undefined) {
      const now = filter.now ?? Date.now();
      const active = 'cancelled_at IS NULL AND (end_at IS NULL OR end_at > ?)';
      clauses.push(filter.active ? active : `NOT (${active})`);
      params.push(now);
    }
    if (filter.source !== undefined) (clauses.push('source = ?'), params.push(filter.source));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const rows = this.sql(`SELECT * FROM messages ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).all(
      ...params,
      limitOf(filter.limit),
    ) as MessageRow[];
    return rows.map(toMessage);
  }

  async cancelMessage(id: string, audit: AuditInput) {
    return this.tx(() => {
      const message = this.messageRow(id);
      if (!message) throw new UnknownMessageError(id);
      if (message.cancelledAt === null) {
        this.sql('UPDATE messages SET cancelled_at = ?, cancelled_by = ? WHERE id = ?').run(audit.at, audit.actor, id);
      }
      const changes: DispatchChange[] = [];
      const open = this.sql(`SELECT id FROM dispatches WHERE message_id = ? AND state NOT IN ${TERMINAL_LIST} ORDER BY id`)
        .pluck()
        .all(id) as string[];
      for (const dispatchId of open) {
        const change = this.rows.transition({ dispatchId, to: 'cancelled', actor: audit.actor, at: audit.at, reason: 'message cancelled' });
        if (change) changes.push(change);
      }
      return { message: this.messageRow(id)!, changes, audit: this.rows.audit(audit) };
    });
  }

  async getDispatch(id: string): Promise<DispatchRecord | undefined> {
    return this.rows.dispatch(id);
  }

  private listDispatchesSync(filter: DispatchFilter): DispatchRecord[] {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.gatewayId !== undefined) (clauses.push('gateway_id = ?'), params.push(filter.gatewayId));
    if (filter.deviceId !== undefined) (clauses.push('device_id = ?'), params.push(filter.deviceId));
    if (filter.state !== undefined) (clauses.push('state = ?'), params.push(filter.state));
    if (filter.messageId !== undefined) (clauses.push('message_id = ?'), params.push(filter.messageId));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const rows = this.sql(`SELECT * FROM dispatches ${where} ORDER BY message_id, gateway_id, device_id LIMIT ?`).all(
      ...params,
      limitOf(filter.limit),
    ) as DispatchRow[];
    return rows.map(toDispatch);
  }

  async listDispatches(filter: DispatchFilter = {}): Promise<DispatchRecord[]> {
    return this.listDispatchesSync(filter);
  }

  async transition(requests: readonly TransitionRequest[], audit?: AuditInput) {
    return this.tx(() => {
      const changes: DispatchChange[] = [];
      for (const request of requests) {
        const change = this.rows.transition(request);
        if (change) changes.push(change);
      }
      return { changes, ...(audit && { audit: this.rows.audit(audit) }) };
    });
  }

  async dispatchesOfTx(tx: string): Promise<DispatchRecord[]> {
    const rows = this.sql('SELECT * FROM dispatches WHERE last_tx = ? ORDER BY id').all(tx) as DispatchRow[];
    return rows.map(toDispatch);
  }

  async history(dispatchId: string): Promise<HistoryEntry[]> {
    if (!this.rows.dispatch(dispatchId)) throw new UnknownDispatchError(dispatchId);
    const rows = this.sql('SELECT * FROM dispatch_history WHERE dispatch_id = ? ORDER BY id').all(dispatchId) as HistoryRow[];
    return rows.map(toHistory);
  }

  async expireDue(now: number, actor: string): Promise<DispatchChange[]> {
    return this.tx(() => {
      const due = this.sql(
        `SELECT d.id FROM dispatches d JOIN messages m ON m.id = d.message_id
         WHERE m.end_at IS NOT NULL AND m.end_at <= ? AND d.state NOT IN ${TERMINAL_LIST} ORDER BY d.id`,
      )
        .pluck()
        .all(now) as string[];
      const changes: DispatchChange[] = [];
      for (const dispatchId of due) {
        const change = this.rows.transition({ dispatchId, to: 'expired', actor, at: now, reason: 'message end time passed' });
        if (change) changes.push(change);
      }
      return changes;
    });
  }

  async activeForGateway(gatewayId: string, now: number): Promise<GatewayActiveEntry[]> {
    const rows = this.sql(
      `SELECT d.* FROM dispatches d JOIN messages m ON m.id = d.message_id
       WHERE d.gateway_id = ? AND d.state NOT IN ${TERMINAL_LIST}
         AND m.cancelled_at IS NULL AND (m.end_at IS NULL OR m.end_at > ?)
       ORDER BY m.created_at, m.id, d.device_id`,
    ).all(gatewayId, now) as DispatchRow[];
    const entries = new Map<string, GatewayActiveEntry>();
    for (const row of rows) {
      let entry = entries.get(row.message_id);
      if (!entry) {
        entry = { message: this.messageRow(row.message_id)!, dispatches: [] };
        entries.set(row.message_id, entry);
      }
      entry.dispatches.push(toDispatch(row));
    }
    return [...entries.values()];
  }

  async displayedMessages(): Promise<Map<string, MessageRecord>> {
    const rows = this.sql(
      `SELECT d.gateway_id, d.device_id, m.* FROM dispatches d JOIN messages m ON m.id = d.message_id
       WHERE d.state = 'displayed' ORDER BY d.updated_at`,
    ).all() as (MessageRow & { gateway_id: string; device_id: string })[];
    // The latest report wins when two dispatches of one screen claim it.
    return new Map(rows.map((row) => [`${row.gateway_id}/${row.device_id}`, toMessage(row)]));
  }

  // ---- audit ----------------------------------------------------------------------------

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.rows.audit(entry);
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.since !== undefined) (clauses.push('at >= ?'), params.push(filter.since));
    if (filter.actor !== undefined) (clauses.push('actor = ?'), params.push(filter.actor));
    if (filter.action !== undefined) (clauses.push('action = ?'), params.push(filter.action));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const rows = this.sql(`SELECT * FROM audit_log ${where} ORDER BY at DESC, id DESC LIMIT ?`).all(...params, limitOf(filter.limit)) as AuditRow[];
    return rows.map(toAudit);
  }

  // ---- screens --------------------------------------------------------------------------

  async putScreenMeta(gatewayId: string, deviceId: string, patch: ScreenMetaPatch, audit: AuditInput) {
    return this.tx(() => {
      const row = this.sql('SELECT * FROM screen_meta WHERE gateway_id = ? AND device_id = ?').get(gatewayId, deviceId) as ScreenMetaRow | undefined;
      const before: ScreenMeta = row
        ? toScreenMeta(row)
        : { gatewayId, deviceId, name: null, groups: [], segment: null, corridor: null, location: null, updatedAt: audit.at };
      const meta: ScreenMeta = {
        gatewayId,
        deviceId,
        name: patch.name !== undefined ? patch.name : before.name,
        groups: patch.groups !== undefined ? [...new Set(patch.groups)] : before.groups,
        segment: patch.segment !== undefined ? patch.segment : before.segment,
        corridor: patch.corridor !== undefined ? patch.corridor : before.corridor,
        location: patch.location !== undefined ? patch.location : before.location,
        updatedAt: audit.at,
      };
      this.sql(
        `INSERT INTO screen_meta (gateway_id, device_id, name, groups, segment, corridor, lat, lon, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (gateway_id, device_id) DO UPDATE SET name = excluded.name, groups = excluded.groups,
           segment = excluded.segment, corridor = excluded.corridor, lat = excluded.lat, lon = excluded.lon, updated_at = excluded.updated_at`,
      ).run(
        gatewayId,
        deviceId,
        meta.name,
        JSON.stringify(meta.groups),
        meta.segment,
        meta.corridor,
        meta.location?.lat ?? null,
        meta.location?.lon ?? null,
        meta.updatedAt,
      );
      return { meta, audit: this.rows.audit(audit) };
    });
  }

  async listScreenMeta(): Promise<ScreenMeta[]> {
    return (this.sql('SELECT * FROM screen_meta ORDER BY gateway_id, device_id').all() as ScreenMetaRow[]).map(toScreenMeta);
  }

  async listScreenConditions(): Promise<ScreenCondition[]> {
    const rows = this.sql('SELECT * FROM screen_conditions ORDER BY gateway_id, device_id').all() as {
      gateway_id: string;
      device_id: string;
      data: string;
      ts: number;
      updated_at: number;
    }[];
    return rows.map((row) => ({ gatewayId: row.gateway_id, deviceId: row.device_id, ...JSON.parse(row.data), ts: row.ts, updatedAt: row.updated_at }));
  }

  // ---- guidance -------------------------------------------------------------------------

  async putRule(rule: GuidanceRule, audit: AuditInput) {
    return this.tx(() => {
      const existing = this.sql('SELECT created_at FROM guidance_rules WHERE id = ?').pluck().get(rule.id) as number | undefined;
      this.sql(
        `INSERT INTO guidance_rules (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`,
      ).run(rule.id, JSON.stringify(rule), existing ?? audit.at, audit.at);
      const row = this.sql('SELECT * FROM guidance_rules WHERE id = ?').get(rule.id) as RuleRow;
      return { rule: toRule(row), created: existing === undefined, audit: this.rows.audit(audit) };
    });
  }

  async getRule(id: string): Promise<GuidanceRuleRecord | undefined> {
    const row = this.sql('SELECT * FROM guidance_rules WHERE id = ?').get(id) as RuleRow | undefined;
    return row && toRule(row);
  }

  async listRules(): Promise<GuidanceRuleRecord[]> {
    return (this.sql('SELECT * FROM guidance_rules ORDER BY id').all() as RuleRow[]).map(toRule);
  }

  async deleteRule(id: string, audit: AuditInput) {
    return this.tx(() => {
      const deleted = this.sql('DELETE FROM guidance_rules WHERE id = ?').run(id).changes > 0;
      return deleted ? { deleted, audit: this.rows.audit(audit) } : { deleted };
    });
  }

  async getRuleState(ruleId: string): Promise<GuidanceRuleState | undefined> {
    const row = this.sql('SELECT * FROM guidance_rule_state WHERE rule_id = ?').get(ruleId) as
      | { rule_id: string; since: number; message_id: string | null; proposal_id: string | null }
      | undefined;
    return row && { ruleId: row.rule_id, since: row.since, messageId: row.message_id, proposalId: row.proposal_id };
  }

  async listRuleStates(): Promise<GuidanceRuleState[]> {
    const rows = this.sql('SELECT * FROM guidance_rule_state ORDER BY rule_id').all() as {
      rule_id: string;
      since: number;
      message_id: string | null;
      proposal_id: string | null;
    }[];
    return rows.map((row) => ({ ruleId: row.rule_id, since: row.since, messageId: row.message_id, proposalId: row.proposal_id }));
  }

  async setRuleState(ruleId: string, state: GuidanceRuleState | null): Promise<void> {
    if (state === null) {
      this.sql('DELETE FROM guidance_rule_state WHERE rule_id = ?').run(ruleId);
      return;
    }
    this.sql(
      `INSERT INTO guidance_rule_state (rule_id, since, message_id, proposal_id) VALUES (?, ?, ?, ?)
       ON CONFLICT (rule_id) DO UPDATE SET since = excluded.since, message_id = excluded.message_id, proposal_id = excluded.proposal_id`,
    ).run(ruleId, state.since, state.messageId, state.proposalId);
  }

  async createProposal(proposal: Omit<GuidanceProposal, 'status' | 'decidedAt' | 'decidedBy' | 'messageId'>, audit: AuditInput) {
    return this.tx(() => {
      this.sql(
        `INSERT INTO guidance_proposals (id, rule_id, segment, grade, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
      ).run(proposal.id, proposal.ruleId, proposal.segment, proposal.grade, proposal.createdAt);
      return { proposal: this.proposalRow(proposal.id)!, audit: this.rows.audit(audit) };
    });
  }

  private proposalRow(id: string): GuidanceProposal | undefined {
    const row = this.sql('SELECT * FROM guidance_proposals WHERE id = ?').get(id) as ProposalRow | undefined;
    return row && toProposal(row);
  }

  async getProposal(id: string): Promise<GuidanceProposal | undefined> {
    return this.proposalRow(id);
  }

  async listProposals(filter: { status?: ProposalStatus | undefined; ruleId?: string | undefined } = {}): Promise<GuidanceProposal[]> {
    const clauses: string[] = [];
    const params: string[] = [];
    if (filter.status !== undefined) (clauses.push('status = ?'), params.push(filter.status));
    if (filter.ruleId !== undefined) (clauses.push('rule_id = ?'), params.push(filter.ruleId));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const rows = this.sql(`SELECT * FROM guidance_proposals ${where} ORDER BY created_at DESC, id DESC LIMIT ${MAX_QUERY_LIMIT}`).all(
      ...params,
    ) as ProposalRow[];
    return rows.map(toProposal);
  }

  async decideProposal(
    id: string,
    decision: { status: Exclude<ProposalStatus, 'pending'>; messageId?: string | undefined },
    audit: AuditInput,
  ) {
    return this.tx(() => {
      const proposal = this.proposalRow(id);
      if (!proposal) throw new ProposalStateError(`proposal '${id}' not found`);
      if (proposal.status !== 'pending') throw new ProposalStateError(`proposal '${id}' is already ${proposal.status}`);
      this.sql('UPDATE guidance_proposals SET status = ?, decided_at = ?, decided_by = ?, message_id = ? WHERE id = ?').run(
        decision.status,
        audit.at,
        audit.actor,
        decision.messageId ?? null,
        id,
      );
      return { proposal: this.proposalRow(id)!, audit: this.rows.audit(audit) };
    });
  }
}
