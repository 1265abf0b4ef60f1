/**
 * Camera payloads: what a gateway's video analytics report (events through the outbox, device =
 * the camera) and what it says about its cameras. Per-lane volumes from counting lines travel as
 * `traffic.period` events of the camera, the same as a loop detector's, so the cloud aggregates
 * them the same way. Nothing here ever carries camera credentials.
 */
import { Type, type Static } from '@sinclair/typebox';

const EpochMs = Type.Integer({ minimum: 0, description: 'Unix epoch milliseconds' });
const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'id of a line or zone in the camera\'s analytics config' });
const Score = Type.Number({ minimum: 0, maximum: 1 });

/** Detected object kinds the analytics reason about (COCO car, bus, truck and motorbike are `vehicle`). */
export const OBJECT_KINDS = ['vehicle', 'person', 'bicycle', 'other'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** A box in frame pixels of the analysed stream (x1, y1) top left, (x2, y2) bottom right. */
export const Box = Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()]);

/**
 * A snapshot with the boxes drawn, kept on the gateway (under its disk budget). The event carries
 * a small JPEG copy (thumbnail) when it fits; the full one is fetched with the `snapshot.get` command.
 */
export const SnapshotRef = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    width: Type.Integer({ minimum: 1, maximum: 16384 }),
    height: Type.Integer({ minimum: 1, maximum: 16384 }),
    bytes: Type.Integer({ minimum: 1 }),
    /** Base64 JPEG, at most 48 KiB encoded: a size-limited copy for lists and dashboards. */
    thumbnail: Type.Optional(Type.String({ maxLength: 49152 })),
  },
  { additionalProperties: false },
);
export type SnapshotRef = Static<typeof SnapshotRef>;

/** A tracked object crossed a counting line. */
export const VideoCrossingData = Type.Object(
  {
    line: Name,
    lane: Type.Optional(Type.Integer({ minimum: 1, maximum: 999 })),
    /** Along the line's configured direction, or against it. */
    direction: Type.Union([Type.Literal('forward'), Type.Literal('reverse')]),
    trackId: Type.Integer({ minimum: 0 }),
    kind: Type.Union(OBJECT_KINDS.map((k) => Type.Literal(k))),
    /** The detector's class name, e.g. car, truck. */
    label: Type.String({ maxLength: 64 }),
    score: Score,
    box: Box,
    snapshot: Type.Optional(SnapshotRef),
  },
  { additionalProperties: false },
);
export type VideoCrossingData = Static<typeof VideoCrossingData>;

export const VIDEO_ALERT_KINDS = ['stopped-vehicle', 'wrong-way', 'restricted-zone', 'queue'] as const;
export type VideoAlertKind = (typeof VIDEO_ALERT_KINDS)[number];

/** A video alert began (onset) or ended (clear). */
export const VideoAlertData = Type.Object(
  {
    alert: Type.Union(VIDEO_ALERT_KINDS.map((k) => Type.Literal(k))),
    state: Type.Union([Type.Literal('onset'), Type.Literal('clear')]),
    /** The zone or line the alert is about. */
    where: Name,
    trackId: Type.Optional(Type.Integer({ minimum: 0 })),
    kind: Type.Optional(Type.Union(OBJECT_KINDS.map((k) => Type.Literal(k)))),
    since: EpochMs,
    detail: Type.String({ maxLength: 500 }),
    box: Type.Optional(Box),
    snapshot: Type.Optional(SnapshotRef),
  },
  { additionalProperties: false },
);
export type VideoAlertData = Static<typeof VideoAlertData>;

/** A zone's state over one sample period (queue length, occupancy). */
export const VideoZonePeriodData = Type.Object(
  {
    zone: Name,
    periodStart: EpochMs,
    periodS: Type.Integer({ minimum: 1, maximum: 3600 }),
    /** Share of analysed frames with at least one object in the zone, percent. */
    occupancy: Type.Number({ minimum: 0, maximum: 100 }),
    meanObjects: Type.Number({ minimum: 0 }),
    maxObjects: Type.Integer({ minimum: 0 }),
    /** Longest queue seen: stopped or slow vehicles in the zone, and its length along the zone in metres when calibrated. */
    maxQueueVehicles: Type.Integer({ minimum: 0 }),
    maxQueueMetres: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type VideoZonePeriodData = Static<typeof VideoZonePeriodData>;

export const PIPELINE_STATES = ['starting', 'running', 'stalled', 'reconnecting', 'error', 'stopped'] as const;
export type PipelineState = (typeof PIPELINE_STATES)[number];

/** A camera's analytics pipeline changed state (on change only). */
export const CameraPipelineData = Type.Object(
  {
    state: Type.Union(PIPELINE_STATES.map((s) => Type.Literal(s))),
    /** Why, when not running: e.g. 'model file missing: /opt/models/x.onnx', 'RTSP 401 Unauthorized'. */
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
    analysedFps: Type.Optional(Type.Number({ minimum: 0 })),
    restarts: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type CameraPipelineData = Static<typeof CameraPipelineData>;

/** What a gateway's birth says about a camera (ONVIF device information and media profiles), never credentials. */
export const CameraInfo = Type.Object(
  {
    manufacturer: Type.Optional(Type.String({ maxLength: 200 })),
    model: Type.Optional(Type.String({ maxLength: 200 })),
    firmware: Type.Optional(Type.String({ maxLength: 200 })),
    serial: Type.Optional(Type.String({ maxLength: 200 })),
    profiles: Type.Array(
      Type.Object(
        {
          token: Type.String({ maxLength: 200 }),
          name: Type.Optional(Type.String({ maxLength: 200 })),
          encoding: Type.Optional(Type.String({ maxLength: 32 })),
          width: Type.Optional(Type.Integer({ minimum: 1 })),
          height: Type.Optional(Type.Integer({ minimum: 1 })),
          /** rtsp://host:port/path without user or password. */
          streamUri: Type.Optional(Type.String({ maxLength: 1000, pattern: '^(?![a-z]+://[^/]*@)' })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 32 },
    ),
    /** The profile the analytics use. */
    activeProfile: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CameraInfo = Static<typeof CameraInfo>;

/** `snapshot.get` command args, and its ok result data. */
export const SnapshotGetArgs = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }, { additionalProperties: false });
export type SnapshotGetArgs = Static<typeof SnapshotGetArgs>;
export const SnapshotGetResult = Type.Object(
  { id: Type.String(), contentType: Type.Literal('image/jpeg'), base64: Type.String({ maxLength: 8 * 1024 * 1024 }) },
  { additionalProperties: false },
);
export type SnapshotGetResult = Static<typeof SnapshotGetResult>;
