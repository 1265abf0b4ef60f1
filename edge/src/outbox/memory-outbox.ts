/** An outbox in memory: no durability. For unit tests and benchmarks of the parts around it. */
import type { GatewayEvent, NewEvent } from '@quanlink/contracts';
import { assertValidEvents, type Outbox, type OutboxRow, type OutboxStats, type StateUpdates } from './outbox.js';
import { newStreamId } from './stream-id.js';

export class MemoryOutbox implements Outbox {
  readonly stream = newStreamId();
  private rows: OutboxRow[] = [];
  private lastSeq = 0;
  private readonly state = new Map<string, string>();

  append(events: readonly NewEvent[], state?: StateUpdates): GatewayEvent[] {
    assertValidEvents(events);
    const numbered = events.map((event, i) => ({ seq: this.lastSeq + 1 + i, ...event }) as GatewayEvent);
    for (const event of numbered) this.rows.push({ seq: event.seq, ts: event.ts, json: JSON.stringify(event) });
    this.lastSeq += numbered.length;
    if (state) for (const [key, value] of Object.entries(state)) this.state.set(key, JSON.stringify(value));
    return numbered;
  }

  readFrom(fromSeq: number, limit: number): OutboxRow[] {
    const start = this.rows.findIndex((row) => row.seq >= fromSeq);
    return start < 0 ? [] : this.rows.slice(start, start + limit);
  }

  pruneUpTo(seq: number): number {
    const before = this.rows.length;
    this.rows = this.rows.filter((row) => row.seq > seq);
    return before - this.rows.length;
  }

  getState<T = unknown>(key: string): T | undefined {
    const value = this.state.get(key);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  stats(): OutboxStats {
    const first = this.rows[0];
    return {
      depth: this.rows.length,
      firstSeq: first?.seq ?? this.lastSeq + 1,
      lastSeq: this.lastSeq,
      ...(first ? { oldestTs: first.ts } : {}),
    };
  }

  close(): void {}
}
