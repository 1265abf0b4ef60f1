/**
 * Schema versions of the SQLite store, tracked in PRAGMA user_version. A migration is appended,
 * never edited: a database at version N runs migrations N+1.. in order, each in its own transaction.
 */
import type Database from 'better-sqlite3';
import { CONFIG_SCHEMA } from './config-schema.js';
import { FLEET_SCHEMA } from './fleet-schema.js';
import { UPDATES_SCHEMA } from './updates-schema.js';
import { PLACEMENT_SCHEMA } from './placement-schema.js';
import { USERS_SCHEMA } from './users-schema.js';

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

  // 2: traffic: lane periods (traffic.period), road segments and their graded state, detector diagnostics.
  `
  CREATE TABLE lane_periods (
    gateway_id   TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    lane         INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    period_s     INTEGER NOT NULL,
    volume       INTEGER NOT NULL,
    flow         REAL NOT NULL,
    occupancy    REAL,
    speed        REAL,
    speed_source TEXT NOT NULL CHECK (speed_source IN ('measured', 'estimated', 'none')),
    completeness REAL NOT NULL,
    classes      TEXT,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id, lane, period_start, period_s)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX lane_periods_device_time ON lane_periods(gateway_id, device_id, period_start);

  CREATE TABLE road_segments (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    road_class TEXT NOT NULL CHECK (road_class IN ('expressway', 'arterial', 'secondary')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  -- Keyed by the lane: a lane belongs to at most one segment.
  CREATE TABLE segment_lanes (
    gateway_id TEXT NOT NULL REFERENCES gateways(id),
    device_id  TEXT NOT NULL,
    lane       INTEGER NOT NULL CHECK (lane BETWEEN 1 AND 999),
    segment_id TEXT NOT NULL REFERENCES road_segments(id) ON DELETE CASCADE,
    PRIMARY KEY (gateway_id, device_id, lane)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX segment_lanes_segment ON segment_lanes(segment_id);

  -- One series per period length: its previous period is the grade's hysteresis reference.
  CREATE TABLE segment_periods (
    segment_id      TEXT NOT NULL REFERENCES road_segments(id),
    period_s        INTEGER NOT NULL,
    period_start    INTEGER NOT NULL,
    volume          INTEGER NOT NULL,
    occupancy       REAL,
    speed           REAL,
    grade           INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 5),
    grade_basis     TEXT NOT NULL CHECK (grade_basis IN ('speed', 'hysteresis', 'no-speed')),
    lanes_reporting INTEGER NOT NULL,
    lanes_total     INTEGER NOT NULL,
    completeness    REAL NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (segment_id, period_s, period_start)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX segment_periods_time ON segment_periods(segment_id, period_start);

  -- A period whose grade differs from its previous period's.
  CREATE TABLE segment_events (
    segment_id   TEXT NOT NULL REFERENCES road_segments(id),
    period_s     INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    from_grade   INTEGER NOT NULL CHECK (from_grade BETWEEN 1 AND 5),
    to_grade     INTEGER NOT NULL CHECK (to_grade BETWEEN 1 AND 5),
    speed        REAL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (segment_id, period_s, period_start)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX segment_events_time ON segment_events(segment_id, period_start);

  -- Current state per fault; lane 0 is the whole device. The history is the detector.diagnostic events.
  CREATE TABLE detector_diagnostics (
    gateway_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    lane       INTEGER NOT NULL,
    condition  TEXT NOT NULL,
    active     INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    cleared_at INTEGER,
    detail     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id, lane, condition)
  ) STRICT, WITHOUT ROWID;
  `,

  // 3: guidance screens: messages, per-screen dispatches with their history, audit log, screen
  // metadata and condition, automatic guidance rules, their state and proposals.
  `
  CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    multi        TEXT NOT NULL,
    crc          INTEGER NOT NULL,
    form         TEXT,
    priority     INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 255),
    start_at     INTEGER NOT NULL,
    end_at       INTEGER,
    created_at   INTEGER NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('operator', 'auto')),
    targets      TEXT NOT NULL,
    note         TEXT,
    created_by   TEXT NOT NULL,
    rule_id      TEXT,
    cancelled_at INTEGER,
    cancelled_by TEXT
  ) STRICT;
  CREATE INDEX messages_created ON messages(created_at);

  CREATE TABLE dispatches (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages(id),
    gateway_id   TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'displayed', 'superseded', 'failed', 'expired', 'cancelled')),
    reason       TEXT,
    readback_crc INTEGER,
    last_tx      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (message_id, gateway_id, device_id)
  ) STRICT;
  CREATE INDEX dispatches_screen ON dispatches(gateway_id, device_id, state);
  CREATE INDEX dispatches_tx ON dispatches(last_tx);
  CREATE INDEX dispatches_state ON dispatches(state);

  CREATE TABLE dispatch_history (
    id           INTEGER PRIMARY KEY,
    dispatch_id  TEXT NOT NULL REFERENCES dispatches(id),
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    applied      INTEGER NOT NULL,
    reason       TEXT,
    readback_crc INTEGER,
    actor        TEXT NOT NULL,
    at           INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX dispatch_history_dispatch ON dispatch_history(dispatch_id, id);

  CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_log_at ON audit_log(at);

  CREATE TABLE screen_meta (
    gateway_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    name       TEXT,
    groups     TEXT NOT NULL DEFAULT '[]',
    segment    TEXT,
    corridor   TEXT,
    lat        REAL,
    lon        REAL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE screen_conditions (
    gateway_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    data       TEXT NOT NULL,
    ts         INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE guidance_rules (
    id         TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE guidance_rule_state (
    rule_id     TEXT PRIMARY KEY REFERENCES guidance_rules(id) ON DELETE CASCADE,
    since       INTEGER NOT NULL,
    message_id  TEXT,
    proposal_id TEXT
  ) STRICT;

  CREATE TABLE guidance_proposals (
    id          TEXT PRIMARY KEY,
    rule_id     TEXT NOT NULL,
    segment     TEXT NOT NULL,
    grade       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    decided_by  TEXT,
    message_id  TEXT
  ) STRICT;
  CREATE INDEX guidance_proposals_created ON guidance_proposals(created_at);
  `,

  // 4: cameras: camera info from births, pipeline state, video events with their thumbnails, full snapshot cache.
  `
  ALTER TABLE devices ADD COLUMN camera TEXT;

  -- Latest pipeline state per camera (an older report never overrides a newer one) and its latest video event.
  CREATE TABLE camera_state (
    gateway_id      TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    pipeline_state  TEXT,
    pipeline_reason TEXT,
    analysed_fps    REAL,
    restarts        INTEGER,
    pipeline_ts     INTEGER,
    last_event_at   INTEGER,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, device_id)
  ) STRICT, WITHOUT ROWID;

  -- One row per stored video event (same id as in events, whose data has no thumbnail): what the
  -- queries filter and group by, and the thumbnail as bytes.
  CREATE TABLE video_events (
    event_id          INTEGER PRIMARY KEY REFERENCES events(id),
    gateway_id        TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    type              TEXT NOT NULL,
    ts                INTEGER NOT NULL,
    line              TEXT,
    lane              INTEGER,
    direction         TEXT,
    snapshot_id       TEXT,
    thumbnail         BLOB,
    thumbnail_problem TEXT
  ) STRICT;
  CREATE INDEX video_events_ts ON video_events(ts);
  CREATE INDEX video_events_camera ON video_events(gateway_id, device_id, ts);
  CREATE INDEX video_events_crossings ON video_events(gateway_id, device_id, type, ts);

  CREATE TABLE snapshot_cache (
    id          INTEGER PRIMARY KEY,
    gateway_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    jpeg        BLOB NOT NULL,
    bytes       INTEGER NOT NULL,
    fetched_at  INTEGER NOT NULL,
    UNIQUE (gateway_id, device_id, snapshot_id)
  ) STRICT;
  CREATE INDEX snapshot_cache_age ON snapshot_cache(fetched_at, id);
  `,
  // 5: users, roles, API tokens and sessions.
  USERS_SCHEMA,
  // 6: fleet: sites, grid cells, enrolment tokens, gateway revocation and credential rotation.
  FLEET_SCHEMA,
  // 7: desired and reported gateway configuration, by version.
  CONFIG_SCHEMA,
  // 8: signed agent updates and staged rollouts.
  UPDATES_SCHEMA,
  // 9: where each device stands on the map (loop cards and cameras have no coordinates of their own).
  PLACEMENT_SCHEMA,
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
