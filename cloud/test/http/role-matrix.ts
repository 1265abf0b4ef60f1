/**
 * Who may call each route of the HTTP API: one entry per 'METHOD /openapi/path'. roles.test.ts
 * checks every route of the OpenAPI document against this table (a route without an entry fails),
 * so a new route needs a line here. Roles (common.md): viewer reads; controller also writes guidance
 * content (messages, rules, proposals); technician also provisions (enrolment tokens, gateways,
 * devices, sites, desired configuration, device tests); admin everything (users, revocation,
 * rotation, updates, rollouts).
 */
import { ROLES, type Role } from '../../src/http/access.js';

export interface MatrixEntry {
  /** The roles that may call the route, or 'public' (no token needed). */
  allowed: readonly Role[] | 'public';
  /**
   * The path to call; default: the OpenAPI path with each {param} replaced by 'matrix-none'
   * (a record that does not exist, so allowed calls change nothing; 404 is fine).
   */
  path?: string;
  /** Body of the allowed calls; default {} for POST, PUT and PATCH (a 400 is fine: it passed the role check). */
  body?: unknown;
}

export const ANYONE: readonly Role[] = ROLES;
export const ADMIN: readonly Role[] = ['admin'];
export const PROVISIONERS: readonly Role[] = ['admin', 'technician'];
export const GUIDANCE: readonly Role[] = ['admin', 'controller'];
/** Screen metadata (name, groups, segment, corridor, location): set up by technicians, arranged by controllers. */
export const SCREEN_EDITORS: readonly Role[] = ['admin', 'controller', 'technician'];

/** roles.test.ts creates this user (role viewer); token routes are checked on a user other than the caller. */
export const OTHER_USER = 'matrix-other';

export const ROLE_MATRIX: Record<string, MatrixEntry> = {
  // operations
  'GET /api/v1/health': { allowed: 'public' },

  // sign-in, users, API tokens
  'POST /api/v1/auth/login': { allowed: 'public', body: { username: 'matrix-viewer', password: 'matrix password 1' } },
  // Called with API tokens: 400 (not a session), so the role tokens survive.
  'POST /api/v1/auth/logout': { allowed: ANYONE },
  'GET /api/v1/auth/me': { allowed: ANYONE },
  'GET /api/v1/users': { allowed: ADMIN },
  'POST /api/v1/users': { allowed: ADMIN, body: { username: 'matrix-new', role: 'viewer', password: 'matrix password 1' } },
  'PATCH /api/v1/users/{username}': { allowed: ADMIN, body: { role: 'viewer' } },
  'DELETE /api/v1/users/{username}': { allowed: ADMIN },
  // Users manage their own tokens; someone else's need admin.
  'POST /api/v1/users/{username}/tokens': { allowed: ADMIN, path: `/api/v1/users/${OTHER_USER}/tokens`, body: { name: 'matrix' } },
  'GET /api/v1/users/{username}/tokens': { allowed: ADMIN, path: `/api/v1/users/${OTHER_USER}/tokens` },
  'DELETE /api/v1/users/{username}/tokens/{id}': { allowed: ADMIN, path: `/api/v1/users/${OTHER_USER}/tokens/0000000000000000` },

  // registry
  'GET /api/v1/gateways': { allowed: ANYONE },
  'POST /api/v1/gateways': { allowed: PROVISIONERS },
  'GET /api/v1/gateways/{gatewayId}': { allowed: ANYONE },
  'GET /api/v1/devices': { allowed: ANYONE },
  'GET /api/v1/gateways/{gatewayId}/devices/{deviceId}': { allowed: ANYONE },
  // Any device's map position: set up by technicians.
  'PUT /api/v1/gateways/{gatewayId}/devices/{deviceId}/placement': { allowed: PROVISIONERS, body: { location: { lat: 31.2, lon: 121.4 } } },

  // fleet: grid cells, sites, enrolment, revocation, rotation
  'GET /api/v1/grid-cells': { allowed: ANYONE },
  'GET /api/v1/grid-cells/{gridCellId}': { allowed: ANYONE },
  'PUT /api/v1/grid-cells/{gridCellId}': { allowed: PROVISIONERS },
  'DELETE /api/v1/grid-cells/{gridCellId}': { allowed: PROVISIONERS },
  'GET /api/v1/sites': { allowed: ANYONE },
  'GET /api/v1/sites/{siteId}': { allowed: ANYONE },
  'PUT /api/v1/sites/{siteId}': { allowed: PROVISIONERS },
  'DELETE /api/v1/sites/{siteId}': { allowed: PROVISIONERS },
  'POST /api/v1/enrolment-tokens': { allowed: PROVISIONERS },
  'GET /api/v1/enrolment-tokens': { allowed: PROVISIONERS },
  'POST /api/v1/enrolment-tokens/{tokenId}/revoke': { allowed: PROVISIONERS },
  // A gateway enrols with its one-time enrolment token, not a user's.
  'POST /api/v1/enrol': { allowed: 'public' },
  'GET /api/v1/gateways/{gatewayId}/fleet': { allowed: ANYONE },
  'PUT /api/v1/gateways/{gatewayId}/placement': { allowed: PROVISIONERS },
  'POST /api/v1/gateways/{gatewayId}/revoke': { allowed: ADMIN },
  'POST /api/v1/gateways/{gatewayId}/rotate-credentials': { allowed: ADMIN },
  'DELETE /api/v1/gateways/{gatewayId}/rotate-credentials': { allowed: ADMIN },

  // configuration shadow: desired (technicians) vs reported
  'GET /api/v1/gateways/{gatewayId}/config': { allowed: ANYONE },
  'PUT /api/v1/gateways/{gatewayId}/config': { allowed: PROVISIONERS, body: { config: { devices: [] } } },
  'GET /api/v1/gateways/{gatewayId}/config/history': { allowed: ANYONE },

  // stored data, traffic
  'GET /api/v1/gateways/{gatewayId}/devices/{deviceId}/readings': { allowed: ANYONE },
  'GET /api/v1/gateways/{gatewayId}/devices/{deviceId}/lane-totals': { allowed: ANYONE },
  'GET /api/v1/events': { allowed: ANYONE },
  'GET /api/v1/rejected-events': { allowed: ANYONE },
  'PUT /api/v1/segments/{segmentId}': { allowed: PROVISIONERS },
  'GET /api/v1/segments/{segmentId}': { allowed: ANYONE },
  'GET /api/v1/segments': { allowed: ANYONE },
  'GET /api/v1/segments/{segmentId}/history': { allowed: ANYONE },
  'GET /api/v1/segments/{segmentId}/grade-changes': { allowed: ANYONE },
  'GET /api/v1/detector-health': { allowed: ANYONE },
  'GET /api/v1/gateways/{gatewayId}/devices/{deviceId}/periods': { allowed: ANYONE },

  // cameras
  'GET /api/v1/cameras': { allowed: ANYONE },
  'GET /api/v1/cameras/{gateway}/{device}': { allowed: ANYONE },
  'GET /api/v1/cameras/{gateway}/{device}/lane-counts': { allowed: ANYONE },
  'GET /api/v1/video-events': { allowed: ANYONE },
  'GET /api/v1/video-events/{id}/thumbnail.jpg': { allowed: ANYONE, path: '/api/v1/video-events/999999/thumbnail.jpg' },
  'GET /api/v1/snapshots/{gateway}/{device}/{snapshotId}.jpg': { allowed: ANYONE, path: '/api/v1/snapshots/matrix-none/matrix-none/snap-1.jpg' },

  // guidance screens
  'POST /api/v1/messages': { allowed: GUIDANCE },
  'GET /api/v1/messages': { allowed: ANYONE },
  'GET /api/v1/messages/{id}': { allowed: ANYONE },
  'POST /api/v1/messages/{id}/cancel': { allowed: GUIDANCE },
  'POST /api/v1/messages/{id}/resend': { allowed: GUIDANCE },
  'GET /api/v1/dispatches': { allowed: ANYONE },
  'GET /api/v1/dispatches/{id}/history': { allowed: ANYONE },
  // Renders content, changes nothing.
  'POST /api/v1/preview': { allowed: ANYONE },
  'GET /api/v1/messages/{id}/pages/{n}.png': { allowed: ANYONE, path: '/api/v1/messages/matrix-none/pages/1.png' },
  'GET /api/v1/screens': { allowed: ANYONE },
  'PUT /api/v1/screens/{gateway}/{device}': { allowed: SCREEN_EDITORS },
  'GET /api/v1/audit': { allowed: ANYONE },
  'PUT /api/v1/guidance-rules/{id}': { allowed: GUIDANCE },
  'GET /api/v1/guidance-rules/{id}': { allowed: ANYONE },
  'DELETE /api/v1/guidance-rules/{id}': { allowed: GUIDANCE },
  'GET /api/v1/guidance-rules': { allowed: ANYONE },
  'GET /api/v1/guidance-proposals': { allowed: ANYONE },
  'POST /api/v1/guidance-proposals/{id}/approve': { allowed: GUIDANCE },
  'POST /api/v1/guidance-proposals/{id}/reject': { allowed: GUIDANCE },

  // agent updates and rollouts (a gateway's bundle download authenticates as the gateway: not in the user API document)
  // A JSON body is not a bundle: 415 for admin, after the role check.
  'POST /api/v1/updates': { allowed: ADMIN },
  'GET /api/v1/updates': { allowed: ANYONE },
  'GET /api/v1/updates/{updateId}': { allowed: ANYONE },
  'POST /api/v1/rollouts': { allowed: ADMIN },
  'GET /api/v1/rollouts': { allowed: ANYONE },
  'GET /api/v1/rollouts/{rolloutId}': { allowed: ANYONE },
  'POST /api/v1/rollouts/{rolloutId}/abort': { allowed: ADMIN },
  // device firmware: one device at a time (issue 6)
  'POST /api/v1/gateways/{gatewayId}/devices/{deviceId}/firmware': { allowed: ADMIN, body: { updateId: 'matrix-none' } },
  'GET /api/v1/gateways/{gatewayId}/devices/{deviceId}/firmware': { allowed: ANYONE },
};
