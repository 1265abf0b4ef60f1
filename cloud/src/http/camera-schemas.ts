/** Schemas of the camera routes: the camera registry, video events, lane counts from counting lines. */
import { Type, type Static } from '@sinclair/typebox';
import { CameraInfo, PIPELINE_STATES, type PipelineState } from '@quanlink/contracts';
import { VIDEO_EVENT_TYPES, type VideoEventType } from '../store/types.js';
import { Device, DeviceIdParam, GatewayIdParam, Limit, Nullable, TimeParam } from './schemas.js';

/** Enums (not unions of literals) so that a wrong value is answered with the allowed ones. */
const PipelineStateSchema = Type.Unsafe<PipelineState>({ type: 'string', enum: [...PIPELINE_STATES], description: 'analytics pipeline state' });
const VideoEventTypeSchema = Type.Unsafe<VideoEventType>({ type: 'string', enum: [...VIDEO_EVENT_TYPES] });

export const PipelineView = Type.Object({
  state: PipelineStateSchema,
  reason: Nullable(Type.String({ description: "why, when not running, e.g. 'RTSP 401 Unauthorized'" })),
  analysedFps: Nullable(Type.Number()),
  restarts: Nullable(Type.Integer()),
  since: Type.Integer({ description: 'when the gateway reported this state, epoch ms (edge clock)' }),
});

export const CameraView = Type.Composite([
  Device,
  Type.Object({
    camera: Nullable(CameraInfo),
    pipeline: Nullable(PipelineView),
    lastEventAt: Nullable(Type.Integer({ description: 'ts of the latest video event, epoch ms (edge clock)' })),
    gatewayOnline: Type.Boolean(),
    healthy: Type.Boolean({ description: 'gateway online, device not in error, pipeline running' }),
  }),
]);

export const CameraQuery = Type.Object({
  gateway: Type.Optional(GatewayIdParam),
  state: Type.Optional(PipelineStateSchema),
});
export type CameraQuery = Static<typeof CameraQuery>;

export const CameraParams = Type.Object({ gateway: GatewayIdParam, device: DeviceIdParam });
export type CameraParams = Static<typeof CameraParams>;

export const VideoEventQuery = Type.Object({
  gateway: Type.Optional(GatewayIdParam),
  device: Type.Optional(DeviceIdParam),
  type: Type.Optional(VideoEventTypeSchema),
  since: Type.Optional(TimeParam),
  until: Type.Optional(TimeParam),
  limit: Type.Optional(Limit),
  inline: Type.Optional(
    Type.Unsafe<'0' | '1' | 'true' | 'false'>({
      type: 'string',
      enum: ['0', '1', 'true', 'false'],
      description: '1: thumbnails inline as base64 in data.snapshot.thumbnail instead of by URL',
    }),
  ),
});
export type VideoEventQuery = Static<typeof VideoEventQuery>;

export const VideoEventView = Type.Object({
  id: Type.Integer({ description: "the store's id of the event" }),
  gatewayId: Type.String(),
  deviceId: Type.String(),
  stream: Type.String(),
  seq: Type.Integer(),
  ts: Type.Integer({ description: 'epoch ms (edge clock)' }),
  type: VideoEventTypeSchema,
  data: Type.Unknown({ description: 'the event data as the gateway sent it (the thumbnail only with inline=1)' }),
  snapshotId: Nullable(Type.String()),
  thumbnailUrl: Nullable(Type.String({ description: 'the thumbnail JPEG kept with the event' })),
  snapshotUrl: Nullable(Type.String({ description: 'the full snapshot, fetched from the gateway when not cached' })),
  thumbnailProblem: Nullable(Type.String({ description: "why the event's thumbnail was not kept" })),
  receivedAt: Type.Integer(),
});

export const VideoEventParams = Type.Object({ id: Type.Integer({ minimum: 1, description: 'video event id' }) });
export type VideoEventParams = Static<typeof VideoEventParams>;

export const SnapshotParams = Type.Object({
  gateway: GatewayIdParam,
  device: DeviceIdParam,
  snapshotId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'snapshot id, as in the event' }),
});
export type SnapshotParams = Static<typeof SnapshotParams>;

export const SinceUntilQuery = Type.Object({ since: Type.Optional(TimeParam), until: Type.Optional(TimeParam) });
export type SinceUntilQuery = Static<typeof SinceUntilQuery>;

export const LaneCountsView = Type.Object({
  gatewayId: Type.String(),
  deviceId: Type.String(),
  since: Nullable(Type.Integer()),
  until: Nullable(Type.Integer()),
  counts: Type.Array(
    Type.Object({
      line: Type.String({ description: 'counting line' }),
      lane: Nullable(Type.Integer({ description: 'null: a line with no lane' })),
      forward: Type.Integer(),
      reverse: Type.Integer(),
      total: Type.Integer(),
    }),
    { description: 'video.crossing events by counting line and lane' },
  ),
  lanes: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Object({ forward: Type.Integer(), reverse: Type.Integer(), total: Type.Integer() }), {
    description: 'lane number -> crossings, all lines of the lane',
  }),
  total: Type.Integer(),
});

/** A JPEG body (binary), for the OpenAPI document. */
export const JpegResponse = { description: 'JPEG image', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } };
