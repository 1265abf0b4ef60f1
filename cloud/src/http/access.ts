/**
 * Who may call a route. Every route names the roles it admits through `access.require(...)`; the
 * request then carries its principal, whose username is the actor of audit entries.
 *
 * Roles: viewer reads; controller also writes guidance content (messages, rules, proposals);
 * technician also provisions (gateways' enrolment tokens, devices, desired configuration);
 * admin does everything, including users, revocation and updates.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { secretsEqual } from '../auth/secrets.js';
import { ApiError } from './errors.js';

export const ROLES = ['admin', 'controller', 'technician', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Anyone signed in. */
export const ANY_ROLE: readonly Role[] = ROLES;

export interface Principal {
  username: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by access.require(); absent on routes that need no credentials. */
    principal?: Principal;
  }
}

export type AccessHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface AccessControl {
  /** A preHandler: 401 without valid credentials, 403 when the principal's role is not one of `roles`. */
  require(...roles: Role[]): AccessHandler;
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

/** The bootstrap admin token alone: whoever holds it is user 'admin' with role admin. */
export function adminTokenAccess(adminToken: string): AccessControl {
  return {
    require(...roles: Role[]): AccessHandler {
      return async (request, reply) => {
        const token = bearerToken(request);
        if (token === undefined) throw unauthorized(reply);
        if (!secretsEqual(token, adminToken)) throw unauthorized(reply, 'the bearer token is not valid (unknown, expired or revoked)');
        const principal: Principal = { username: 'admin', role: 'admin' };
        if (!roles.includes(principal.role)) throw forbidden(principal, roles);
        request.principal = principal;
      };
    },
  };
}
