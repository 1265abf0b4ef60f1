/**
 * Signing in: POST /api/v1/auth/login (username + password -> a 12-hour session token), logout,
 * and who am I. Failed logins are rate-limited per username and per client address, logged
 * (username and address, never the password) and, when they lock a username or address out, audited.
 */
import type { FastifyInstance } from 'fastify';
import type { Accounts } from '../../auth/accounts.js';
import { RateLimiter } from '../../auth/rate-limit.js';
import type { CloudStore } from '../../store/types.js';
import { ANY_ROLE, type AccessControl } from '../access.js';
import { LoginBody, LoginResponse, Me } from '../auth-schemas.js';
import { ApiError, badRequest } from '../errors.js';
import { errorResponses } from '../schemas.js';

const FAILURE_WINDOW_MS = 5 * 60 * 1000;

export interface LoginLimiters {
  /** Failed logins per username; a successful login clears its username's count. */
  username: RateLimiter;
  /** Failed logins per client address (one address trying many usernames). */
  address: RateLimiter;
}

/** 5 failures per username, 20 per address, in 5 minutes. */
export function defaultLoginLimiters(now?: () => number): LoginLimiters {
  return {
    username: new RateLimiter({ limit: 5, windowMs: FAILURE_WINDOW_MS, now }),
    address: new RateLimiter({ limit: 20, windowMs: FAILURE_WINDOW_MS, now }),
  };
}

export interface AuthRouteDeps {
  store: CloudStore;
  accounts: Accounts;
  access: AccessControl;
  limiters?: LoginLimiters | undefined;
}

const WRONG_CREDENTIALS = 'wrong username or password';

export function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): void {
  const { store, accounts } = deps;
  const limiters = deps.limiters ?? defaultLoginLimiters(accounts.now);
  const signedIn = deps.access.require(...ANY_ROLE);
  const security = [{ bearer: [] }];

  app.post<{ Body: LoginBody }>(
    '/api/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['users'],
        summary: `Sign in; the session token lasts ${accounts.sessionTtlMs / 3_600_000} h. Failed attempts are limited per username and per address (429 with Retry-After)`,
        body: LoginBody,
        response: { 200: LoginResponse, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const userKey = `user:${username}`;
      const addressKey = `address:${request.ip}`;
      const blocked = [limiters.username.check(userKey), limiters.address.check(addressKey)].filter((d) => !d.allowed);
      if (blocked.length > 0) {
        const retryAfterS = Math.max(...blocked.map((d) => d.retryAfterS));
        request.log.warn({ operation: 'login', username, ip: request.ip, retryAfterS }, 'login refused: too many failed attempts');
        reply.header('Retry-After', String(retryAfterS));
        throw new ApiError(429, 'TooManyRequests', `too many failed logins for this username or from this address; try again in ${retryAfterS} s`);
      }

      const result = await accounts.login(username, password);
      const at = accounts.now();
      if (!result.ok) {
        request.log.warn({ operation: 'login', username, ip: request.ip, reason: result.reason }, 'login failed');
        for (const [limiter, key, by] of [[limiters.username, userKey, 'username'], [limiters.address, addressKey, 'address']] as const) {
          limiter.hit(key);
          if (!limiter.check(key).allowed) {
            await store.dispatch.appendAudit({
              at,
              actor: `anonymous@${request.ip}`,
              action: 'auth.lockout',
              subject: `user:${username}`,
              details: { ip: request.ip, by, failures: limiter.limit, windowS: limiter.windowMs / 1000 },
            });
          }
        }
        if (result.reason === 'user disabled') throw new ApiError(401, 'Unauthorized', `user '${username}' is disabled; ask an admin`);
        throw new ApiError(401, 'Unauthorized', WRONG_CREDENTIALS);
      }
      limiters.username.reset(userKey);
      await store.dispatch.appendAudit({ at, actor: username, action: 'auth.login', subject: `user:${username}`, details: { ip: request.ip } });
      const { user } = result;
      return { token: result.token, expiresAt: result.expiresAt, user: { username: user.username, name: user.name, role: user.role } };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      preHandler: signedIn,
      schema: {
        tags: ['users'],
        summary: 'End the session whose token signs this request',
        security,
        response: { 204: { type: 'null', description: 'the session token no longer works' }, ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      if (principal.credential?.kind !== 'session') {
        throw badRequest('logout ends a login session; this request is signed with an API token or the admin token (revoke API tokens with DELETE /api/v1/users/{username}/tokens/{id})');
      }
      await accounts.users.revokeToken(principal.credential.tokenId, accounts.now());
      await store.dispatch.appendAudit({
        at: accounts.now(),
        actor: principal.username,
        action: 'auth.logout',
        subject: `user:${principal.username}`,
        details: { session: principal.credential.tokenId },
      });
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      preHandler: signedIn,
      schema: { tags: ['users'], summary: 'The signed-in user', security, response: { 200: Me, ...errorResponses(401) } },
    },
    async (request) => {
      const { username, name, role } = request.principal!;
      return { username, name: name ?? null, role };
    },
  );
}
