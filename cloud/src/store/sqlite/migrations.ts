/**
 * Schema versions of the SQLite store, tracked in PRAGMA user_version. A migration is appended,
 * never edited: a database at version N runs migrations N+1.. in order, each in its own transaction.
 */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  // 1: registry, event log with per-stream sync state, projections, quarantine.
  `
  CREATE TABLE gateways (
    id            TEXT PRIMARY KEY,
    name          TEXT,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    online        INTEGER NOT NULL DEFAULT 0,
    last_seen     INTEGER,
    last_status   TEXT,
    agent_version TEXT,
    started_at    INTEGER,
    telemetry     TEXT,
    telemetry_at  INTEGER
  ) STRICT;

  CREATE TABLE devices (
    gateway_id TEXT NOT NULL REFERENCES gateways(id),
    device_id  TEXT NOT NULL,
    profile    TEXT,
    kind       TEXT,
    name       TEXT,
    endpoint   TEXT,
    state      TEXT NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'ok', 'error', 'unreachable')),
    last_error TEXT,
    removed    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id)
  ) STRICT;
  CREATE INDEX devices_kind ON devices(kind);

  CREATE TABLE streams (
    gateway_id TEXT NOT NULL REFERENCES gateways(id),
    stream     TEXT NOT NULL,
    synced_seq INTEGER NOT NULL,
    first_seq  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, stream)
  ) STRICT;

  CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    gateway_id  TEXT NOT NULL,
    stream      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    type        TEXT NOT NULL,
    device_id   TEXT,
    data        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (gateway_id, stream, seq)
  ) STRICT;
  -- Readings are events of type 'reading': this index serves "readings of a device by time".
  CREATE INDEX events_device_type_ts ON events(gateway_id, device_id, type, ts);
  CREATE INDEX events_ts ON events(ts);


  CREATE TABLE lane_totals (
    gateway_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    lane       INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id, lane)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE rejected_events (
    id          INTEGER PRIMARY KEY,
    gateway_id  TEXT NOT NULL,
    stream      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    type        TEXT NOT NULL,
    device_id   TEXT,
    data        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (gateway_id, stream, seq)
  ) STRICT;
  CREATE INDEX rejected_events_ts ON rejected_events(ts);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; refuses a database written by a newer version. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `cloud store '${db.name}' has schema version ${current}, newer than this build knows (${SCHEMA_VERSION}); upgrade Quanlink`,
    );
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    const sql = MIGRATIONS[version - 1]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
