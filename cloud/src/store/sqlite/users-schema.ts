/**
 * Schema of the users tables (migration 5 of migrations.ts): users with their role and scrypt
 * password hash; API tokens and login sessions in one table, keyed by the token's public id, with
 * the sha256 of its secret.
 */
export const USERS_SCHEMA = `
  CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    name          TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'controller', 'technician', 'viewer')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE user_tokens (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    name         TEXT,
    secret_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
  ) STRICT;
  CREATE INDEX user_tokens_user ON user_tokens(username, kind, created_at);
`;
