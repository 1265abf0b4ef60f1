/**
 * Splits a decoded batch into events the store can project and events it must quarantine.
 * One bad event never refuses its neighbours: it is kept with the reason and still counts as synced.
 */
import { checkEvent, ContractError, type EventBatch, type GatewayEvent } from '@quanlink/contracts';
import type { RejectedEventInput } from '../store/types.js';

/** Event types whose projection belongs to one device: without `device` they cannot be applied. */
const DEVICE_EVENT_TYPES: ReadonlySet<string> = new Set(['reading', 'counts', 'device.status']);

export interface SplitBatch {
  valid: GatewayEvent[];
  rejected: RejectedEventInput[];
}

export function splitBatch(batch: EventBatch): SplitBatch {
  const valid: GatewayEvent[] = [];
  const rejected: RejectedEventInput[] = [];
  const events = batch.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const error =
      checkEvent(event, `events[${i}]`) ??
      (event.device === undefined && DEVICE_EVENT_TYPES.has(event.type)
        ? new ContractError(`events[${i}]`, 'device', `is required for '${event.type}' events`)
        : undefined);
    if (error) rejected.push({ seq: event.seq, ts: event.ts, type: event.type, device: event.device, data: event.data, reason: error.message });
    else valid.push(event);
  }
  return { valid, rejected };
}
