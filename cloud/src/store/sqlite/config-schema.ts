/**
 * Schema of the configuration shadow (migration 7): desired configs by version, the reported config
 * per gateway, and a history of what happened to both.
 */
export const CONFIG_SCHEMA = `
  CREATE TABLE config_desired (
    gateway_id    TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    config        TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    set_by        TEXT NOT NULL,
    set_at        INTEGER NOT NULL,
    outcome       TEXT NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'applied', 'rejected')),
    outcome_at    INTEGER,
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (gateway_id, version)
  ) STRICT;

  CREATE TABLE config_reported (
    gateway_id  TEXT PRIMARY KEY REFERENCES gateways(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('cloud', 'local')),
    applied_at  INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    config      TEXT
  ) STRICT;

  CREATE TABLE config_history (
    id            INTEGER PRIMARY KEY,
    gateway_id    TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('desired', 'applied', 'rejected', 'reported')),
    version       INTEGER NOT NULL,
    sha256        TEXT,
    actor         TEXT,
    source        TEXT,
    error_code    TEXT,
    error_message TEXT
  ) STRICT;
  CREATE INDEX config_history_gateway ON config_history (gateway_id, id);
`;
