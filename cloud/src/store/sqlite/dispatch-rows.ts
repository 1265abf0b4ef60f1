/**
 * Row mapping and the synchronous core of dispatch transitions on SQLite, shared by the
 * DispatchStore (API-driven moves) and the sign projector (edge-reported moves inside the ingest
 * transaction), so that both obey the same lifecycle and write the same history.
 */
import type Database from 'better-sqlite3';
import { transitionProblem } from '../../dispatch/lifecycle.js';
import {
  UnknownDispatchError,
  type AuditEntry,
  type AuditInput,
  type DispatchChange,
  type DispatchRecord,
  type DispatchState,
  type HistoryEntry,
  type MessageRecord,
  type TransitionRequest,
} from '../../dispatch/types.js';

export interface MessageRow {
  id: string;
  multi: string;
  crc: number;
  form: string | null;
  priority: number;
  start_at: number;
  end_at: number | null;
  created_at: number;
  source: MessageRecord['source'];
  targets: string;
  note: string | null;
  created_by: string;
  rule_id: string | null;
  cancelled_at: number | null;
  cancelled_by: string | null;
}

export interface DispatchRow {
  id: string;
  message_id: string;
  gateway_id: string;
  device_id: string;
  state: DispatchState;
  reason: string | null;
  readback_crc: number | null;
  last_tx: string | null;
  created_at: number;
  updated_at: number;
}

export interface HistoryRow {
  dispatch_id: string;
  from_state: DispatchState;
  to_state: DispatchState;
  applied: number;
  reason: string | null;
  readback_crc: number | null;
  actor: string;
  at: number;
}

export function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    multi: row.multi,
    crc: row.crc,
    form: row.form === null ? null : JSON.parse(row.form),
    priority: row.priority,
    startAt: row.start_at,
    endAt: row.end_at,
    createdAt: row.created_at,
    source: row.source,
    targets: JSON.parse(row.targets),
    note: row.note,
    createdBy: row.created_by,
    ruleId: row.rule_id,
    cancelledAt: row.cancelled_at,
    cancelledBy: row.cancelled_by,
  };
}

export function toDispatch(row: DispatchRow): DispatchRecord {
  return {
    id: row.id,
    messageId: row.message_id,
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    state: row.state,
    reason: row.reason,
    readbackCrc: row.readback_crc,
    lastTx: row.last_tx,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toHistory(row: HistoryRow): HistoryEntry {
  return {
    dispatchId: row.dispatch_id,
    from: row.from_state,
    to: row.to_state,
    applied: row.applied === 1,
    reason: row.reason,
    readbackCrc: row.readback_crc,
    actor: row.actor,
    at: row.at,
  };
}

/** The synchronous writes every dispatch change goes through; callers provide the transaction. */
export class DispatchRows {
  private readonly getDispatchRow: Database.Statement<[string], DispatchRow>;
  private readonly updateDispatch: Database.Statement<[DispatchState, string | null, number | null, string | null, number, string]>;
  private readonly setTx: Database.Statement<[string, number, string]>;
  private readonly insertHistory: Database.Statement<[string, DispatchState, DispatchState, number, string | null, number | null, string, number]>;
  private readonly insertAudit: Database.Statement<[number, string, string, string, string]>;

  constructor(db: Database.Database) {
    this.getDispatchRow = db.prepare('SELECT * FROM dispatches WHERE id = ?');
    this.updateDispatch = db.prepare(
      'UPDATE dispatches SET state = ?, reason = ?, readback_crc = ?, last_tx = coalesce(?, last_tx), updated_at = ? WHERE id = ?',
    );
    this.setTx = db.prepare('UPDATE dispatches SET last_tx = ?, updated_at = ? WHERE id = ?');
    this.insertHistory = db.prepare(
      `INSERT INTO dispatch_history (dispatch_id, from_state, to_state, applied, reason, readback_crc, actor, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertAudit = db.prepare('INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)');
  }

  dispatch(id: string): DispatchRecord | undefined {
    const row = this.getDispatchRow.get(id);
    return row && toDispatch(row);
  }

  /**
   * Applies one move (see DispatchStore.transition). Returns undefined for a move to the current
   * state (nothing to record). Throws UnknownDispatchError.
   */
  transition(request: TransitionRequest): DispatchChange | undefined {
    const before = this.dispatch(request.dispatchId);
    if (!before) throw new UnknownDispatchError(request.dispatchId);
    if (before.state === request.to) {
      if (request.tx !== undefined && request.tx !== before.lastTx) this.setTx.run(request.tx, request.at, before.id);
      return undefined;
    }
    const problem = transitionProblem(before.state, request.to, request.reopen);
    const history: HistoryEntry = {
      dispatchId: before.id,
      from: before.state,
      to: request.to,
      applied: problem === null,
      reason: problem === null ? (request.reason ?? null) : request.reason ? `${problem}: ${request.reason}` : problem,
      readbackCrc: request.readbackCrc ?? null,
      actor: request.actor,
      at: request.at,
    };
    this.insertHistory.run(
      history.dispatchId,
      history.from,
      history.to,
      history.applied ? 1 : 0,
      history.reason,
      history.readbackCrc,
      history.actor,
      history.at,
    );
    if (problem !== null) return { dispatch: before, history };
    // A reason and readback belong to the state they came with; a new state starts without them.
    this.updateDispatch.run(request.to, request.reason ?? null, request.readbackCrc ?? null, request.tx ?? null, request.at, before.id);
    return { dispatch: this.dispatch(before.id)!, history };
  }

  audit(entry: AuditInput): AuditEntry {
    const result = this.insertAudit.run(entry.at, entry.actor, entry.action, entry.subject, JSON.stringify(entry.details));
    return { id: Number(result.lastInsertRowid), ...entry };
  }
}
