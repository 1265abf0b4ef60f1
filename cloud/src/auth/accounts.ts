/**
 * Users, their passwords, login sessions and API tokens, and the AccessControl of the HTTP API
 * built on them: a bearer token (the bootstrap admin token, a session or an API token) -> its
 * user -> the user's current role. Role changes, disabling and revocation take effect on the next
 * request, since nothing about a user is cached.
 */
import type { FastifyRequest } from 'fastify';
import {
  accessCheck,
  bearerToken,
  forbidden,
  unauthorized,
  type AccessControl,
  type AccessHandler,
  type Principal,
  type Role,
} from '../http/access.js';
import { hashSecret, secretsEqual, verifySecret } from './secrets.js';
import { issueToken, parseToken, tokenMatches } from './tokens.js';
import { isUsername, UnknownUserError, USERNAME_PATTERN, type TokenRecord, type UserRecord, type UserStore } from './types.js';

export const PASSWORD_MIN_LENGTH = 12;
/** scrypt takes any length, but there is no reason to accept a novel. */
export const PASSWORD_MAX_LENGTH = 256;
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const MAX_TOKEN_DAYS = 3650;
/** lastUsedAt of a token is written at most this often, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The bootstrap admin token acts as this user. */
export const BOOTSTRAP_ADMIN: Principal = { username: 'admin', role: 'admin', credential: { kind: 'bootstrap' } };

/** A password or username that breaks the rules; the message says which rule, never the password. */
export class AccountRuleError extends Error {
  override readonly name = 'AccountRuleError';
}

export function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw new AccountRuleError(`password must be at least ${PASSWORD_MIN_LENGTH} characters long (it has ${password.length})`);
  }
  if (password.length > PASSWORD_MAX_LENGTH) throw new AccountRuleError(`password must be at most ${PASSWORD_MAX_LENGTH} characters long`);
}

export function checkUsername(username: string): void {
  if (!isUsername(username)) throw new AccountRuleError(`username '${username}' must match ${USERNAME_PATTERN}`);
}

export interface NewAccount {
  username: string;
  name?: string | null | undefined;
  role: Role;
  password: string;
}

export interface AccountPatch {
  name?: string | null | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
}

export type LoginResult =
  | { ok: true; token: string; expiresAt: number; user: UserRecord }
  | { ok: false; reason: 'unknown user' | 'wrong password' | 'user disabled'; user?: UserRecord };

export interface AccountsOptions {
  users: UserStore;
  /** Whoever presents it is BOOTSTRAP_ADMIN. */
  adminToken: string;
  /** Clock (epoch ms) of sessions and token expiry; Date.now when absent. */
  now?: (() => number) | undefined;
  sessionTtlMs?: number | undefined;
}

export class Accounts implements AccessControl {
  readonly users: UserStore;
  readonly now: () => number;
  readonly sessionTtlMs: number;
  private readonly adminToken: string;
  /** Verified against when the user does not exist, so that the answer takes as long as for a wrong password. */
  private decoyHash: Promise<string> | undefined;

  constructor(options: AccountsOptions) {
    this.users = options.users;
    this.adminToken = options.adminToken;
    this.now = options.now ?? Date.now;
    this.sessionTtlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
  }

  // ---- users ------------------------------------------------------------------------------

  /** Throws AccountRuleError or DuplicateUserError. */
  async createUser(account: NewAccount): Promise<UserRecord> {
    checkUsername(account.username);
    checkPassword(account.password);
    return this.users.createUser({
      username: account.username,
      name: account.name ?? null,
      role: account.role,
      passwordHash: await hashSecret(account.password),
      createdAt: this.now(),
    });
  }

  /**
   * Throws AccountRuleError, UnknownUserError or LastAdminError. A new password ends the user's
   * sessions (whoever knew the old one is signed out); API tokens stay, they are revoked one by one.
   */
  async updateUser(username: string, patch: AccountPatch): Promise<UserRecord> {
    if (patch.password !== undefined) checkPassword(patch.password);
    const at = this.now();
    const user = await this.users.updateUser(username, {
      name: patch.name,
      role: patch.role,
      disabled: patch.disabled,
      passwordHash: patch.password === undefined ? undefined : await hashSecret(patch.password),
      updatedAt: at,
    });
    if (patch.password !== undefined || patch.disabled === true) await this.users.revokeUserTokens(username, 'session', at);
    return user;
  }

  /** Creates the users that do not exist yet (by username); returns the ones it created. */
  async seed(accounts: readonly NewAccount[]): Promise<string[]> {
    const created: string[] = [];
    for (const account of accounts) {
      if (await this.users.getUser(account.username)) continue;
      await this.createUser(account);
      created.push(account.username);
    }
    return created;
  }

  // ---- sign in ----------------------------------------------------------------------------

  /** Checks the password and opens a session. Callers rate-limit and log failures. */
  async login(username: string, password: string): Promise<LoginResult> {
    const stored = isUsername(username) ? await this.users.passwordHash(username) : undefined;
    if (stored === undefined) {
      this.decoyHash ??= hashSecret('decoy password for unknown users');
      await verifySecret(password, await this.decoyHash);
      return { ok: false, reason: 'unknown user' };
    }
    const user = await this.users.getUser(username);
    if (!user || !(await verifySecret(password, stored))) return { ok: false, reason: 'wrong password' };
    if (user.disabled) return { ok: false, reason: 'user disabled', user };
    const at = this.now();
    // Each login leaves a row; old ones go here rather than in a timer.
    await this.users.pruneSessions(at - this.sessionTtlMs);
    const issued = issueToken('session');
    const session = await this.users.createToken({
      id: issued.id,
      username,
      kind: 'session',
      name: null,
      secretHash: issued.secretHash,
      createdAt: at,
      expiresAt: at + this.sessionTtlMs,
    });
    return { ok: true, token: issued.token, expiresAt: session.expiresAt!, user };
  }

  /** A named API token for `username`; the token is in the result only. Throws UnknownUserError. */
  async issueApiToken(username: string, name: string, expiresInDays?: number): Promise<{ token: string; record: TokenRecord }> {
    if (expiresInDays !== undefined && !(expiresInDays > 0 && expiresInDays <= MAX_TOKEN_DAYS)) {
      throw new AccountRuleError(`expiresInDays must be between 1 and ${MAX_TOKEN_DAYS}, got ${expiresInDays}`);
    }
    if (!(await this.users.getUser(username))) throw new UnknownUserError(username);
    const at = this.now();
    const issued = issueToken('api');
    const record = await this.users.createToken({
      id: issued.id,
      username,
      kind: 'api',
      name,
      secretHash: issued.secretHash,
      createdAt: at,
      expiresAt: expiresInDays === undefined ? null : at + expiresInDays * DAY_MS,
    });
    return { token: issued.token, record };
  }

  // ---- access control ---------------------------------------------------------------------

  /** The principal a bearer token stands for now, or undefined (unknown, expired, revoked, user disabled or gone). */
  async authenticate(token: string): Promise<Principal | undefined> {
    const parsed = parseToken(token);
    if (!parsed) return secretsEqual(token, this.adminToken) ? BOOTSTRAP_ADMIN : undefined;
    const found = await this.users.tokenForAuth(parsed.id);
    if (!found || found.token.kind !== parsed.kind || !tokenMatches(token, found.secretHash)) return undefined;
    const at = this.now();
    if (found.token.revokedAt !== null || (found.token.expiresAt !== null && found.token.expiresAt <= at)) return undefined;
    const user = await this.users.getUser(found.token.username);
    if (!user || user.disabled) return undefined;
    if (found.token.lastUsedAt === null || at - found.token.lastUsedAt >= TOUCH_INTERVAL_MS) await this.users.touchToken(parsed.id, at);
    return { username: user.username, role: user.role, name: user.name, credential: { kind: parsed.kind, tokenId: parsed.id } };
  }

  require(...roles: Role[]): AccessHandler {
    return accessCheck(async (request: FastifyRequest, reply) => {
      const token = bearerToken(request);
      if (token === undefined) throw unauthorized(reply);
      const principal = await this.authenticate(token);
      if (!principal) throw unauthorized(reply, 'the bearer token is not valid (unknown, expired or revoked, or its user is disabled)');
      if (!roles.includes(principal.role)) throw forbidden(principal, roles);
      request.principal = principal;
    });
  }
}
