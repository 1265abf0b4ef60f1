/** Stored data: readings and lane totals of a device, the event log, the quarantine. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { CloudStore } from '../../store/types.js';
import { parseTimeRange } from '../time-param.js';
import {
  DeviceParams,
  errorResponses,
  Event,
  EventQuery,
  LaneTotals,
  Reading,
  RejectedEvent,
  RejectedQuery,
  TimeQuery,
} from '../schemas.js';
import { requireDevice } from './registry.js';

export function dataRoutes(app: FastifyInstance, store: CloudStore): void {
  app.get<{ Params: DeviceParams; Querystring: TimeQuery }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId/readings',
    {
      schema: {
        tags: ['data'],
        summary: 'Readings of a device, newest first',
        params: DeviceParams,
        querystring: TimeQuery,
        response: { 200: Type.Object({ readings: Type.Array(Reading) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gatewayId, deviceId } = request.params;
      const range = parseTimeRange(request.query);
      await requireDevice(store, gatewayId, deviceId);
      return { readings: await store.readings(gatewayId, deviceId, { ...range, limit: request.query.limit }) };
    },
  );

  app.get<{ Params: DeviceParams }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId/lane-totals',
    {
      schema: {
        tags: ['data'],
        summary: 'Vehicles counted per lane since the device was first seen',
        params: DeviceParams,
        response: { 200: LaneTotals, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gatewayId, deviceId } = request.params;
      await requireDevice(store, gatewayId, deviceId);
      return store.laneTotals(gatewayId, deviceId);
    },
  );

  app.get<{ Querystring: EventQuery }>(
    '/api/v1/events',
    {
      schema: {
        tags: ['data'],
        summary: 'Stored events, newest first',
        querystring: EventQuery,
        response: { 200: Type.Object({ events: Type.Array(Event) }), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { gatewayId, deviceId, type, limit } = request.query;
      const range = parseTimeRange(request.query);
      return { events: await store.events({ gatewayId, device: deviceId, type, limit, ...range }) };
    },
  );

  app.get<{ Querystring: RejectedQuery }>(
    '/api/v1/rejected-events',
    {
      schema: {
        tags: ['data'],
        summary: 'Quarantined events (data that failed its schema), with the reason, newest first',
        querystring: RejectedQuery,
        response: { 200: Type.Object({ events: Type.Array(RejectedEvent) }), ...errorResponses(400) },
      },
    },
    async (request) => {
      const range = parseTimeRange(request.query);
      return { events: await store.rejectedEvents({ gatewayId: request.query.gatewayId, limit: request.query.limit, ...range }) };
    },
  );
}
