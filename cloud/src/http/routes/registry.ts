/** Gateways and devices: the registry, and enrolment of a gateway (admin only). */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../access.js';
import { withLocations } from './placement.js';
import { registerGateway } from '../../registry.js';
import { DuplicateGatewayError, type CloudStore } from '../../store/types.js';
import { ApiError, notFound } from '../errors.js';
import { FleetGateway, fleetView, GatewayDetail, GatewayListQuery } from '../fleet-schemas.js';
import {
  Device,
  DeviceParams,
  DeviceQuery,
  errorResponses,
  GatewayCredentials,
  GatewayParams,
  NewGatewayBody,
} from '../schemas.js';

export async function requireGateway(store: CloudStore, gatewayId: string) {
  const gateway = await store.getGateway(gatewayId);
  if (!gateway) throw notFound(`gateway '${gatewayId}' not found`);
  return gateway;
}

export async function requireDevice(store: CloudStore, gatewayId: string, deviceId: string) {
  await requireGateway(store, gatewayId);
  const device = await store.getDevice(gatewayId, deviceId);
  if (!device) throw notFound(`device '${deviceId}' not found on gateway '${gatewayId}'`);
  return device;
}

export function registryRoutes(app: FastifyInstance, store: CloudStore, access: AccessControl): void {
  app.get<{ Querystring: GatewayListQuery }>(
    '/api/v1/gateways',
    {
      schema: {
        tags: ['registry'],
        summary: 'List gateways with their site, grid cell and location; filter by site, grid cell, status, device kind or text',
        querystring: GatewayListQuery,
        response: { 200: Type.Object({ gateways: Type.Array(FleetGateway) }), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { site, gridCell, status, deviceKind, q } = request.query;
      const [gateways, placed] = await Promise.all([store.listGateways(), store.fleet.listGatewayFleet({ siteId: site, gridCellId: gridCell, status, deviceKind, q })]);
      const fleetById = new Map(placed.map((info) => [info.gatewayId, info]));
      return { gateways: gateways.filter((gateway) => fleetById.has(gateway.id)).map((gateway) => ({ ...gateway, ...fleetView(fleetById.get(gateway.id)) })) };
    },
  );

  app.get<{ Params: Static<typeof GatewayParams> }>(
    '/api/v1/gateways/:gatewayId',
    {
      schema: {
        tags: ['registry'],
        summary: 'One gateway with its site, grid cell, location and revocation (as in the list), and the sync state of its outbox streams',
        params: GatewayParams,
        response: { 200: GatewayDetail, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const gateway = await requireGateway(store, request.params.gatewayId);
      const [streams, fleet] = await Promise.all([store.streams(gateway.id), store.fleet.gatewayFleet(gateway.id)]);
      return { ...gateway, ...fleetView(fleet), streams };
    },
  );

  app.post<{ Body: NewGatewayBody }>(
    '/api/v1/gateways',
    {
      preHandler: access.require('admin', 'technician'),
      schema: {
        tags: ['registry'],
        summary: 'Enrol a gateway; its password is shown only in this response',
        security: [{ bearer: [] }],
        body: NewGatewayBody,
        response: { 201: GatewayCredentials, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { id, name, password } = request.body;
      try {
        const credentials = await registerGateway(store, id, name, password);
        request.log.info({ gateway: id, operation: 'register gateway' }, 'gateway registered');
        return reply.code(201).send(credentials);
      } catch (err) {
        if (err instanceof DuplicateGatewayError) throw new ApiError(409, 'Conflict', err.message);
        throw err;
      }
    },
  );

  app.get<{ Querystring: Static<typeof DeviceQuery> }>(
    '/api/v1/devices',
    {
      schema: {
        tags: ['registry'],
        summary: 'List devices, optionally of one gateway or one kind (removed devices included, flagged)',
        querystring: DeviceQuery,
        response: { 200: Type.Object({ devices: Type.Array(Device) }), ...errorResponses(400) },
      },
    },
    async (request) => ({ devices: await withLocations(store, await store.listDevices({ gatewayId: request.query.gatewayId, kind: request.query.kind }), request.query.gatewayId) }),
  );

  app.get<{ Params: Static<typeof DeviceParams> }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId',
    {
      schema: {
        tags: ['registry'],
        summary: 'One device',
        params: DeviceParams,
        response: { 200: Device, ...errorResponses(400, 404) },
      },
    },
    async (request) => (await withLocations(store, [await requireDevice(store, request.params.gatewayId, request.params.deviceId)], request.params.gatewayId))[0],
  );
}
