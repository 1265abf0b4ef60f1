/**
 * Raw readings at the card's native rate, kept on the gateway (the cloud gets the sample periods).
 * A ring by age: rows older than `keepHours` are dropped as new ones come. Durability is relaxed
 * (synchronous=NORMAL): a crash may lose the last readings, never an event, which lives in the outbox.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LocalReading {
  device: string;
  ts: number;
  values: Record<string, number>;
}

export interface ReadingQuery {
  from?: number;
  to?: number;
  limit?: number;
}

const PRUNE_EVERY = 500;

export class LocalReadings {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, number, string]>;
  private readonly prune: Database.Statement<[number]>;
  private inserts = 0;

  constructor(
    readonly path: string,
    private readonly keepHours = 24,
    private readonly now: () => number = Date.now,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS readings (device TEXT NOT NULL, ts INTEGER NOT NULL, json_values TEXT NOT NULL);
                  CREATE INDEX IF NOT EXISTS readings_device_ts ON readings(device, ts);`);
    this.insert = this.db.prepare('INSERT INTO readings (device, ts, json_values) VALUES (?, ?, ?)');
    this.prune = this.db.prepare('DELETE FROM readings WHERE ts < ?');
  }

  add(reading: LocalReading): void {
    this.insert.run(reading.device, reading.ts, JSON.stringify(reading.values));
    if (++this.inserts % PRUNE_EVERY === 0) this.prune.run(this.now() - this.keepHours * 3_600_000);
  }

  /** Newest first. */
  query(device: string, q: ReadingQuery = {}): LocalReading[] {
    const rows = this.db
      .prepare('SELECT device, ts, json_values FROM readings WHERE device = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?')
      .all(device, q.from ?? 0, q.to ?? Number.MAX_SAFE_INTEGER, Math.min(q.limit ?? 100, 100_000)) as { device: string; ts: number; json_values: string }[];
    return rows.map((row) => ({ device: row.device, ts: row.ts, values: JSON.parse(row.json_values) as Record<string, number> }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
