/**
 * The fleet: grid cells and sites (technician/admin write, everyone reads), one-time enrolment
 * tokens (technician/admin), enrolment by token (no bearer: the token is the credential; failures
 * are rate-limited per client address), and revocation and credential rotation of a gateway (admin).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '../../auth/rate-limit.js';
import { NoPendingRotationError, RotationError, type FleetService } from '../../fleet/service.js';
import { EnrolmentRefusedError, FleetConflictError, UnknownFleetRecordError, type EnrolmentRefusal } from '../../fleet/types.js';
import { UnknownGatewayError, type CloudStore } from '../../store/types.js';
import { actorOf, type AccessControl } from '../access.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import {
  EnrolBody,
  EnrolmentToken,
  EnrolmentTokenParams,
  EnrolmentTokenQuery,
  EnrolResponse,
  fleetView,
  GatewayFleet,
  GridCell,
  GridCellBody,
  GridCellParams,
  IssuedEnrolmentToken,
  NewEnrolmentTokenBody,
  PlacementBody,
  RevokeBody,
  RevokeResponse,
  RotateResponse,
  RotationCancelResponse,
  Site,
  SiteBody,
  SiteParams,
  SiteQuery,
} from '../fleet-schemas.js';
import { errorResponses, GatewayParams } from '../schemas.js';
import { requireGateway } from './registry.js';

export interface FleetRouteDeps {
  store: CloudStore;
  access: AccessControl;
  fleet: FleetService;
  /** Failed enrolments per client address; 10 in 10 minutes when absent. */
  enrolLimiter?: RateLimiter | undefined;
}

/** 401 for a token the cloud does not know; 410 for one that existed but is spent; 400/409 for the gateway id. */
const REFUSAL_STATUS: Record<EnrolmentRefusal, [number, string]> = {
  unknown: [401, 'Unauthorized'],
  used: [410, 'TokenUsed'],
  expired: [410, 'TokenExpired'],
  revoked: [410, 'TokenRevoked'],
  'gateway-id': [400, 'BadRequest'],
  'gateway-exists': [409, 'Conflict'],
};

function fleetApiError(err: unknown): unknown {
  if (err instanceof UnknownFleetRecordError || err instanceof UnknownGatewayError) return notFound(err.message);
  if (err instanceof FleetConflictError) return new ApiError(409, 'Conflict', err.message);
  if (err instanceof RangeError) return badRequest(err.message);
  return err;
}

async function mapped<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw fleetApiError(err);
  }
}

export function fleetRoutes(app: FastifyInstance, deps: FleetRouteDeps): void {
  const { store, access, fleet } = deps;
  const enrolLimiter = deps.enrolLimiter ?? new RateLimiter({ limit: 10, windowMs: 10 * 60_000 });
  const provisioners = access.require('admin', 'technician');
  const audit = (request: FastifyRequest, action: string, subject: string, details: Record<string, unknown>) =>
    store.dispatch.appendAudit({ at: Date.now(), actor: actorOf(request), action, subject, details });

  // ---- grid cells ----------------------------------------------------------------------------

  app.get('/api/v1/grid-cells', { schema: { tags: ['fleet'], summary: 'List grid cells (网格)', security: [{ bearer: [] }], response: { 200: Type.Object({ gridCells: Type.Array(GridCell) }), ...errorResponses(401) } } }, async () => ({
    gridCells: await store.fleet.listGridCells(),
  }));

  app.get<{ Params: Static<typeof GridCellParams> }>(
    '/api/v1/grid-cells/:gridCellId',
    { schema: { tags: ['fleet'], summary: 'One grid cell', security: [{ bearer: [] }], params: GridCellParams, response: { 200: GridCell, ...errorResponses(400, 401, 404) } } },
    async (request) => {
      const cell = await store.fleet.getGridCell(request.params.gridCellId);
      if (!cell) throw notFound(`grid cell '${request.params.gridCellId}' not found`);
      return cell;
    },
  );

  app.put<{ Params: Static<typeof GridCellParams>; Body: GridCellBody }>(
    '/api/v1/grid-cells/:gridCellId',
    {
      preHandler: provisioners,
      schema: {
        tags: ['fleet'],
        summary: 'Create a grid cell, or replace its name and outline',
        security: [{ bearer: [] }],
        params: GridCellParams,
        body: GridCellBody,
        response: { 200: GridCell, 201: GridCell, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const id = request.params.gridCellId;
      const { name, polygon, bbox } = request.body;
      if (bbox && (bbox[0] > bbox[2] || bbox[1] > bbox[3])) {
        throw badRequest(`body field 'bbox' of grid cell '${id}' must be [minLon, minLat, maxLon, maxLat] with min <= max`);
      }
      const { record, created } = await store.fleet.putGridCell({ id, name, polygon: polygon ?? null, bbox: bbox ?? null });
      await audit(request, created ? 'grid-cell.create' : 'grid-cell.update', `grid-cell:${id}`, { name });
      return reply.code(created ? 201 : 200).send(record);
    },
  );

  app.delete<{ Params: Static<typeof GridCellParams> }>(
    '/api/v1/grid-cells/:gridCellId',
    {
      preHandler: provisioners,
      schema: { tags: ['fleet'], summary: 'Delete a grid cell no site, gateway or token refers to', security: [{ bearer: [] }], params: GridCellParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) } },
    },
    async (request, reply) => {
      const id = request.params.gridCellId;
      if (!(await mapped(store.fleet.deleteGridCell(id)))) throw notFound(`grid cell '${id}' not found`);
      await audit(request, 'grid-cell.delete', `grid-cell:${id}`, {});
      return reply.code(204).send();
    },
  );

  // ---- sites ---------------------------------------------------------------------------------

  app.get<{ Querystring: Static<typeof SiteQuery> }>(
    '/api/v1/sites',
    { schema: { tags: ['fleet'], summary: 'List sites, optionally of one grid cell', security: [{ bearer: [] }], querystring: SiteQuery, response: { 200: Type.Object({ sites: Type.Array(Site) }), ...errorResponses(400, 401) } } },
    async (request) => ({ sites: await store.fleet.listSites({ gridCellId: request.query.gridCell }) }),
  );

  app.get<{ Params: Static<typeof SiteParams> }>(
    '/api/v1/sites/:siteId',
    { schema: { tags: ['fleet'], summary: 'One site', security: [{ bearer: [] }], params: SiteParams, response: { 200: Site, ...errorResponses(400, 401, 404) } } },
    async (request) => {
      const site = await store.fleet.getSite(request.params.siteId);
      if (!site) throw notFound(`site '${request.params.siteId}' not found`);
      return site;
    },
  );

  app.put<{ Params: Static<typeof SiteParams>; Body: SiteBody }>(
    '/api/v1/sites/:siteId',
    {
      preHandler: provisioners,
      schema: {
        tags: ['fleet'],
        summary: 'Create a site (a roadside box location), or replace its name, location, grid cell and address',
        security: [{ bearer: [] }],
        params: SiteParams,
        body: SiteBody,
        response: { 200: Site, 201: Site, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const id = request.params.siteId;
      const { name, location, gridCell, address } = request.body;
      const { record, created } = await mapped(store.fleet.putSite({ id, name, location: location ?? null, gridCellId: gridCell ?? null, address: address ?? null }));
      await audit(request, created ? 'site.create' : 'site.update', `site:${id}`, { name, gridCell: gridCell ?? null });
      return reply.code(created ? 201 : 200).send(record);
    },
  );

  app.delete<{ Params: Static<typeof SiteParams> }>(
    '/api/v1/sites/:siteId',
    {
      preHandler: provisioners,
      schema: { tags: ['fleet'], summary: 'Delete a site no gateway or token refers to', security: [{ bearer: [] }], params: SiteParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) } },
    },
    async (request, reply) => {
      const id = request.params.siteId;
      if (!(await mapped(store.fleet.deleteSite(id)))) throw notFound(`site '${id}' not found`);
      await audit(request, 'site.delete', `site:${id}`, {});
      return reply.code(204).send();
    },
  );

  // ---- enrolment tokens ------------------------------------------------------------------------

  app.post<{ Body: Static<typeof NewEnrolmentTokenBody> }>(
    '/api/v1/enrolment-tokens',
    {
      preHandler: provisioners,
      schema: {
        tags: ['fleet'],
        summary: 'Issue a one-time enrolment token bound to a site or grid cell; the token is shown only in this response',
        security: [{ bearer: [] }],
        body: NewEnrolmentTokenBody,
        response: { 201: IssuedEnrolmentToken, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { site, gridCell, gatewayId, gatewayIdPrefix, expiresInHours, note } = request.body;
      if (site === undefined && gridCell === undefined) throw badRequest("an enrolment token is bound to a site or a grid cell: give body field 'site' or 'gridCell'");
      if (gatewayId !== undefined && gatewayIdPrefix !== undefined) throw badRequest("give body field 'gatewayId' or 'gatewayIdPrefix', not both");
      const { token, record } = await mapped(fleet.issueToken({ siteId: site, gridCellId: gridCell, gatewayId, gatewayIdPrefix, expiresInHours, note }, actorOf(request)));
      request.log.info({ token: record.id, site, gridCell, operation: 'issue enrolment token' }, 'enrolment token issued');
      return reply.code(201).send({ token, ...record });
    },
  );

  app.get<{ Querystring: Static<typeof EnrolmentTokenQuery> }>(
    '/api/v1/enrolment-tokens',
    {
      preHandler: provisioners,
      schema: {
        tags: ['fleet'],
        summary: 'List enrolment tokens (never their secrets), newest first',
        security: [{ bearer: [] }],
        querystring: EnrolmentTokenQuery,
        response: { 200: Type.Object({ tokens: Type.Array(EnrolmentToken) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => ({ tokens: await store.fleet.listEnrolmentTokens({ state: request.query.state, siteId: request.query.site }) }),
  );

  app.post<{ Params: Static<typeof EnrolmentTokenParams> }>(
    '/api/v1/enrolment-tokens/:tokenId/revoke',
    {
      preHandler: provisioners,
      schema: {
        tags: ['fleet'],
        summary: 'Revoke an unused enrolment token',
        security: [{ bearer: [] }],
        params: EnrolmentTokenParams,
        response: { 200: EnrolmentToken, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => mapped(fleet.revokeToken(request.params.tokenId, actorOf(request))),
  );

  // ---- enrolment ---------------------------------------------------------------------------------

  const refuseTooMany = (reply: FastifyReply, retryAfterS: number) => {
    reply.header('Retry-After', String(retryAfterS));
    return new ApiError(429, 'TooManyRequests', `too many failed enrolments from this address; try again in ${retryAfterS} s`);
  };

  app.post<{ Body: Static<typeof EnrolBody> }>(
    '/api/v1/enrol',
    {
      config: { public: true },
      schema: {
        tags: ['fleet'],
        summary: 'Enrol a gateway with a one-time token (no bearer: the token is the credential); its password is shown only in this response',
        body: EnrolBody,
        response: { 201: EnrolResponse, ...errorResponses(400, 401, 409, 410, 429) },
      },
    },
    async (request, reply) => {
      const client = request.ip;
      const allowed = enrolLimiter.check(client);
      if (!allowed.allowed) throw refuseTooMany(reply, allowed.retryAfterS);
      const { token, gatewayId, name, hardware } = request.body;
      try {
        const enrolment = await fleet.enrol({ token, gatewayId, name, hardware });
        return reply.code(201).send({
          gatewayId: enrolment.gatewayId,
          password: enrolment.password,
          mqttUrl: mqttUrlFor(enrolment.mqttUrl, request.hostname),
          ...(enrolment.caCertPem !== undefined ? { caCertPem: enrolment.caCertPem } : {}),
          site: enrolment.token.siteId,
          gridCell: enrolment.token.gridCellId,
          reEnrolled: enrolment.reEnrolled,
        });
      } catch (err) {
        if (!(err instanceof EnrolmentRefusedError)) throw err;
        enrolLimiter.hit(client);
        request.log.warn({ client, reason: err.reason, gateway: gatewayId, operation: 'enrol gateway' }, 'enrolment refused');
        const [status, code] = REFUSAL_STATUS[err.reason];
        throw new ApiError(status, code, err.message);
      }
    },
  );

  // ---- gateways: placement, revocation, rotation -----------------------------------------------

  app.get<{ Params: Static<typeof GatewayParams> }>(
    '/api/v1/gateways/:gatewayId/fleet',
    { schema: { tags: ['fleet'], summary: "A gateway's site, grid cell, location, revocation and rotation state", security: [{ bearer: [] }], params: GatewayParams, response: { 200: GatewayFleet, ...errorResponses(400, 401, 404) } } },
    async (request) => {
      await requireGateway(store, request.params.gatewayId);
      return fleetView(await store.fleet.gatewayFleet(request.params.gatewayId));
    },
  );

  app.put<{ Params: Static<typeof GatewayParams>; Body: Static<typeof PlacementBody> }>(
    '/api/v1/gateways/:gatewayId/placement',
    {
      preHandler: provisioners,
      schema: { tags: ['fleet'], summary: 'Move a gateway to a site or grid cell (null clears)', security: [{ bearer: [] }], params: GatewayParams, body: PlacementBody, response: { 200: GatewayFleet, ...errorResponses(400, 401, 403, 404) } },
    },
    async (request) => {
      const id = request.params.gatewayId;
      const { site, gridCell } = request.body;
      const info = await mapped(store.fleet.placeGateway(id, { siteId: site, gridCellId: gridCell }));
      await audit(request, 'gateway.place', `gateway:${id}`, { site: info.siteId, gridCell: info.gridCellId });
      return fleetView(info);
    },
  );

  app.post<{ Params: Static<typeof GatewayParams>; Body: Static<typeof RevokeBody> }>(
    '/api/v1/gateways/:gatewayId/revoke',
    {
      preHandler: access.require('admin'),
      schema: {
        tags: ['fleet'],
        summary: 'Revoke a gateway: its live connection is closed and the broker refuses it until it is re-enrolled with a token naming it',
        security: [{ bearer: [] }],
        params: GatewayParams,
        body: RevokeBody,
        response: { 200: RevokeResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.gatewayId;
      const { fleet: info, disconnected } = await mapped(fleet.revoke(id, request.body.reason, actorOf(request)));
      return { gatewayId: id, disconnected, ...fleetView(info) };
    },
  );

  app.post<{ Params: Static<typeof GatewayParams> }>(
    '/api/v1/gateways/:gatewayId/rotate-credentials',
    {
      preHandler: access.require('admin'),
      schema: {
        tags: ['fleet'],
        summary: "Give an online gateway a new MQTT password over its own link; the old one works until it has reconnected with the new one",
        security: [{ bearer: [] }],
        params: GatewayParams,
        response: { 200: RotateResponse, ...errorResponses(400, 401, 403, 404, 409, 502, 504) },
      },
    },
    async (request) => {
      const id = request.params.gatewayId;
      await requireGateway(store, id);
      try {
        const { rotationStartedAt } = await fleet.rotate(id, actorOf(request));
        return { gatewayId: id, rotationStartedAt, message: `gateway '${id}' stored its new password; the old one is dropped when it reconnects with the new one` };
      } catch (err) {
        if (err instanceof RotationError) throw new ApiError(err.status, err.status === 409 ? 'Conflict' : err.status === 502 ? 'GatewayRefused' : 'GatewayTimeout', err.message);
        throw fleetApiError(err);
      }
    },
  );

  app.delete<{ Params: Static<typeof GatewayParams> }>(
    '/api/v1/gateways/:gatewayId/rotate-credentials',
    {
      preHandler: access.require('admin'),
      schema: {
        tags: ['fleet'],
        summary: 'Cancel an unconfirmed credential rotation: its new password is dropped, the current one stays; 404 when none is pending',
        security: [{ bearer: [] }],
        params: GatewayParams,
        response: { 200: RotationCancelResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.gatewayId;
      try {
        const { pendingSince } = await fleet.cancelRotation(id, actorOf(request));
        return { gatewayId: id, pendingSince, message: `the pending rotation of gateway '${id}' is cancelled; it keeps its current password` };
      } catch (err) {
        if (err instanceof NoPendingRotationError) throw notFound(err.message);
        throw fleetApiError(err);
      }
    },
  );
}

/** A broker listening on every interface is reached at the host the gateway used for the API. */
export function mqttUrlFor(mqttUrl: string, requestHostname: string): string {
  const url = new URL(mqttUrl);
  if (url.hostname !== '0.0.0.0' && url.hostname !== '[::]') return mqttUrl;
  const host = requestHostname.replace(/:\d+$/, '');
  return `${url.protocol}//${host}:${url.port}`;
}
