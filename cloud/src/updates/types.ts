/**
 * Agent updates in the cloud: uploaded bundles (signed, verified at upload) and staged rollouts with
 * one record per gateway. The bundle bytes live beside the store (BundleFiles); the store keeps what
 * was verified about them. update.status events move a gateway's record inside the ingest transaction.
 */
import type { SignatureEnvelope } from '@quanlink/contracts';

export interface UpdateRecord {
  id: string;
  version: string;
  keyId: string;
  /** The verified signature envelope (manifest included), as the gateways get it. */
  envelope: SignatureEnvelope;
  /** sha256 and size of the whole bundle file. */
  bundleSha256: string;
  size: number;
  createdAt: number;
  createdBy: string;
}

export type RolloutState = 'running' | 'completed' | 'aborted';

/**
 * A gateway's part of a rollout. pending: not sent yet; sent: update.apply accepted; then as the
 * gateway reports (downloading, verifying, installed); final: healthy, failed, rolled-back, or
 * skipped (the rollout ended before it was this gateway's turn).
 */
export const TARGET_STATES = ['pending', 'sent', 'downloading', 'verifying', 'installed', 'healthy', 'failed', 'rolled-back', 'skipped'] as const;
export type TargetState = (typeof TARGET_STATES)[number];
export const IN_FLIGHT_STATES: readonly TargetState[] = ['sent', 'downloading', 'verifying', 'installed'];
export const FAILED_STATES: readonly TargetState[] = ['failed', 'rolled-back'];
export const FINAL_STATES: readonly TargetState[] = ['healthy', 'failed', 'rolled-back', 'skipped'];

/** Order of the states a gateway moves through: a report never moves a record back. */
export const TARGET_STATE_RANK: Record<TargetState, number> = {
  pending: 0,
  sent: 1,
  downloading: 2,
  verifying: 3,
  installed: 4,
  healthy: 5,
  failed: 5,
  'rolled-back': 5,
  skipped: 5,
};

export interface RolloutTarget {
  gatewayId: string;
  state: TargetState;
  reason: string | null;
  /** When update.apply was sent (null while pending). */
  startedAt: number | null;
  updatedAt: number;
}

export interface RolloutPolicy {
  /** At most this many gateways updating at once. */
  maxConcurrent: number;
  /** At most this many gateways started per minute (null: no limit beyond maxConcurrent). */
  perMinute: number | null;
  /** Abort when this many gateways failed (null: no count limit). */
  abortAfterFailures: number | null;
  /** Abort when this percentage of the rollout's gateways failed (null: no percentage limit). */
  abortAfterPercent: number | null;
  /** A gateway that has not reported healthy this long after update.apply counts as failed. */
  healthTimeoutMs: number;
}

export interface RolloutRecord extends RolloutPolicy {
  id: string;
  updateId: string;
  version: string;
  state: RolloutState;
  /** Why it was aborted (or a summary once completed). */
  reason: string | null;
  createdAt: number;
  createdBy: string;
  finishedAt: number | null;
  /** Gateways per state. */
  counts: Partial<Record<TargetState, number>>;
}

export interface RolloutDetail extends RolloutRecord {
  targets: RolloutTarget[];
}

/** An update as stored: the record itself (the route fills every field). */
export type NewUpdate = UpdateRecord;

export interface NewRollout extends RolloutPolicy {
  id: string;
  updateId: string;
  createdAt: number;
  createdBy: string;
  gatewayIds: readonly string[];
}

export interface TargetChange {
  state: TargetState;
  reason?: string | null | undefined;
  at: number;
  /** Set when update.apply is sent; null when a gateway goes back to pending. */
  startedAt?: number | null | undefined;
}

export interface UpdateStore {
  /** Throws DuplicateUpdateError when the id or the version is taken. */
  addUpdate(update: NewUpdate): Promise<UpdateRecord>;
  getUpdate(id: string): Promise<UpdateRecord | undefined>;
  /** Newest first. */
  listUpdates(): Promise<UpdateRecord[]>;
  /** Throws UnknownUpdateError for an unknown update, UnknownGatewayError for an unregistered gateway. */
  createRollout(rollout: NewRollout): Promise<RolloutDetail>;
  getRollout(id: string): Promise<RolloutDetail | undefined>;
  /** Newest first. */
  listRollouts(filter?: { state?: RolloutState | undefined }): Promise<RolloutRecord[]>;
  /**
   * Moves a running rollout's gateway to `change.state` when its current state is one of `from`.
   * Returns false (and changes nothing) otherwise.
   */
  updateTarget(rolloutId: string, gatewayId: string, from: readonly TargetState[], change: TargetChange): Promise<boolean>;
  /**
   * Ends a running rollout: completed, or aborted (its pending gateways become skipped with the
   * reason). False when it was not running.
   */
  finishRollout(id: string, state: Exclude<RolloutState, 'running'>, reason: string, at: number): Promise<boolean>;
}

export class DuplicateUpdateError extends Error {
  override readonly name = 'DuplicateUpdateError';
  constructor(readonly version: string, readonly existingId: string) {
    super(`an update of version ${version} exists already (${existingId})`);
  }
}

export class UnknownUpdateError extends Error {
  override readonly name = 'UnknownUpdateError';
  constructor(readonly updateId: string) {
    super(`no update '${updateId}'`);
  }
}
