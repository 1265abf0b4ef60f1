/** Detectors: their health (device state and active diagnostics) and their lane periods. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { CloudStore } from '../../store/types.js';
import { DeviceParams, errorResponses } from '../schemas.js';
import { parseTimeRange } from '../time-param.js';
import { DetectorHealthQuery, DetectorHealthView, LanePeriodQuery, LanePeriodView } from '../traffic-schemas.js';
import { requireDevice, requireGateway } from './registry.js';

export function detectorRoutes(app: FastifyInstance, store: CloudStore): void {
  app.get<{ Querystring: DetectorHealthQuery }>(
    '/api/v1/detector-health',
    {
      schema: {
        tags: ['traffic'],
        summary: 'Every detector: device state and active diagnostics (per lane, with since and detail)',
        querystring: DetectorHealthQuery,
        response: { 200: Type.Object({ detectors: Type.Array(DetectorHealthView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gatewayId } = request.query;
      if (gatewayId !== undefined) await requireGateway(store, gatewayId);
      return { detectors: await store.detectorHealth({ gatewayId }) };
    },
  );

  app.get<{ Params: DeviceParams; Querystring: LanePeriodQuery }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId/periods',
    {
      schema: {
        tags: ['traffic'],
        summary: "A detector's lane periods (NTCIP 1209 volume, occupancy, speed), newest first; from/to bound the period start",
        params: DeviceParams,
        querystring: LanePeriodQuery,
        response: { 200: Type.Object({ periods: Type.Array(LanePeriodView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gatewayId, deviceId } = request.params;
      const range = parseTimeRange(request.query);
      await requireDevice(store, gatewayId, deviceId);
      return { periods: await store.lanePeriods(gatewayId, deviceId, { ...range, lane: request.query.lane, limit: request.query.limit }) };
    },
  );
}
