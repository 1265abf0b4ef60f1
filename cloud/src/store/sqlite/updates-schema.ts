/**
 * Schema of the updates tables (migration 8 of migrations.ts): uploaded update bundles (what was
 * verified about them; the bytes are files beside the store), rollouts with their policy, and one
 * record per gateway of a rollout.
 */
export const UPDATES_SCHEMA = `
  CREATE TABLE updates (
    id            TEXT PRIMARY KEY,
    version       TEXT NOT NULL UNIQUE,
    key_id        TEXT NOT NULL,
    envelope      TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    size          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL
  ) STRICT;

  CREATE TABLE rollouts (
    id                   TEXT PRIMARY KEY,
    update_id            TEXT NOT NULL REFERENCES updates(id),
    state                TEXT NOT NULL CHECK (state IN ('running', 'completed', 'aborted')),
    reason               TEXT,
    max_concurrent       INTEGER NOT NULL CHECK (max_concurrent >= 1),
    per_minute           INTEGER,
    abort_after_failures INTEGER,
    abort_after_percent  REAL,
    health_timeout_ms    INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    created_by           TEXT NOT NULL,
    finished_at          INTEGER
  ) STRICT;
  CREATE INDEX rollouts_state ON rollouts(state);

  CREATE TABLE rollout_targets (
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    gateway_id TEXT NOT NULL REFERENCES gateways(id),
    update_id  TEXT NOT NULL,
    position   INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'downloading', 'verifying', 'installed', 'healthy', 'failed', 'rolled-back', 'skipped')),
    reason     TEXT,
    started_at INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (rollout_id, gateway_id)
  ) STRICT;
  -- update.status events find their record by gateway and update.
  CREATE INDEX rollout_targets_gateway_update ON rollout_targets(gateway_id, update_id);
`;
