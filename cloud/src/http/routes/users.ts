/**
 * Users (admin only) and API tokens (admin, or the user for its own tokens). Passwords and token
 * secrets are never returned; a token is shown once, in the response that creates it. Every
 * change is audited with the signed-in user as actor.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccountRuleError, type Accounts } from '../../auth/accounts.js';
import { DuplicateUserError, LastAdminError, UnknownUserError, type TokenRecord } from '../../auth/types.js';
import type { CloudStore } from '../../store/types.js';
import { ANY_ROLE, actorOf, type AccessControl } from '../access.js';
import {
  NewTokenBody,
  NewTokenResponse,
  NewUserBody,
  TokenParams,
  TokenView,
  UserParams,
  UserPatchBody,
  UserView,
} from '../auth-schemas.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { errorResponses } from '../schemas.js';

export interface UserRouteDeps {
  store: CloudStore;
  accounts: Accounts;
  access: AccessControl;
}

/** The API error of an account error, else the error itself. */
function apiErrorOf(err: unknown): unknown {
  if (err instanceof AccountRuleError) return badRequest(err.message);
  if (err instanceof UnknownUserError) return notFound(err.message);
  if (err instanceof DuplicateUserError || err instanceof LastAdminError) return new ApiError(409, 'Conflict', err.message);
  return err;
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw apiErrorOf(err);
  }
}

/** Admins manage everyone's tokens; other users only their own. */
function requireSelfOrAdmin(request: FastifyRequest, username: string): void {
  const principal = request.principal!;
  if (principal.role === 'admin' || principal.username === username) return;
  throw new ApiError(
    403,
    'Forbidden',
    `user '${principal.username}' has role '${principal.role}'; managing the tokens of user '${username}' needs admin (users manage only their own)`,
  );
}

export function userRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  const { store, accounts } = deps;
  const admin = deps.access.require('admin');
  const signedIn = deps.access.require(...ANY_ROLE);
  const security = [{ bearer: [] }];
  const audit = (request: FastifyRequest, action: string, subject: string, details: Record<string, unknown>) =>
    store.dispatch.appendAudit({ at: accounts.now(), actor: actorOf(request), action, subject, details });
  const tokenView = (token: TokenRecord) => {
    const { kind: _kind, ...rest } = token;
    return { ...rest, active: token.revokedAt === null && (token.expiresAt === null || token.expiresAt > accounts.now()) };
  };

  app.get(
    '/api/v1/users',
    {
      preHandler: admin,
      schema: { tags: ['users'], summary: 'Every user, by username', security, response: { 200: Type.Object({ users: Type.Array(UserView) }), ...errorResponses(401, 403) } },
    },
    async () => ({ users: await store.users.listUsers() }),
  );

  app.post<{ Body: NewUserBody }>(
    '/api/v1/users',
    {
      preHandler: admin,
      schema: {
        tags: ['users'],
        summary: 'Create a user with a role and a password (at least 12 characters)',
        security,
        body: NewUserBody,
        response: { 201: UserView, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = await mapped(() => accounts.createUser(request.body));
      await audit(request, 'user.create', `user:${user.username}`, { role: user.role, name: user.name });
      return reply.code(201).send(user);
    },
  );

  app.patch<{ Params: UserParams; Body: UserPatchBody }>(
    '/api/v1/users/:username',
    {
      preHandler: admin,
      schema: {
        tags: ['users'],
        summary: "Change a user's role, name, password or disabled flag (a new password or disabling ends its sessions)",
        security,
        params: UserParams,
        body: UserPatchBody,
        response: { 200: UserView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { username } = request.params;
      const user = await mapped(() => accounts.updateUser(username, request.body));
      const { password, ...changed } = request.body;
      await audit(request, 'user.update', `user:${username}`, { ...changed, ...(password !== undefined && { passwordChanged: true }) });
      return user;
    },
  );

  app.delete<{ Params: UserParams }>(
    '/api/v1/users/:username',
    {
      preHandler: admin,
      schema: {
        tags: ['users'],
        summary: 'Delete a user and its tokens (the last enabled admin cannot be deleted: 409)',
        security,
        params: UserParams,
        response: { 204: { type: 'null', description: 'deleted' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      const user = await store.users.getUser(username);
      if (!user) throw notFound(`user '${username}' not found`);
      await mapped(() => store.users.deleteUser(username));
      await audit(request, 'user.delete', `user:${username}`, { role: user.role });
      return reply.code(204).send();
    },
  );

  app.post<{ Params: UserParams; Body: NewTokenBody }>(
    '/api/v1/users/:username/tokens',
    {
      preHandler: signedIn,
      schema: {
        tags: ['users'],
        summary: 'Create a named API token for a user (admin, or the user itself); the token is shown only in this response',
        security,
        params: UserParams,
        body: NewTokenBody,
        response: { 201: NewTokenResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      requireSelfOrAdmin(request, username);
      const { token, record } = await mapped(() => accounts.issueApiToken(username, request.body.name, request.body.expiresInDays));
      await audit(request, 'token.create', `user:${username}`, { id: record.id, name: record.name, expiresAt: record.expiresAt });
      return reply.code(201).send({ token, record: tokenView(record) });
    },
  );

  app.get<{ Params: UserParams }>(
    '/api/v1/users/:username/tokens',
    {
      preHandler: signedIn,
      schema: {
        tags: ['users'],
        summary: "A user's API tokens, newest first, without their secrets (admin, or the user itself)",
        security,
        params: UserParams,
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { username } = request.params;
      requireSelfOrAdmin(request, username);
      if (!(await store.users.getUser(username))) throw notFound(`user '${username}' not found`);
      return { tokens: (await store.users.listTokens(username, 'api')).map(tokenView) };
    },
  );

  app.delete<{ Params: TokenParams }>(
    '/api/v1/users/:username/tokens/:id',
    {
      preHandler: signedIn,
      schema: {
        tags: ['users'],
        summary: 'Revoke an API token (admin, or the user itself); it stops working at once',
        security,
        params: TokenParams,
        response: { 204: { type: 'null', description: 'revoked' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { username, id } = request.params;
      requireSelfOrAdmin(request, username);
      const token = await store.users.getToken(id);
      if (!token || token.username !== username || token.kind !== 'api') throw notFound(`user '${username}' has no API token '${id}'`);
      await store.users.revokeToken(id, accounts.now());
      await audit(request, 'token.revoke', `user:${username}`, { id, name: token.name });
      return reply.code(204).send();
    },
  );
}
