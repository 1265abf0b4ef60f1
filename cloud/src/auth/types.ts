/**
 * Users of the cloud API and their credentials: passwords (scrypt hashes), API tokens and login
 * sessions (sha256 of a high-entropy secret, see tokens.ts). `store.users: UserStore` is the
 * persistence contract; test/store/users-conformance.ts is what every implementation must pass.
 */
import type { Role } from '../http/access.js';

/** Lower-case letter first, then letters, digits, '.', '_' or '-'; 2-32 characters. */
export const USERNAME_PATTERN = '^[a-z][a-z0-9._-]{1,31}$';
export const isUsername = (value: string): boolean => new RegExp(USERNAME_PATTERN).test(value);

/** A user as the API shows it; never carries the password hash. */
export interface UserRecord {
  username: string;
  name: string | null;
  role: Role;
  /** A disabled user cannot sign in, and its sessions and API tokens stop working. */
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NewUser {
  username: string;
  name?: string | null | undefined;
  role: Role;
  /** Output of hashSecret(); the plain password never reaches the store. */
  passwordHash: string;
  disabled?: boolean | undefined;
  createdAt: number;
}

export interface UserPatch {
  name?: string | null | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
  passwordHash?: string | undefined;
  updatedAt: number;
}

/** 'session': issued by a login, expires after hours; 'api': named, issued on request, optional expiry. */
export type TokenKind = 'session' | 'api';

/** A token as the API shows it; never carries the secret nor its hash. */
export interface TokenRecord {
  id: string;
  username: string;
  kind: TokenKind;
  /** The name given to an API token (null for sessions). */
  name: string | null;
  createdAt: number;
  /** Null: never expires (API tokens only). */
  expiresAt: number | null;
  /** Updated at most about once a minute per token. */
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface NewToken {
  id: string;
  username: string;
  kind: TokenKind;
  name: string | null;
  /** Output of hashToken(); the token itself never reaches the store. */
  secretHash: string;
  createdAt: number;
  expiresAt: number | null;
}

export class DuplicateUserError extends Error {
  override readonly name = 'DuplicateUserError';
  constructor(readonly username: string) {
    super(`user '${username}' already exists`);
  }
}

export class UnknownUserError extends Error {
  override readonly name = 'UnknownUserError';
  constructor(readonly username: string) {
    super(`user '${username}' not found`);
  }
}

/** The change would leave no enabled admin user. */
export class LastAdminError extends Error {
  override readonly name = 'LastAdminError';
  constructor(readonly username: string, operation: string) {
    super(`${operation}: '${username}' is the last enabled admin; make another user admin first`);
  }
}

export interface UserStore {
  /** Throws DuplicateUserError when the username is taken. */
  createUser(user: NewUser): Promise<UserRecord>;
  getUser(username: string): Promise<UserRecord | undefined>;
  /** By username. */
  listUsers(): Promise<UserRecord[]>;
  /** The stored scrypt hash, for signing in only. */
  passwordHash(username: string): Promise<string | undefined>;
  /**
   * Applies the fields present in `patch`. Throws UnknownUserError, or LastAdminError when it
   * would demote or disable the last enabled admin.
   */
  updateUser(username: string, patch: UserPatch): Promise<UserRecord>;
  /** Deletes the user and its tokens. Throws UnknownUserError, or LastAdminError for the last enabled admin. */
  deleteUser(username: string): Promise<void>;

  /** Throws UnknownUserError when the user does not exist. */
  createToken(token: NewToken): Promise<TokenRecord>;
  /** The token and its secret hash, for authentication only (revoked and expired ones too: the caller decides). */
  tokenForAuth(id: string): Promise<{ token: TokenRecord; secretHash: string } | undefined>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** A user's tokens of one kind, newest first, revoked and expired ones included. */
  listTokens(username: string, kind: TokenKind): Promise<TokenRecord[]>;
  /** Marks the token revoked (idempotent: an earlier revocation time is kept); undefined when unknown. */
  revokeToken(id: string, at: number): Promise<TokenRecord | undefined>;
  /** Revokes every live token of a user of one kind (e.g. all sessions after a password change); returns how many. */
  revokeUserTokens(username: string, kind: TokenKind, at: number): Promise<number>;
  touchToken(id: string, at: number): Promise<void>;
  /** Deletes sessions that expired or were revoked before `before` (API tokens are kept as a record). */
  pruneSessions(before: number): Promise<number>;
}
