/**
 * Each screen's active set: the messages the cloud asked it to show, with where each dispatch
 * stands. It lives in SQLite (WAL, synchronous=FULL) next to the outbox, so an accepted message
 * is on disk before the cloud hears `delivered`, and a restarted gateway shows the same winner.
 *
 * An entry is never deleted by a command: cancel and sync mark it `cancelled`, and the screen's
 * controller reports that and then removes it (applyReports), so a crash in between cannot lose
 * the report.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DispatchEdgeState, SignMessage } from '@quanlink/contracts';
import { commitWithoutFsync } from '../storage/commit-without-fsync.js';

/** Where an entry stands on the edge; `cancelled` waits for its report, then the entry goes. */
export type EntryState = 'delivered' | 'displayed' | 'superseded' | 'cancelled';
/** Who put the entry there: a sync replaces only the cloud's entries. */
export type EntryOrigin = 'cloud' | 'local';

export interface ActiveEntry {
  screen: string;
  message: SignMessage;
  dispatchId: string;
  state: EntryState;
  /** The last state written to the outbox for this dispatch (a state is reported once). */
  lastReportedState?: DispatchEdgeState;
  receivedAt: number;
  origin: EntryOrigin;
  /** Changes whenever the entry is (re)added; a report only applies to the revision it was made for. */
  rev: number;
}

export interface NewEntry {
  screen: string;
  message: SignMessage;
  dispatchId: string;
  origin?: EntryOrigin;
}

export interface EntryReport {
  dispatchId: string;
  rev: number;
  state: DispatchEdgeState;
}

/** Reports after which the dispatch leaves the active set. */
export const TERMINAL_STATES: ReadonlySet<DispatchEdgeState> = new Set(['failed', 'expired', 'cancelled']);

export interface ActiveSet {
  /**
   * Adds or replaces entries, idempotent on message id + screen: the same message and dispatch
   * again changes nothing (its state and reports stay); anything else starts the entry afresh.
   */
  add(entries: readonly NewEntry[], receivedAt: number): ActiveEntry[];
  /** Marks a message cancelled on these screens (every screen when absent); returns the entries marked. */
  cancel(messageId: string, screens?: readonly string[]): ActiveEntry[];
  /**
   * Makes the cloud's entries exactly `entries` (added as by add); every other cloud entry is
   * marked cancelled and returned as dropped. Local entries are untouched.
   */
  replaceAll(entries: readonly NewEntry[], receivedAt: number): { entries: ActiveEntry[]; dropped: ActiveEntry[] };
  /** A screen's entries, cancelled ones included, oldest first. */
  list(screen: string): ActiveEntry[];
  /** Screens that have entries. */
  screens(): string[];
  /**
   * Records reports written to the outbox: sets state and lastReportedState, removes the entry on a
   * terminal state. A report for another revision of the entry (it was re-added since) is ignored.
   */
  applyReports(screen: string, reports: readonly EntryReport[]): void;
  close(): void;
}

/** The stored entry after adding `incoming` over `existing`; undefined when nothing changes. */
export function mergeEntry(existing: ActiveEntry | undefined, incoming: NewEntry, receivedAt: number, nextRev: () => number): ActiveEntry | undefined {
  const origin = incoming.origin ?? 'cloud';
  if (
    existing &&
    existing.state !== 'cancelled' &&
    existing.dispatchId === incoming.dispatchId &&
    existing.origin === origin &&
    sameMessage(existing.message, incoming.message)
  ) {
    return undefined;
  }
  return { screen: incoming.screen, message: incoming.message, dispatchId: incoming.dispatchId, state: 'delivered', receivedAt, origin, rev: nextRev() };
}

export function sameMessage(a: SignMessage, b: SignMessage): boolean {
  const key = (m: SignMessage) => JSON.stringify([m.id, m.multi, m.crc, m.priority, m.startAt, m.endAt ?? null, m.createdAt, m.source]);
  return key(a) === key(b);
}

/**
 * The entry after one report, or undefined when the report removes it. A cancel that arrived while
 * the report was being made stays: its own report follows.
 */
export function reported(entry: ActiveEntry, state: DispatchEdgeState): ActiveEntry | undefined {
  if (TERMINAL_STATES.has(state)) return undefined;
  return { ...entry, state: entry.state === 'cancelled' ? 'cancelled' : (state as EntryState), lastReportedState: state };
}

const SCHEMA_VERSION = 1;

interface Row {
  screen: string;
  message_id: string;
  dispatch_id: string;
  message: string;
  state: EntryState;
  last_reported: DispatchEdgeState | null;
  received_at: number;
  origin: EntryOrigin;
  rev: number;
}

function fromRow(row: Row): ActiveEntry {
  return {
    screen: row.screen,
    message: JSON.parse(row.message) as SignMessage,
    dispatchId: row.dispatch_id,
    state: row.state,
    ...(row.last_reported !== null ? { lastReportedState: row.last_reported } : {}),
    receivedAt: row.received_at,
    origin: row.origin,
    rev: row.rev,
  };
}

/** The active sets of every screen of the gateway, in `signs.db` in its data directory. */
export class SqliteActiveSet implements ActiveSet {
  private readonly db: Database.Database;
  private lastRev: number;
  private readonly stmt: {
    get: Database.Statement<[string, string], Row>;
    put: Database.Statement<Row>;
    del: Database.Statement<[string, string]>;
    list: Database.Statement<[string], Row>;
    byMessage: Database.Statement<[string], Row>;
    cloud: Database.Statement<[], Row>;
    screens: Database.Statement<[], { screen: string }>;
    setMeta: Database.Statement<[string, string]>;
  };

  /** `path` ':memory:' gives a throwaway store (tests only). */
  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.migrate();
    this.stmt = {
      get: this.db.prepare('SELECT * FROM entries WHERE screen = ? AND message_id = ?'),
      put: this.db.prepare(
        `INSERT INTO entries(screen, message_id, dispatch_id, message, state, last_reported, received_at, origin, rev)
         VALUES (@screen, @message_id, @dispatch_id, @message, @state, @last_reported, @received_at, @origin, @rev)
         ON CONFLICT(screen, message_id) DO UPDATE SET dispatch_id = excluded.dispatch_id, message = excluded.message,
           state = excluded.state, last_reported = excluded.last_reported, received_at = excluded.received_at,
           origin = excluded.origin, rev = excluded.rev`,
      ),
      del: this.db.prepare('DELETE FROM entries WHERE screen = ? AND message_id = ?'),
      list: this.db.prepare('SELECT * FROM entries WHERE screen = ? ORDER BY rev'),
      byMessage: this.db.prepare('SELECT * FROM entries WHERE message_id = ? ORDER BY rev'),
      cloud: this.db.prepare("SELECT * FROM entries WHERE origin = 'cloud' ORDER BY rev"),
      screens: this.db.prepare('SELECT DISTINCT screen FROM entries ORDER BY screen'),
      setMeta: this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
    const rev = this.db.prepare("SELECT value FROM meta WHERE key = 'last_rev'").get() as { value: string } | undefined;
    this.lastRev = Number(rev?.value ?? '0');
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`active set ${this.path}: schema version ${version} is newer than this agent understands (${SCHEMA_VERSION})`);
    }
    if (version < 1) {
      this.db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE entries (
          screen TEXT NOT NULL, message_id TEXT NOT NULL, dispatch_id TEXT NOT NULL, message TEXT NOT NULL,
          state TEXT NOT NULL, last_reported TEXT, received_at INTEGER NOT NULL, origin TEXT NOT NULL, rev INTEGER NOT NULL,
          PRIMARY KEY (screen, message_id));
        PRAGMA user_version = 1;
      `);
    }
  }

  private write(entry: ActiveEntry): void {
    this.stmt.put.run({
      screen: entry.screen,
      message_id: entry.message.id,
      dispatch_id: entry.dispatchId,
      message: JSON.stringify(entry.message),
      state: entry.state,
      last_reported: entry.lastReportedState ?? null,
      received_at: entry.receivedAt,
      origin: entry.origin,
      rev: entry.rev,
    });
  }

  /** Runs `fn` in one transaction; the revision counter moves only when it commits. */
  private tx<T>(fn: (nextRev: () => number) => T): T {
    let rev = this.lastRev;
    const result = this.db.transaction(() => {
      const value = fn(() => ++rev);
      if (rev !== this.lastRev) this.stmt.setMeta.run('last_rev', String(rev));
      return value;
    })();
    this.lastRev = rev;
    return result;
  }

  private addIn(entries: readonly NewEntry[], receivedAt: number, nextRev: () => number): ActiveEntry[] {
    return entries.map((incoming) => {
      const existingRow = this.stmt.get.get(incoming.screen, incoming.message.id);
      const existing = existingRow ? fromRow(existingRow) : undefined;
      const next = mergeEntry(existing, incoming, receivedAt, nextRev);
      if (next) this.write(next);
      return next ?? existing!;
    });
  }

  add(entries: readonly NewEntry[], receivedAt: number): ActiveEntry[] {
    return this.tx((nextRev) => this.addIn(entries, receivedAt, nextRev));
  }

  cancel(messageId: string, screens?: readonly string[]): ActiveEntry[] {
    return this.tx(() => {
      const marked: ActiveEntry[] = [];
      for (const row of this.stmt.byMessage.all(messageId)) {
        if (screens && !screens.includes(row.screen)) continue;
        const entry: ActiveEntry = { ...fromRow(row), state: 'cancelled' };
        this.write(entry);
        marked.push(entry);
      }
      return marked;
    });
  }

  replaceAll(entries: readonly NewEntry[], receivedAt: number): { entries: ActiveEntry[]; dropped: ActiveEntry[] } {
    return this.tx((nextRev) => {
      const wanted = new Set(entries.map((e) => `${e.screen}\u0000${e.message.id}`));
      const dropped: ActiveEntry[] = [];
      for (const row of this.stmt.cloud.all()) {
        if (wanted.has(`${row.screen}\u0000${row.message_id}`)) continue;
        const entry: ActiveEntry = { ...fromRow(row), state: 'cancelled' };
        this.write(entry);
        dropped.push(entry);
      }
      return { entries: this.addIn(entries, receivedAt, nextRev), dropped };
    });
  }

  list(screen: string): ActiveEntry[] {
    return this.stmt.list.all(screen).map(fromRow);
  }

  screens(): string[] {
    return this.stmt.screens.all().map((r) => r.screen);
  }

  applyReports(screen: string, reports: readonly EntryReport[]): void {
    if (reports.length === 0) return;
    // The outbox's journal holds these reports durably and is replayed at start, so no fsync here.
    commitWithoutFsync(this.db, () => this.tx(() => {
      const entries = this.list(screen);
      for (const report of reports) {
        const entry = entries.find((e) => e.dispatchId === report.dispatchId && e.rev === report.rev);
        if (!entry) continue;
        const next = reported(entry, report.state);
        if (next) this.write(next);
        else this.stmt.del.run(screen, entry.message.id);
      }
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
