/**
 * The outbox: every reading and event is written here, with the gateway's next sequence number,
 * before anything is sent. The cloud link reads batches from it and prunes on the cloud's
 * "synced up to N" acknowledgement, so a crash anywhere loses nothing and duplicates nothing.
 *
 * Device state that must move in step with the events (e.g. the counter value a delta was taken
 * from) is written in the same transaction as the events it produced.
 */
import { checkNewEvent, type GatewayEvent, type NewEvent } from '@quanlink/contracts';

/** One stored event, already serialized as it goes on the wire (seq included). */
export interface OutboxRow {
  seq: number;
  ts: number;
  json: string;
}

export interface OutboxStats {
  /** Events stored and not yet acknowledged by the cloud. */
  depth: number;
  /** Lowest stored seq, or lastSeq + 1 when empty. */
  firstSeq: number;
  /** Highest seq ever given out (0 before the first event). */
  lastSeq: number;
  /** Time of the oldest stored event. */
  oldestTs?: number;
}

export type StateUpdates = Readonly<Record<string, unknown>>;

export interface Outbox {
  /** Identifies this outbox's sequence; a new outbox (new disk, reset) starts a new stream. */
  readonly stream: string;
  /** Atomically numbers and stores the events and applies the state updates; returns the numbered events. */
  append(events: readonly NewEvent[], state?: StateUpdates): GatewayEvent[];
  /** Up to `limit` stored events with seq >= `fromSeq`, in seq order. */
  readFrom(fromSeq: number, limit: number): OutboxRow[];
  /** Deletes every event with seq <= `seq`; returns how many were deleted. */
  pruneUpTo(seq: number): number;
  getState<T = unknown>(key: string): T | undefined;
  stats(): OutboxStats;
  close(): void;
}

/** Refuses events that break the contract before they can enter the outbox (and block the stream later). */
export function assertValidEvents(events: readonly NewEvent[]): void {
  events.forEach((event, i) => {
    const err = checkNewEvent(event, `outbox append events[${i}]`);
    if (err) throw err;
  });
}
