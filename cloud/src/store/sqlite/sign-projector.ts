/**
 * Applies sign.dispatch and sign.status events to dispatch records and screen conditions, inside
 * the ingest transaction (like SegmentProjector does for traffic.period), so an event batch and
 * what it says about screens commit together, exactly once.
 */
import type Database from 'better-sqlite3';
import type { SignDispatchData, SignStatusData } from '@quanlink/contracts';
import type { DispatchChange, ScreenCondition } from '../../dispatch/types.js';
import { DispatchRows } from './dispatch-rows.js';

export const edgeActor = (gatewayId: string): string => `edge:${gatewayId}`;

export class SignProjector {
  private readonly rows: DispatchRows;
  private readonly messageCrc: Database.Statement<[string], number>;
  private readonly upsertCondition: Database.Statement<[string, string, string, number, number]>;

  constructor(db: Database.Database) {
    this.rows = new DispatchRows(db);
    this.messageCrc = db.prepare<[string], number>('SELECT crc FROM messages WHERE id = ?').pluck();
    // An older status (edge clock) never overrides a newer one.
    this.upsertCondition = db.prepare(
      `INSERT INTO screen_conditions (gateway_id, device_id, data, ts, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id, device_id) DO UPDATE SET data = excluded.data, ts = excluded.ts, updated_at = excluded.updated_at
       WHERE excluded.ts >= screen_conditions.ts`,
    );
  }

  /** Why this sign.dispatch event cannot be applied (it is then quarantined), or null. */
  dispatchEventProblem(gatewayId: string, device: string, data: SignDispatchData): string | null {
    const dispatch = this.rows.dispatch(data.dispatchId);
    if (!dispatch) return `sign.dispatch for unknown dispatch '${data.dispatchId}' (message '${data.messageId}', screen ${gatewayId}/${device})`;
    if (dispatch.gatewayId !== gatewayId || dispatch.deviceId !== device) {
      return `sign.dispatch '${data.dispatchId}' names screen ${gatewayId}/${device}, but the dispatch is for ${dispatch.gatewayId}/${dispatch.deviceId}`;
    }
    if (dispatch.messageId !== data.messageId) {
      return `sign.dispatch '${data.dispatchId}' names message '${data.messageId}', but the dispatch is of message '${dispatch.messageId}'`;
    }
    return null;
  }

  /** Moves the dispatch as the edge reports (an illegal move is recorded as refused). Check dispatchEventProblem first. */
  dispatchEvent(gatewayId: string, data: SignDispatchData, at: number): DispatchChange | undefined {
    const actor = edgeActor(gatewayId);
    if (data.state === 'displayed' && data.readbackCrc !== undefined) {
      const expected = this.messageCrc.get(data.messageId);
      if (expected !== undefined && expected !== data.readbackCrc) {
        // The screen shows something else than the message: the edge's claim is not proof.
        return this.rows.transition({
          dispatchId: data.dispatchId,
          to: 'failed',
          actor,
          at,
          readbackCrc: data.readbackCrc,
          reason: `readback CRC 0x${hex(data.readbackCrc)} does not match the message CRC 0x${hex(expected)}${data.reason ? ` (${data.reason})` : ''}`,
        });
      }
    }
    return this.rows.transition({
      dispatchId: data.dispatchId,
      to: data.state,
      actor,
      at,
      reason: data.reason,
      readbackCrc: data.readbackCrc,
    });
  }

  /** Records the screen's condition; undefined when a newer status is already stored. */
  statusEvent(gatewayId: string, device: string, ts: number, data: SignStatusData, at: number): ScreenCondition | undefined {
    const changed = this.upsertCondition.run(gatewayId, device, JSON.stringify(data), ts, at).changes > 0;
    return changed ? { gatewayId, deviceId: device, ...data, ts, updatedAt: at } : undefined;
  }
}

function hex(crc: number): string {
  return crc.toString(16).padStart(4, '0');
}
