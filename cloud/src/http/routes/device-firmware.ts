/**
 * Device firmware (issue 6, "device firmware where a profile declares how"): an uploaded update of
 * product device-firmware (POST /api/v1/updates) is applied to one device (admin): the cloud sends
 * device.firmware.apply to its gateway, which answers at once (accepted, or refused with the reason:
 * wrong profile, a profile that cannot be updated in the field, an untrusted key...) and then reports
 * firmware.status events; GET shows the device's latest update as those events tell it.
 */
import { FIRMWARE_PRODUCT, type FirmwareStatusData } from '@quanlink/contracts';
import type { FastifyInstance } from 'fastify';
import { CommandTimeoutError, GatewayOfflineError } from '../../commands/command-client.js';
import type { CloudStore } from '../../store/types.js';
import type { RolloutEngine } from '../../updates/rollout.js';
import { actorOf, ANY_ROLE, type AccessControl } from '../access.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { DeviceParams, errorResponses } from '../schemas.js';
import { ApplyFirmwareBody, ApplyFirmwareView, DeviceFirmwareView } from '../device-firmware-schemas.js';

export interface DeviceFirmwareRouteDeps {
  store: CloudStore;
  access: AccessControl;
  rollouts: Pick<RolloutEngine, 'applyDeviceFirmware'>;
}

export function deviceFirmwareRoutes(app: FastifyInstance, deps: DeviceFirmwareRouteDeps): void {
  const { store, access } = deps;

  app.post<{ Params: DeviceParams; Body: ApplyFirmwareBody }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId/firmware',
    {
      preHandler: access.require('admin'),
      schema: {
        tags: ['updates'],
        summary: "Update one device's firmware with an uploaded device-firmware update for its profile; progress in GET",
        security: [{ bearer: [] }],
        params: DeviceParams,
        body: ApplyFirmwareBody,
        response: { 202: ApplyFirmwareView, ...errorResponses(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const { gatewayId, deviceId } = request.params;
      const update = await store.updates.getUpdate(request.body.updateId);
      if (!update) throw notFound(`update '${request.body.updateId}' not found`);
      const { manifest } = update.envelope;
      if (manifest.product !== FIRMWARE_PRODUCT) throw badRequest(`update '${update.id}' is ${manifest.product} ${update.version}, not device firmware: agent updates go out by POST /api/v1/rollouts`);
      const device = await store.getDevice(gatewayId, deviceId);
      if (!device || device.removed) throw notFound(`device '${deviceId}' of gateway '${gatewayId}' not found`);
      if (device.profile !== manifest.profile) {
        throw new ApiError(400, 'WrongProfile', `update '${update.id}' is firmware for profile ${manifest.profile ?? '(none)'}; device '${deviceId}' of gateway '${gatewayId}' is a ${device.profile ?? 'device of unknown profile'}`);
      }
      const actor = actorOf(request);
      const at = Date.now();
      let result;
      try {
        result = await deps.rollouts.applyDeviceFirmware(gatewayId, deviceId, update);
      } catch (err) {
        if (err instanceof GatewayOfflineError) throw new ApiError(409, 'GatewayOffline', `gateway '${gatewayId}' ${err.message.includes('not registered') ? 'is not registered' : 'is offline'}: the firmware update was not sent`);
        if (err instanceof CommandTimeoutError) throw new ApiError(503, 'GatewayTimeout', `gateway '${gatewayId}' did not answer device.firmware.apply for device '${deviceId}'`);
        throw err;
      }
      const details = { updateId: update.id, version: update.version, profile: manifest.profile ?? null, result: result.status === 'ok' ? 'accepted' : `${result.error.code}: ${result.error.message}` };
      await store.dispatch.appendAudit({ at, actor, action: 'device.firmware.apply', subject: `device:${gatewayId}/${deviceId}`, details });
      if (result.status === 'error') throw new ApiError(409, result.error.code, `gateway '${gatewayId}' refused the firmware for device '${deviceId}': ${result.error.message}`);
      request.log.info({ gateway: gatewayId, device: deviceId, update: update.id, version: update.version, operation: 'device.firmware.apply' }, 'device firmware update accepted');
      return reply.code(202).send({ accepted: true, gatewayId, deviceId, updateId: update.id, version: update.version, profile: manifest.profile! });
    },
  );

  app.get<{ Params: DeviceParams }>(
    '/api/v1/gateways/:gatewayId/devices/:deviceId/firmware',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: {
        tags: ['updates'],
        summary: "A device's latest firmware update as its gateway reported it (downloading ... transferring N %, rebooting, healthy or failed with the reason)",
        security: [{ bearer: [] }],
        params: DeviceParams,
        response: { 200: DeviceFirmwareView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { gatewayId, deviceId } = request.params;
      const device = await store.getDevice(gatewayId, deviceId);
      if (!device) throw notFound(`device '${deviceId}' of gateway '${gatewayId}' not found`);
      const events = await store.events({ gatewayId, device: deviceId, type: 'firmware.status' });
      // The store answers newest first.
      const entries = events.map((e) => ({ at: e.ts, ...(e.data as FirmwareStatusData) })).reverse();
      const latest = entries.at(-1) ?? null;
      return { gatewayId, deviceId, profile: device.profile, latest, history: latest ? entries.filter((e) => e.updateId === latest.updateId) : [] };
    },
  );
}
