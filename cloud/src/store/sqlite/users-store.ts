/** The UserStore on the cloud's SQLite database (the same connection as the CloudStore). */
import type Database from 'better-sqlite3';
import type { Role } from '../../http/access.js';
import {
  DuplicateUserError,
  LastAdminError,
  UnknownUserError,
  type NewToken,
  type NewUser,
  type TokenKind,
  type TokenRecord,
  type UserPatch,
  type UserRecord,
  type UserStore,
} from '../../auth/types.js';

interface UserRow {
  username: string;
  name: string | null;
  role: Role;
  disabled: number;
  created_at: number;
  updated_at: number;
}

interface TokenRow {
  id: string;
  username: string;
  kind: TokenKind;
  name: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const USER_COLUMNS = 'username, name, role, disabled, created_at, updated_at';
const TOKEN_COLUMNS = 'id, username, kind, name, created_at, expires_at, last_used_at, revoked_at';

const toUser = (row: UserRow): UserRecord => ({
  username: row.username,
  name: row.name,
  role: row.role,
  disabled: row.disabled === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toToken = (row: TokenRow): TokenRecord => ({
  id: row.id,
  username: row.username,
  kind: row.kind,
  name: row.name,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export class SqliteUserStore implements UserStore {
  constructor(private readonly db: Database.Database) {}

  private userRow(username: string): UserRow | undefined {
    return this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`).get(username) as UserRow | undefined;
  }

  /** Enabled admins other than `username`. */
  private otherEnabledAdmins(username: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND username <> ?").get(username) as { n: number }).n;
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    try {
      this.db
        .prepare('INSERT INTO users (username, name, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(user.username, user.name ?? null, user.role, user.passwordHash, user.disabled ? 1 : 0, user.createdAt, user.createdAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateUserError(user.username);
      throw err;
    }
    return toUser(this.userRow(user.username)!);
  }

  async getUser(username: string): Promise<UserRecord | undefined> {
    const row = this.userRow(username);
    return row && toUser(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`).all() as UserRow[]).map(toUser);
  }

  async passwordHash(username: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT password_hash FROM users WHERE username = ?').get(username) as { password_hash: string } | undefined)?.password_hash;
  }

  async updateUser(username: string, patch: UserPatch): Promise<UserRecord> {
    return this.db
      .transaction(() => {
        const row = this.userRow(username);
        if (!row) throw new UnknownUserError(username);
        const role = patch.role ?? row.role;
        const disabled = patch.disabled ?? row.disabled === 1;
        const staysEnabledAdmin = role === 'admin' && !disabled;
        if (row.role === 'admin' && row.disabled === 0 && !staysEnabledAdmin && this.otherEnabledAdmins(username) === 0) {
          throw new LastAdminError(username, patch.role !== undefined && patch.role !== 'admin' ? `change role of '${username}'` : `disable '${username}'`);
        }
        this.db
          .prepare(
            `UPDATE users SET name = ?, role = ?, disabled = ?, password_hash = coalesce(?, password_hash), updated_at = ? WHERE username = ?`,
          )
          .run(patch.name === undefined ? row.name : patch.name, role, disabled ? 1 : 0, patch.passwordHash ?? null, patch.updatedAt, username);
        return toUser(this.userRow(username)!);
      })
      .immediate();
  }

  async deleteUser(username: string): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.userRow(username);
        if (!row) throw new UnknownUserError(username);
        if (row.role === 'admin' && row.disabled === 0 && this.otherEnabledAdmins(username) === 0) {
          throw new LastAdminError(username, `delete '${username}'`);
        }
        // Tokens go with the user (ON DELETE CASCADE).
        this.db.prepare('DELETE FROM users WHERE username = ?').run(username);
      })
      .immediate();
  }

  async createToken(token: NewToken): Promise<TokenRecord> {
    try {
      this.db
        .prepare('INSERT INTO user_tokens (id, username, kind, name, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(token.id, token.username, token.kind, token.name, token.secretHash, token.createdAt, token.expiresAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new UnknownUserError(token.username);
      throw err;
    }
    return (await this.getToken(token.id))!;
  }

  async tokenForAuth(id: string): Promise<{ token: TokenRecord; secretHash: string } | undefined> {
    const row = this.db.prepare(`SELECT ${TOKEN_COLUMNS}, secret_hash FROM user_tokens WHERE id = ?`).get(id) as
      | (TokenRow & { secret_hash: string })
      | undefined;
    return row && { token: toToken(row), secretHash: row.secret_hash };
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM user_tokens WHERE id = ?`).get(id) as TokenRow | undefined;
    return row && toToken(row);
  }

  async listTokens(username: string, kind: TokenKind): Promise<TokenRecord[]> {
    return (
      this.db
        .prepare(`SELECT ${TOKEN_COLUMNS} FROM user_tokens WHERE username = ? AND kind = ? ORDER BY created_at DESC, id`)
        .all(username, kind) as TokenRow[]
    ).map(toToken);
  }

  async revokeToken(id: string, at: number): Promise<TokenRecord | undefined> {
    this.db.prepare('UPDATE user_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
    return this.getToken(id);
  }

  async revokeUserTokens(username: string, kind: TokenKind, at: number): Promise<number> {
    return this.db
      .prepare('UPDATE user_tokens SET revoked_at = ? WHERE username = ? AND kind = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
      .run(at, username, kind, at).changes;
  }

  async touchToken(id: string, at: number): Promise<void> {
    this.db.prepare('UPDATE user_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  async pruneSessions(before: number): Promise<number> {
    return this.db
      .prepare("DELETE FROM user_tokens WHERE kind = 'session' AND (expires_at < ? OR revoked_at < ?)")
      .run(before, before).changes;
  }
}
