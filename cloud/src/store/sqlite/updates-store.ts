/** The SQLite UpdateStore, and the projection of update.status events applied inside the ingest transaction. */
import type Database from 'better-sqlite3';
import type { SignatureEnvelope, UpdateStatusData } from '@quanlink/contracts';
import { UnknownGatewayError } from '../types.js';
import {
  DuplicateUpdateError,
  FINAL_STATES,
  TARGET_STATE_RANK,
  UnknownUpdateError,
  type NewRollout,
  type NewUpdate,
  type RolloutDetail,
  type RolloutRecord,
  type RolloutState,
  type RolloutTarget,
  type TargetChange,
  type TargetState,
  type UpdateRecord,
  type UpdateStore,
} from '../../updates/types.js';

interface UpdateRow {
  id: string;
  version: string;
  key_id: string;
  envelope: string;
  bundle_sha256: string;
  size: number;
  created_at: number;
  created_by: string;
}

interface RolloutRow {
  id: string;
  update_id: string;
  version: string;
  state: RolloutState;
  reason: string | null;
  max_concurrent: number;
  per_minute: number | null;
  abort_after_failures: number | null;
  abort_after_percent: number | null;
  health_timeout_ms: number;
  created_at: number;
  created_by: string;
  finished_at: number | null;
}

interface TargetRow {
  gateway_id: string;
  state: TargetState;
  reason: string | null;
  started_at: number | null;
  updated_at: number;
}

const toUpdate = (row: UpdateRow): UpdateRecord => ({
  id: row.id,
  version: row.version,
  keyId: row.key_id,
  envelope: JSON.parse(row.envelope) as SignatureEnvelope,
  bundleSha256: row.bundle_sha256,
  size: row.size,
  createdAt: row.created_at,
  createdBy: row.created_by,
});

const toTarget = (row: TargetRow): RolloutTarget => ({
  gatewayId: row.gateway_id,
  state: row.state,
  reason: row.reason,
  startedAt: row.started_at,
  updatedAt: row.updated_at,
});

const ROLLOUT_SELECT = `SELECT r.*, u.version FROM rollouts r JOIN updates u ON u.id = r.update_id`;

export class SqliteUpdateStore implements UpdateStore {
  constructor(private readonly db: Database.Database) {}

  async addUpdate(update: NewUpdate): Promise<UpdateRecord> {
    const existing = this.db.prepare('SELECT id FROM updates WHERE version = ? OR id = ?').pluck().get(update.version, update.id) as string | undefined;
    if (existing !== undefined) throw new DuplicateUpdateError(update.version, existing);
    this.db
      .prepare('INSERT INTO updates (id, version, key_id, envelope, bundle_sha256, size, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(update.id, update.version, update.keyId, JSON.stringify(update.envelope), update.bundleSha256, update.size, update.createdAt, update.createdBy);
    return (await this.getUpdate(update.id))!;
  }

  async getUpdate(id: string): Promise<UpdateRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM updates WHERE id = ?').get(id) as UpdateRow | undefined;
    return row && toUpdate(row);
  }

  async listUpdates(): Promise<UpdateRecord[]> {
    return (this.db.prepare('SELECT * FROM updates ORDER BY created_at DESC, id DESC').all() as UpdateRow[]).map(toUpdate);
  }

  async createRollout(rollout: NewRollout): Promise<RolloutDetail> {
    if (!(await this.getUpdate(rollout.updateId))) throw new UnknownUpdateError(rollout.updateId);
    const known = this.db.prepare('SELECT 1 FROM gateways WHERE id = ?').pluck();
    for (const gatewayId of rollout.gatewayIds) if (!known.get(gatewayId)) throw new UnknownGatewayError(gatewayId, 'create rollout');
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO rollouts (id, update_id, state, reason, max_concurrent, per_minute, abort_after_failures, abort_after_percent,
                                 health_timeout_ms, created_at, created_by, finished_at)
           VALUES (?, ?, 'running', NULL, ?, ?, ?, ?, ?, ?, ?, NULL)`,
        )
        .run(
          rollout.id,
          rollout.updateId,
          rollout.maxConcurrent,
          rollout.perMinute,
          rollout.abortAfterFailures,
          rollout.abortAfterPercent,
          rollout.healthTimeoutMs,
          rollout.createdAt,
          rollout.createdBy,
        );
      const insert = this.db.prepare(
        `INSERT INTO rollout_targets (rollout_id, gateway_id, update_id, position, state, reason, started_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', NULL, NULL, ?)`,
      );
      rollout.gatewayIds.forEach((gatewayId, position) => insert.run(rollout.id, gatewayId, rollout.updateId, position, rollout.createdAt));
    })();
    return (await this.getRollout(rollout.id))!;
  }

  async getRollout(id: string): Promise<RolloutDetail | undefined> {
    const row = this.db.prepare(`${ROLLOUT_SELECT} WHERE r.id = ?`).get(id) as RolloutRow | undefined;
    if (!row) return undefined;
    const targets = (this.db.prepare('SELECT * FROM rollout_targets WHERE rollout_id = ? ORDER BY position').all(id) as TargetRow[]).map(toTarget);
    return { ...this.toRollout(row), targets };
  }

  async listRollouts(filter: { state?: RolloutState | undefined } = {}): Promise<RolloutRecord[]> {
    const rows = (
      filter.state === undefined
        ? this.db.prepare(`${ROLLOUT_SELECT} ORDER BY r.created_at DESC, r.id DESC`).all()
        : this.db.prepare(`${ROLLOUT_SELECT} WHERE r.state = ? ORDER BY r.created_at DESC, r.id DESC`).all(filter.state)
    ) as RolloutRow[];
    return rows.map((row) => this.toRollout(row));
  }

  async updateTarget(rolloutId: string, gatewayId: string, from: readonly TargetState[], change: TargetChange): Promise<boolean> {
    if (from.length === 0) return false;
    const startedClause = change.startedAt === undefined ? '' : ', started_at = @startedAt';
    const result = this.db
      .prepare(
        `UPDATE rollout_targets SET state = @state, reason = @reason, updated_at = @at${startedClause}
         WHERE rollout_id = @rolloutId AND gateway_id = @gatewayId AND state IN (${from.map((_, i) => `@from${i}`).join(', ')})
           AND (SELECT state FROM rollouts WHERE id = @rolloutId) = 'running'`,
      )
      .run({
        state: change.state,
        reason: change.reason ?? null,
        at: change.at,
        rolloutId,
        gatewayId,
        ...(change.startedAt === undefined ? {} : { startedAt: change.startedAt }),
        ...Object.fromEntries(from.map((state, i) => [`from${i}`, state])),
      });
    return result.changes > 0;
  }

  async finishRollout(id: string, state: Exclude<RolloutState, 'running'>, reason: string, at: number): Promise<boolean> {
    return this.db.transaction(() => {
      const changed = this.db.prepare("UPDATE rollouts SET state = ?, reason = ?, finished_at = ? WHERE id = ? AND state = 'running'").run(state, reason, at, id).changes > 0;
      if (changed) {
        this.db
          .prepare("UPDATE rollout_targets SET state = 'skipped', reason = ?, updated_at = ? WHERE rollout_id = ? AND state = 'pending'")
          .run(`rollout ${state}: ${reason}`, at, id);
      }
      return changed;
    })();
  }

  private toRollout(row: RolloutRow): RolloutRecord {
    const counts = Object.fromEntries(
      (this.db.prepare('SELECT state, count(*) AS n FROM rollout_targets WHERE rollout_id = ? GROUP BY state').all(row.id) as { state: TargetState; n: number }[]).map((c) => [c.state, c.n]),
    ) as Partial<Record<TargetState, number>>;
    return {
      id: row.id,
      updateId: row.update_id,
      version: row.version,
      state: row.state,
      reason: row.reason,
      maxConcurrent: row.max_concurrent,
      perMinute: row.per_minute,
      abortAfterFailures: row.abort_after_failures,
      abortAfterPercent: row.abort_after_percent,
      healthTimeoutMs: row.health_timeout_ms,
      createdAt: row.created_at,
      createdBy: row.created_by,
      finishedAt: row.finished_at,
      counts,
    };
  }
}

/**
 * update.status events move the gateway's records of running rollouts of that update forward (never
 * back, never out of a final state), in the same transaction as the batch, so a resent batch
 * changes nothing twice.
 */
export class UpdateProjector {
  private readonly targets: Database.Statement<[string, string], { rollout_id: string; state: TargetState }>;
  private readonly move: Database.Statement<[string, string | null, number, string, string, string]>;

  constructor(db: Database.Database) {
    this.targets = db.prepare(
      `SELECT t.rollout_id, t.state FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id
       WHERE t.gateway_id = ? AND t.update_id = ? AND r.state = 'running'`,
    );
    this.move = db.prepare('UPDATE rollout_targets SET state = ?, reason = ?, updated_at = ? WHERE rollout_id = ? AND gateway_id = ? AND state = ?');
  }

  /** Returns how many rollout records moved. */
  statusEvent(gatewayId: string, data: UpdateStatusData, at: number): number {
    let moved = 0;
    for (const target of this.targets.all(gatewayId, data.updateId)) {
      if (FINAL_STATES.includes(target.state) || target.state === 'pending') continue;
      if (TARGET_STATE_RANK[data.state] <= TARGET_STATE_RANK[target.state]) continue;
      moved += this.move.run(data.state, data.reason ?? null, at, target.rollout_id, gatewayId, target.state).changes;
    }
    return moved;
  }
}
