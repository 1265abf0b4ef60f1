/**
 * Who may call a route. Every route names the roles it admits through `access.require(...)`; a
 * route under /api/ that names none admits any signed-in user (signedInByDefault), one marked
 * `config: { public: true }` anybody. The request then carries its principal, whose username is
 * the actor of audit entries. The implementation is Accounts (auth/accounts.ts).
 *
 * Roles: viewer reads; controller also writes guidance content (messages, rules, proposals);
 * technician also provisions (gateways' enrolment tokens, devices, desired configuration);
 * admin does everything, including users, revocation and updates.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

export const ROLES = ['admin', 'controller', 'technician', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Anyone signed in. */
export const ANY_ROLE: readonly Role[] = ROLES;

export interface Principal {
  username: string;
  role: Role;
  /** The user's display name, when it has one. */
  name?: string | null | undefined;
  /** What the request was signed with: the bootstrap admin token, or a session or API token (by id). */
  credential?: { kind: 'bootstrap' } | { kind: 'session' | 'api'; tokenId: string } | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by access.require(); absent on routes that need no credentials. */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** The route needs no signed-in user (health, login, a gateway's enrolment with its own token). */
    public?: boolean;
  }
}

export type AccessHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface AccessControl {
  /** A preHandler: 401 without valid credentials, 403 when the principal's role is not one of `roles`. */
  require(...roles: Role[]): AccessHandler;
}

const accessHandlers = new WeakSet<object>();

/** Marks `handler` as an access check, so that signedInByDefault sees the route names its roles. */
export function accessCheck(handler: AccessHandler): AccessHandler {
  accessHandlers.add(handler);
  return handler;
}

type RouteHook = AccessHandler | ((...args: never[]) => unknown);
const hooksOf = (hooks: RouteHook | RouteHook[] | undefined): RouteHook[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

/**
 * Every route under /api/ needs a signed-in user unless its config says `public: true`: a route
 * that names no roles gets access.require(...ANY_ROLE). The access check of every route then runs
 * in onRequest, whichever hook the route named it in, so that a caller without credentials gets
 * 401 before the body is parsed or validated (no schema probing, no parsing for strangers).
 * Install before any route is registered.
 */
export function signedInByDefault(app: FastifyInstance, access: AccessControl): void {
  const anyone = access.require(...ANY_ROLE);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/') || route.config?.public === true) return;
    const preHandlers = hooksOf(route.preHandler as RouteHook | RouteHook[] | undefined);
    const checks = preHandlers.filter((hook) => accessHandlers.has(hook));
    route.preHandler = preHandlers.filter((hook) => !accessHandlers.has(hook)) as typeof route.preHandler;
    route.onRequest = [...(checks.length > 0 ? checks : [anyone]), ...hooksOf(route.onRequest as RouteHook | RouteHook[] | undefined)] as typeof route.onRequest;
    route.schema = { ...route.schema, security: route.schema?.security ?? [{ bearer: [] }] };
  });
}

/** The actor of an audit entry for this request (the signed-in user). */
export function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new Error(`route ${request.method} ${request.routeOptions.url ?? request.url} has no access check but needs an actor`);
  return request.principal.username;
}

/** The bearer token of the request, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

export function unauthorized(reply: FastifyReply, message = "this operation needs 'Authorization: Bearer <token>'"): ApiError {
  reply.header('WWW-Authenticate', 'Bearer realm="quanlink"');
  return new ApiError(401, 'Unauthorized', message);
}

export function forbidden(principal: Principal, roles: readonly Role[]): ApiError {
  return new ApiError(403, 'Forbidden', `user '${principal.username}' has role '${principal.role}'; this operation needs ${roles.join(' or ')}`);
}
