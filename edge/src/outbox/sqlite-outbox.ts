/**
 * The default outbox: SQLite in WAL mode with synchronous=FULL, so an append has reached the disk
 * when it returns (it survives kill -9 and power loss, not only a clean exit).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GatewayEvent, NewEvent } from '@quanlink/contracts';
import { assertValidEvents, type Outbox, type OutboxRow, type OutboxStats, type StateUpdates } from './outbox.js';
import { newStreamId } from './stream-id.js';
import { commitWithoutFsync } from '../storage/commit-without-fsync.js';

const SCHEMA_VERSION = 1;

export class SqliteOutbox implements Outbox {
  readonly stream: string;
  private readonly db: Database.Database;
  private lastSeq: number;
  private readonly insertEvent: Database.Statement<[number, number, string]>;
  private readonly putState: Database.Statement<[string, string]>;
  private readonly putMeta: Database.Statement<[string, string]>;
  private readonly selectFrom: Database.Statement<[number, number], OutboxRow>;
  private readonly deleteUpTo: Database.Statement<[number]>;
  private readonly selectFirst: Database.Statement<[], { seq: number; ts: number }>;
  private readonly appendTx: (events: readonly NewEvent[], state: StateUpdates | undefined) => GatewayEvent[];

  /** `path` ':memory:' gives a throwaway outbox (tests only). */
  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.migrate();
    const meta = (key: string) =>
      (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    this.putMeta = this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    let stream = meta('stream');
    if (!stream) {
      stream = newStreamId();
      this.putMeta.run('stream', stream);
    }
    this.stream = stream;
    this.lastSeq = Number(meta('last_seq') ?? '0');
    this.insertEvent = this.db.prepare('INSERT INTO events(seq, ts, json) VALUES (?, ?, ?)');
    this.putState = this.db.prepare(
      'INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.selectFrom = this.db.prepare('SELECT seq, ts, json FROM events WHERE seq >= ? ORDER BY seq LIMIT ?');
    this.deleteUpTo = this.db.prepare('DELETE FROM events WHERE seq <= ?');
    this.selectFirst = this.db.prepare('SELECT seq, ts FROM events ORDER BY seq LIMIT 1');
    this.appendTx = this.db.transaction((events: readonly NewEvent[], state: StateUpdates | undefined) => {
      const numbered: GatewayEvent[] = [];
      let seq = this.lastSeq;
      for (const event of events) {
        const withSeq = { seq: ++seq, ...event } as GatewayEvent;
        this.insertEvent.run(seq, event.ts, JSON.stringify(withSeq));
        numbered.push(withSeq);
      }
      if (events.length > 0) this.putMeta.run('last_seq', String(seq));
      if (state) for (const [key, value] of Object.entries(state)) this.putState.run(key, JSON.stringify(value));
      return numbered;
    });
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`outbox ${this.path}: schema version ${version} is newer than this agent understands (${SCHEMA_VERSION})`);
    }
    if (version < 1) {
      this.db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, json TEXT NOT NULL);
        CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        PRAGMA user_version = 1;
      `);
    }
  }

  append(events: readonly NewEvent[], state?: StateUpdates): GatewayEvent[] {
    assertValidEvents(events);
    const numbered = this.appendTx(events, state);
    // Only after the commit: a failed transaction must not consume sequence numbers.
    if (numbered.length > 0) this.lastSeq = numbered[numbered.length - 1]!.seq;
    return numbered;
  }

  readFrom(fromSeq: number, limit: number): OutboxRow[] {
    return this.selectFrom.all(fromSeq, limit);
  }

  pruneUpTo(seq: number): number {
    // A lost prune only means those events are sent again, and the cloud drops duplicates.
    return commitWithoutFsync(this.db, () => this.deleteUpTo.run(seq).changes);
  }

  getState<T = unknown>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  stats(): OutboxStats {
    // Appends are consecutive and pruning always cuts a prefix, so the stored seqs are exactly first..lastSeq.
    const first = this.selectFirst.get();
    if (!first) return { depth: 0, firstSeq: this.lastSeq + 1, lastSeq: this.lastSeq };
    return { depth: this.lastSeq - first.seq + 1, firstSeq: first.seq, lastSeq: this.lastSeq, oldestTs: first.ts };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
