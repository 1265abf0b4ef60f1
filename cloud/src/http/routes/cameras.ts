/** Cameras: the registry (ONVIF info, pipeline state, health), video events with thumbnails, full snapshots, lane counts. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CommandTimeoutError, GatewayOfflineError } from '../../commands/command-client.js';
import { SnapshotFetchError, SnapshotNotFoundError, type SnapshotService } from '../../cameras/snapshots.js';
import { videoEventView } from '../../cameras/views.js';
import type { CloudStore } from '../../store/types.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { errorResponses } from '../schemas.js';
import { parseTimeParam } from '../time-param.js';
import {
  CameraParams,
  CameraQuery,
  CameraView,
  JpegResponse,
  LaneCountsView,
  SinceUntilQuery,
  SnapshotParams,
  VideoEventParams,
  VideoEventQuery,
  VideoEventView,
} from '../camera-schemas.js';
import { requireGateway } from './registry.js';

/** Thumbnails and snapshots never change under their id. */
const IMAGE_CACHE_CONTROL = 'private, max-age=86400, immutable';

function sinceUntil(query: { since?: string | undefined; until?: string | undefined }): { from?: number; to?: number } {
  const from = parseTimeParam('since', query.since);
  const to = parseTimeParam('until', query.until);
  if (from !== undefined && to !== undefined && from > to) {
    throw badRequest(`query parameter 'since' (${new Date(from).toISOString()}) is after 'until' (${new Date(to).toISOString()})`);
  }
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

async function requireCamera(store: CloudStore, gatewayId: string, deviceId: string) {
  await requireGateway(store, gatewayId);
  const camera = await store.getCamera(gatewayId, deviceId);
  if (!camera) throw notFound(`camera '${deviceId}' not found on gateway '${gatewayId}'`);
  return camera;
}

function sendJpeg(reply: FastifyReply, jpeg: Buffer, extra: Record<string, string> = {}) {
  return reply.type('image/jpeg').headers({ 'cache-control': IMAGE_CACHE_CONTROL, ...extra }).send(jpeg);
}

/** The API error of a failed snapshot fetch: the gateway's reason, with the status that says whose fault it is. */
function snapshotApiError(err: unknown): unknown {
  if (err instanceof GatewayOfflineError) return new ApiError(503, 'GatewayOffline', err.message);
  if (err instanceof CommandTimeoutError) return new ApiError(504, 'GatewayTimeout', err.message);
  if (err instanceof SnapshotNotFoundError) return new ApiError(404, 'SnapshotNotFound', err.message);
  if (err instanceof SnapshotFetchError) return new ApiError(502, 'BadGateway', err.message);
  return err;
}

export function cameraRoutes(app: FastifyInstance, store: CloudStore, snapshots: SnapshotService | undefined): void {
  app.get<{ Querystring: CameraQuery }>(
    '/api/v1/cameras',
    {
      schema: {
        tags: ['cameras'],
        summary: 'Every camera: ONVIF info and profiles (stream URIs never carry credentials), gateway, pipeline state, health, last event',
        querystring: CameraQuery,
        response: { 200: Type.Object({ cameras: Type.Array(CameraView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gateway, state } = request.query;
      if (gateway !== undefined) await requireGateway(store, gateway);
      return { cameras: await store.listCameras({ gatewayId: gateway, pipelineState: state }) };
    },
  );

  app.get<{ Params: CameraParams }>(
    '/api/v1/cameras/:gateway/:device',
    {
      schema: {
        tags: ['cameras'],
        summary: 'One camera',
        params: CameraParams,
        response: { 200: CameraView, ...errorResponses(400, 404) },
      },
    },
    async (request) => requireCamera(store, request.params.gateway, request.params.device),
  );

  app.get<{ Params: CameraParams; Querystring: SinceUntilQuery }>(
    '/api/v1/cameras/:gateway/:device/lane-counts',
    {
      schema: {
        tags: ['cameras'],
        summary: 'Vehicles (and other objects) that crossed counting lines, per lane and direction, from video.crossing events; since/until bound the event time',
        params: CameraParams,
        querystring: SinceUntilQuery,
        response: { 200: LaneCountsView, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gateway, device } = request.params;
      const range = sinceUntil(request.query);
      await requireCamera(store, gateway, device);
      const counts = await store.crossingCounts(gateway, device, range);
      const lanes: Record<string, { forward: number; reverse: number; total: number }> = {};
      let total = 0;
      for (const count of counts) {
        total += count.total;
        if (count.lane === null) continue;
        const lane = (lanes[String(count.lane)] ??= { forward: 0, reverse: 0, total: 0 });
        lane.forward += count.forward;
        lane.reverse += count.reverse;
        lane.total += count.total;
      }
      return { gatewayId: gateway, deviceId: device, since: range.from ?? null, until: range.to ?? null, counts, lanes, total };
    },
  );

  app.get<{ Querystring: VideoEventQuery }>(
    '/api/v1/video-events',
    {
      schema: {
        tags: ['cameras'],
        summary: 'Video events (crossings, alerts, zone periods, pipeline states), newest first; thumbnails by URL unless inline=1',
        querystring: VideoEventQuery,
        response: { 200: Type.Object({ events: Type.Array(VideoEventView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gateway, device, type, limit } = request.query;
      const inline = request.query.inline === '1' || request.query.inline === 'true';
      const range = sinceUntil(request.query);
      if (gateway !== undefined) await requireGateway(store, gateway);
      const events = await store.videoEvents({ gatewayId: gateway, deviceId: device, type, limit, includeThumbnails: inline, ...range });
      return { events: events.map((event) => videoEventView(event, inline)) };
    },
  );

  app.get<{ Params: VideoEventParams }>(
    '/api/v1/video-events/:id/thumbnail.jpg',
    {
      schema: {
        tags: ['cameras'],
        summary: 'The thumbnail JPEG kept with a video event',
        params: VideoEventParams,
        response: { 200: JpegResponse, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const event = await store.videoEvent(id);
      if (!event) throw notFound(`video event ${id} not found`);
      const jpeg = event.thumbnailBytes === null ? undefined : await store.videoThumbnail(id);
      if (!jpeg) throw notFound(`video event ${id} has no thumbnail${event.thumbnailProblem ? `: ${event.thumbnailProblem}` : ''}`);
      return sendJpeg(reply, jpeg);
    },
  );

  if (!snapshots) return;
  app.get<{ Params: SnapshotParams }>(
    '/api/v1/snapshots/:gateway/:device/:snapshotId.jpg',
    {
      schema: {
        tags: ['cameras'],
        summary: "A full snapshot: from the cloud's cache, else fetched from the gateway with snapshot.get (and cached)",
        description:
          '404 when the gateway no longer has it (SnapshotNotFound), 503 when the gateway is offline, 504 when it does not answer in time, 502 when it answers with an error.',
        params: SnapshotParams,
        response: { 200: JpegResponse, ...errorResponses(400, 404, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const { gateway, device, snapshotId } = request.params;
      await requireCamera(store, gateway, device);
      try {
        const snapshot = await snapshots.get(gateway, device, snapshotId);
        return sendJpeg(reply, snapshot.jpeg, { 'x-snapshot-source': snapshot.cached ? 'cache' : 'gateway' });
      } catch (err) {
        throw snapshotApiError(err);
      }
    },
  );
}
