/**
 * Agent updates: upload a signed bundle (admin; verified against the cloud's trusted keys before it
 * is kept), list them, start a staged rollout (admin), watch and abort it; and the gateways' own
 * download route (HTTP Basic as the gateway: its id and MQTT password).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { verifySecret } from '../../auth/secrets.js';
import type { CloudStore } from '../../store/types.js';
import { checkUploadedBundle, UpdateVerifyError, type BundleFiles } from '../../updates/bundles.js';
import { DEFAULT_HEALTH_TIMEOUT_MS, type RolloutEngine } from '../../updates/rollout.js';
import { DuplicateUpdateError, type UpdateRecord } from '../../updates/types.js';
import { actorOf, ANY_ROLE, type AccessControl } from '../access.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { errorResponses } from '../schemas.js';
import { FIRMWARE_PRODUCT } from '@quanlink/contracts';
import { deviceFirmwareRoutes } from './device-firmware.js';
import {
  AbortRolloutBody,
  NewRolloutBody,
  RolloutDetailView,
  RolloutParams,
  RolloutView,
  UpdateParams,
  UpdateView,
} from '../update-schemas.js';

export const DEFAULT_MAX_BUNDLE_BYTES = 200 * 1024 * 1024;

export interface UpdateRouteDeps {
  store: CloudStore;
  access: AccessControl;
  bundles: BundleFiles;
  trustedKeys: ReadonlyMap<string, KeyObject>;
  rollouts: RolloutEngine;
  maxBundleBytes?: number | undefined;
}

const view = (update: UpdateRecord) => ({
  id: update.id,
  version: update.version,
  keyId: update.keyId,
  bundleSha256: update.bundleSha256,
  size: update.size,
  createdAt: update.createdAt,
  createdBy: update.createdBy,
  manifest: update.envelope.manifest,
});

const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

export async function updateRoutes(app: FastifyInstance, deps: UpdateRouteDeps): Promise<void> {
  const { store, access, bundles } = deps;
  const maxBundleBytes = deps.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;

  // Encapsulated: the raw-bytes body parser applies to these routes only.
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxBundleBytes }, (_request, body, done) => done(null, body));

    scope.post(
      '/api/v1/updates',
      {
        bodyLimit: maxBundleBytes,
        preHandler: access.require('admin'),
        schema: {
          tags: ['updates'],
          summary: 'Upload a signed update bundle (application/octet-stream, as written by `quanlink-edge update sign`); refused unless signed by a trusted key',
          security: [{ bearer: [] }],
          response: { 201: UpdateView, ...errorResponses(400, 401, 403, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        if (!Buffer.isBuffer(request.body)) throw new ApiError(415, 'UnsupportedMediaType', "send the bundle file as the body with 'Content-Type: application/octet-stream'");
        let checked;
        try {
          checked = checkUploadedBundle(request.body, deps.trustedKeys);
        } catch (err) {
          if (err instanceof UpdateVerifyError) throw new ApiError(400, err.code, `bundle refused: ${err.message}`);
          throw err;
        }
        const id = newId('upd');
        const actor = actorOf(request);
        await bundles.put(id, request.body);
        let update: UpdateRecord;
        try {
          update = await store.updates.addUpdate({ id, version: checked.envelope.manifest.version, keyId: checked.envelope.keyId, envelope: checked.envelope, bundleSha256: checked.bundleSha256, size: checked.size, createdAt: Date.now(), createdBy: actor });
        } catch (err) {
          await bundles.remove(id);
          if (err instanceof DuplicateUpdateError) throw new ApiError(409, 'Conflict', err.message);
          throw err;
        }
        await store.dispatch.appendAudit({
          at: update.createdAt,
          actor,
          action: 'update.upload',
          subject: `update:${id}`,
          details: { version: update.version, keyId: update.keyId, size: update.size, bundleSha256: update.bundleSha256 },
        });
        return reply.code(201).send(view(update));
      },
    );
  });

  app.get(
    '/api/v1/updates',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: { tags: ['updates'], summary: 'Uploaded updates, newest first', security: [{ bearer: [] }], response: { 200: Type.Object({ updates: Type.Array(UpdateView) }), ...errorResponses(401, 403) } },
    },
    async () => ({ updates: (await store.updates.listUpdates()).map(view) }),
  );

  app.get<{ Params: UpdateParams }>(
    '/api/v1/updates/:updateId',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: { tags: ['updates'], summary: 'One update with its signed manifest', security: [{ bearer: [] }], params: UpdateParams, response: { 200: UpdateView, ...errorResponses(400, 401, 403, 404) } },
    },
    async (request) => {
      const update = await store.updates.getUpdate(request.params.updateId);
      if (!update) throw notFound(`update '${request.params.updateId}' not found`);
      return view(update);
    },
  );

  // For gateways, not users: authenticated as the gateway itself, so it is not part of the user API document.
  app.get<{ Params: UpdateParams }>(
    '/api/v1/updates/:updateId/bundle',
    { config: { public: true }, schema: { hide: true, params: UpdateParams } },
    async (request, reply) => {
      const gatewayId = await authenticateGateway(store, request);
      if (!gatewayId) {
        reply.header('WWW-Authenticate', 'Basic realm="quanlink-gateways"');
        throw new ApiError(401, 'Unauthorized', 'a bundle is downloaded by a gateway: HTTP Basic with its id and MQTT password');
      }
      const update = await store.updates.getUpdate(request.params.updateId);
      const file = update && (await bundles.open(update.id));
      if (!update || !file) throw notFound(`update '${request.params.updateId}' not found`);
      request.log.info({ gateway: gatewayId, update: update.id, version: update.version, operation: 'download bundle' }, 'gateway downloads update bundle');
      return reply.header('content-type', 'application/octet-stream').header('content-length', file.size).send(file.stream);
    },
  );

  app.post<{ Body: NewRolloutBody }>(
    '/api/v1/rollouts',
    {
      preHandler: access.require('admin'),
      schema: {
        tags: ['updates'],
        summary: 'Start a staged rollout of an update to gateways, a site, or all; at most maxConcurrent at once, aborted when failures reach abortAfterFailures',
        security: [{ bearer: [] }],
        body: NewRolloutBody,
        response: { 201: RolloutDetailView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const chosen = [body.gateways !== undefined, body.site !== undefined, body.all === true].filter(Boolean).length;
      if (chosen !== 1) throw badRequest("give exactly one of body fields 'gateways', 'site' and 'all'");
      const update = await store.updates.getUpdate(body.updateId);
      if (!update) throw notFound(`update '${body.updateId}' not found`);
      if (update.envelope.manifest.product === FIRMWARE_PRODUCT) {
        throw badRequest(`update '${update.id}' is device firmware (${update.envelope.manifest.profile ?? '?'}): it goes to devices by POST /api/v1/gateways/{gatewayId}/devices/{deviceId}/firmware`);
      }
      let gatewayIds: string[];
      if (body.gateways) {
        gatewayIds = body.gateways;
        for (const id of gatewayIds) if (!(await store.getGateway(id))) throw badRequest(`body field 'gateways' names gateway '${id}', which is not registered`);
      } else if (body.site !== undefined) {
        if (!(await store.fleet.getSite(body.site))) throw badRequest(`body field 'site': no site '${body.site}'`);
        gatewayIds = (await store.fleet.listGatewayFleet({ siteId: body.site })).filter((g) => !g.revoked).map((g) => g.gatewayId);
      } else {
        gatewayIds = (await store.fleet.listGatewayFleet()).filter((g) => !g.revoked).map((g) => g.gatewayId);
      }
      if (gatewayIds.length === 0) throw badRequest(`the rollout would reach no gateway${body.site !== undefined ? ` (site '${body.site}' has none)` : ''}`);
      const threshold = body.abortAfterFailures ?? 1;
      const percent = typeof threshold === 'string' ? Number(threshold.slice(0, -1)) : null;
      const actor = actorOf(request);
      const now = Date.now();
      const rollout = await store.updates.createRollout({
        id: newId('ro'),
        updateId: update.id,
        gatewayIds,
        maxConcurrent: body.maxConcurrent ?? 1,
        perMinute: body.perMinute ?? null,
        abortAfterFailures: typeof threshold === 'number' ? threshold : null,
        abortAfterPercent: percent,
        healthTimeoutMs: body.healthTimeoutS !== undefined ? body.healthTimeoutS * 1000 : DEFAULT_HEALTH_TIMEOUT_MS,
        createdAt: now,
        createdBy: actor,
      });
      await store.dispatch.appendAudit({
        at: now,
        actor,
        action: 'rollout.create',
        subject: `rollout:${rollout.id}`,
        details: { updateId: update.id, version: update.version, gateways: gatewayIds.length, maxConcurrent: rollout.maxConcurrent, perMinute: rollout.perMinute, abortAfterFailures: threshold },
      });
      void deps.rollouts.poke();
      return reply.code(201).send(rollout);
    },
  );

  app.get(
    '/api/v1/rollouts',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: { tags: ['updates'], summary: 'Rollouts, newest first, with gateways per state', security: [{ bearer: [] }], response: { 200: Type.Object({ rollouts: Type.Array(RolloutView) }), ...errorResponses(401, 403) } },
    },
    async () => ({ rollouts: await store.updates.listRollouts() }),
  );

  app.get<{ Params: RolloutParams }>(
    '/api/v1/rollouts/:rolloutId',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: { tags: ['updates'], summary: 'One rollout with the state of each gateway', security: [{ bearer: [] }], params: RolloutParams, response: { 200: RolloutDetailView, ...errorResponses(400, 401, 403, 404) } },
    },
    async (request) => {
      const rollout = await store.updates.getRollout(request.params.rolloutId);
      if (!rollout) throw notFound(`rollout '${request.params.rolloutId}' not found`);
      return rollout;
    },
  );

  app.post<{ Params: RolloutParams; Body: AbortRolloutBody }>(
    '/api/v1/rollouts/:rolloutId/abort',
    {
      preHandler: access.require('admin'),
      schema: {
        tags: ['updates'],
        summary: 'Abort a running rollout: gateways not yet sent the update never get it (those updating finish)',
        security: [{ bearer: [] }],
        params: RolloutParams,
        body: AbortRolloutBody,
        response: { 200: RolloutDetailView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { rolloutId } = request.params;
      const rollout = await store.updates.getRollout(rolloutId);
      if (!rollout) throw notFound(`rollout '${rolloutId}' not found`);
      const actor = actorOf(request);
      const reason = `aborted by ${actor}${request.body?.reason ? `: ${request.body.reason}` : ''}`;
      const now = Date.now();
      if (!(await store.updates.finishRollout(rolloutId, 'aborted', reason, now))) throw new ApiError(409, 'Conflict', `rollout '${rolloutId}' is ${rollout.state}, not running`);
      await store.dispatch.appendAudit({ at: now, actor, action: 'rollout.abort', subject: `rollout:${rolloutId}`, details: { reason } });
      return (await store.updates.getRollout(rolloutId))!;
    },
  );

  deviceFirmwareRoutes(app, { store, access, rollouts: deps.rollouts }); // device firmware: one device at a time
}

/** The gateway id of a request with valid HTTP Basic gateway credentials, else undefined. */
async function authenticateGateway(store: CloudStore, request: FastifyRequest): Promise<string | undefined> {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const gatewayId = decoded.slice(0, colon);
  const hash = await store.gatewaySecretHash(gatewayId);
  if (hash === undefined || !(await verifySecret(decoded.slice(colon + 1), hash))) return undefined;
  const fleet = await store.fleet.gatewayFleet(gatewayId);
  return fleet?.revoked ? undefined : gatewayId;
}
