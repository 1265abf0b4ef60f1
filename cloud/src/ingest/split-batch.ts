/**
 * Splits a decoded batch into events the store can project and events it must quarantine.
 * One bad event never refuses its neighbours: it is kept with the reason and still counts as synced.
 */
import { checkEvent, type EventBatch, type GatewayEvent } from '@quanlink/contracts';
import type { RejectedEventInput } from '../store/types.js';

export interface SplitBatch {
  valid: GatewayEvent[];
  rejected: RejectedEventInput[];
}

export function splitBatch(batch: EventBatch, receivedAt = Date.now()): SplitBatch {
  const valid: GatewayEvent[] = [];
  const rejected: RejectedEventInput[] = [];
  const events = batch.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const error = checkEvent(event, `events[${i}]`);
    if (!error) {
      valid.push(event as unknown as GatewayEvent);
      continue;
    }
    // The envelope itself may be what is broken: keep what can be kept, and the whole event as data.
    const { ts, type, device } = event;
    rejected.push({
      seq: event.seq,
      ts: Number.isSafeInteger(ts) ? (ts as number) : receivedAt,
      type: typeof type === 'string' ? type.slice(0, 64) : '(missing)',
      device: typeof device === 'string' ? device.slice(0, 64) : undefined,
      data: 'data' in event ? event.data : event,
      reason: error.message,
    });
  }
  return { valid, rejected };
}
