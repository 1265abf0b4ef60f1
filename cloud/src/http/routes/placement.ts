/**
 * Where devices stand on the map. Loop cards and cameras report no coordinates, so a technician
 * places them (from the dashboard's map, or here); device views carry the placement as `location`.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { UnknownDeviceError, type CloudStore, type DevicePlacement, type DeviceRecord } from '../../store/types.js';
import { actorOf, type AccessControl } from '../access.js';
import { notFound } from '../errors.js';
import { DevicePlacementBody } from '../placement-schemas.js';
import { DeviceLocation, DeviceParams, errorResponses } from '../schemas.js';
import { requireGateway } from './registry.js';

export interface PlacementRouteDeps {
  store: CloudStore;
  access: AccessControl;
}

function locationView(placement: DevicePlacement): Static<typeof DeviceLocation> {
  return { ...placement.location, bearing: placement.bearing, note: placement.note, placedAt: placement.placedAt, placedBy: placement.placedBy };
}

/** Device records with their `location` (null when not placed), for the device views. */
export async function withLocations<T extends DeviceRecord>(store: CloudStore, devices: T[], gatewayId?: string): Promise<(T & { location: Static<typeof DeviceLocation> | null })[]> {
  const placements = new Map((await store.devicePlacements(gatewayId)).map((p) => [`${p.gatewayId}\u0000${p.deviceId}`, p]));
  return devices.map((device) => {
    const placement = placements.get(`${device.gatewayId}\u0000${device.deviceId}`);
    return { ...device, location: placement ? locationView(placement) : null };
  });
}

export function placementRoutes(app: FastifyInstance, deps: PlacementRouteDeps): void {
  const { store, access } = deps;

  app.put<{ Params: Static<typeof DeviceParams>; Body: DevicePlacementBody }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId/placement',
    {
      preHandler: access.require('admin', 'technician'),
      schema: {
        tags: ['registry'],
        summary: "Place a device on the map (WGS 84), with the bearing it faces and a note; replaces its previous placement",
        security: [{ bearer: [] }],
        params: DeviceParams,
        body: DevicePlacementBody,
        response: { 200: DeviceLocation, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { gatewayId, deviceId } = request.params;
      const { location, bearing, note } = request.body;
      await requireGateway(store, gatewayId);
      const actor = actorOf(request);
      const at = Date.now();
      let placement: DevicePlacement;
      try {
        placement = await store.placeDevice({ gatewayId, deviceId, location, bearing: bearing ?? null, note: note ?? null, placedAt: at, placedBy: actor });
      } catch (err) {
        if (err instanceof UnknownDeviceError) throw notFound(`device '${deviceId}' not found on gateway '${gatewayId}'`);
        throw err;
      }
      request.log.info({ gateway: gatewayId, device: deviceId, location, operation: 'place device' }, 'device placed on the map');
      await store.dispatch.appendAudit({ at, actor, action: 'device.place', subject: `device:${gatewayId}/${deviceId}`, details: { location, bearing: placement.bearing, note: placement.note } });
      return locationView(placement);
    },
  );
}
