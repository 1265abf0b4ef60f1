/**
 * Schema of the fleet tables (migration 6): grid cells and sites, one-time enrolment tokens (only a
 * hash of the secret), and per gateway its placement, revocation and credential rotation (kept
 * beside `gateways` rather than altering it).
 */
export const FLEET_SCHEMA = `
  CREATE TABLE grid_cells (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    polygon    TEXT,
    bbox       TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE sites (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    lat          REAL,
    lon          REAL,
    grid_cell_id TEXT REFERENCES grid_cells(id),
    address      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sites_grid_cell ON sites(grid_cell_id);

  CREATE TABLE enrolment_tokens (
    id                TEXT PRIMARY KEY,
    token_hash        TEXT NOT NULL UNIQUE,
    site_id           TEXT REFERENCES sites(id),
    grid_cell_id      TEXT REFERENCES grid_cells(id),
    gateway_id        TEXT,
    gateway_id_prefix TEXT,
    note              TEXT,
    created_at        INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    expires_at        INTEGER NOT NULL,
    used_at           INTEGER,
    used_by           TEXT,
    revoked_at        INTEGER,
    revoked_by        TEXT
  ) STRICT;
  CREATE INDEX enrolment_tokens_created ON enrolment_tokens(created_at);

  CREATE TABLE gateway_fleet (
    gateway_id            TEXT PRIMARY KEY REFERENCES gateways(id),
    site_id               TEXT REFERENCES sites(id),
    grid_cell_id          TEXT REFERENCES grid_cells(id),
    hardware              TEXT,
    enrolled_at           INTEGER,
    enrolment_token_id    TEXT,
    revoked_at            INTEGER,
    revoked_by            TEXT,
    revoke_reason         TEXT,
    pending_password_hash TEXT,
    rotation_started_at   INTEGER,
    rotated_at            INTEGER
  ) STRICT;
  CREATE INDEX gateway_fleet_site ON gateway_fleet(site_id);
  CREATE INDEX gateway_fleet_grid_cell ON gateway_fleet(grid_cell_id);
`;
