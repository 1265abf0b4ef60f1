/**
 * Every payload edge and cloud exchange, one schema per topic channel (see topics.ts).
 * Version 1; a payload carries `v` so that a later version can be told apart.
 * Timestamps are Unix epoch milliseconds (integers).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Channel } from './topics.js';

export const CONTRACT_VERSION = 1 as const;

const V = Type.Literal(CONTRACT_VERSION, { description: 'contract version' });
const EpochMs = Type.Integer({ minimum: 0, description: 'Unix epoch milliseconds' });
const Seq = Type.Integer({ minimum: 1, description: 'per-gateway, per-stream sequence number' });
import { DEVICE_ID_PATTERN } from './ids.js';
import { SignDispatchData, SignStatusData } from './signs.js';
import { CameraInfo, CameraPipelineData, VideoAlertData, VideoCrossingData, VideoZonePeriodData } from './video.js';
import { ConfigReportedData } from './config.js';
import { UpdateStatusData } from './updates.js';
import { FirmwareStatusData } from './device-firmware.js';

export { DEVICE_ID_PATTERN };
const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id, unique within its gateway' });
/** An outbox stream: a fresh id whenever a gateway's outbox is created, so seq restarts are never mistaken for duplicates. */
const StreamId = Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' });
const ErrorInfo = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64, description: 'stable machine name, e.g. ModbusTimeout' }),
    message: Type.String({ maxLength: 2000 }),
    operation: Type.Optional(Type.String({ maxLength: 200, description: 'what was being done, e.g. read input 100+40' })),
  },
  { additionalProperties: false },
);
export type ErrorInfo = Static<typeof ErrorInfo>;

// ---- events (inside an event batch) -------------------------------------------------------

/** Raw values polled from a device, keyed by the profile's resolved point name (e.g. lane3.occupancy). */
export const ReadingData = Type.Object(
  { values: Type.Record(Type.String({ maxLength: 64 }), Type.Number(), { maxProperties: 1024 }) },
  { additionalProperties: false },
);
/** Vehicles counted per lane since the previous poll, derived on the edge from the card's cumulative counters. */
export const CountsData = Type.Object(
  {
    lanes: Type.Record(Type.String({ pattern: '^[1-9][0-9]{0,2}$' }), Type.Integer({ minimum: 0 }), { maxProperties: 256, additionalProperties: false }),
    /** Set when the card's counter went backwards (the card restarted): counts restart from its new value. */
    counterReset: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
/** A device's health changed (only changes are sent, never a heartbeat). */
export const DeviceStatusData = Type.Object(
  {
    state: Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('unreachable')]),
    error: Type.Optional(ErrorInfo),
  },
  { additionalProperties: false },
);

const LaneKey = Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'lane number, 1-based' });

/**
 * One lane's traffic in one sample period. Names follow NTCIP 1209 sensor zone data where one fits:
 * volume (vehicles), occupancy (percent of the period the zone was occupied), speed (mean, km/h).
 */
export const LanePeriod = Type.Object(
  {
    volume: Type.Integer({ minimum: 0 }),
    /** volume scaled to vehicles per hour. */
    flow: Type.Number({ minimum: 0 }),
    /** Mean occupancy over the samples the period got, percent. Absent when no sample had it. */
    occupancy: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Mean speed, km/h: measured by the card (dual loop), or estimated v = q*g/occ (single loop). */
    speed: Type.Optional(Type.Number({ minimum: 0, maximum: 300 })),
    speedSource: Type.Union([Type.Literal('measured'), Type.Literal('estimated'), Type.Literal('none')]),
    /** Vehicles by length class, when the card classifies. */
    classes: Type.Optional(
      Type.Object(
        { short: Type.Integer({ minimum: 0 }), medium: Type.Integer({ minimum: 0 }), long: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type LanePeriod = Static<typeof LanePeriod>;

/** A closed, clock-aligned sample period of one detector (periods start on the wall-clock boundary). */
export const TrafficPeriodData = Type.Object(
  {
    periodStart: EpochMs,
    periodS: Type.Integer({ minimum: 1, maximum: 3600 }),
    /** Share of the period's expected polls that succeeded, percent: a period that lost samples says so. */
    completeness: Type.Number({ minimum: 0, maximum: 100 }),
    lanes: Type.Record(LaneKey, LanePeriod, { maxProperties: 256, additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type TrafficPeriodData = Static<typeof TrafficPeriodData>;

/** Detector fault classes (PeMS / IRIS). */
export const DIAGNOSTIC_CONDITIONS = ['comm-loss', 'locked-on', 'no-activity', 'chatter', 'intermittent', 'constant'] as const;
export type DiagnosticCondition = (typeof DIAGNOSTIC_CONDITIONS)[number];

/** A detector fault began (onset) or ended (clear); a lane-less one concerns the whole device. */
export const DetectorDiagnosticData = Type.Object(
  {
    condition: Type.Union(DIAGNOSTIC_CONDITIONS.map((c) => Type.Literal(c))),
    state: Type.Union([Type.Literal('onset'), Type.Literal('clear')]),
    lane: Type.Optional(Type.Integer({ minimum: 1, maximum: 999 })),
    /** When the condition began (for a clear: the onset it ends). */
    since: EpochMs,
    detail: Type.String({ maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type DetectorDiagnosticData = Static<typeof DetectorDiagnosticData>;

export const EVENT_DATA_SCHEMAS = {
  reading: ReadingData,
  counts: CountsData,
  'device.status': DeviceStatusData,
  'traffic.period': TrafficPeriodData,
  'detector.diagnostic': DetectorDiagnosticData,
  'sign.dispatch': SignDispatchData,
  'sign.status': SignStatusData,
  'video.crossing': VideoCrossingData,
  'video.alert': VideoAlertData,
  'video.zone': VideoZonePeriodData,
  'camera.pipeline': CameraPipelineData,
  'config.reported': ConfigReportedData,
  'update.status': UpdateStatusData,
  'firmware.status': FirmwareStatusData,
} as const;
export type EventType = keyof typeof EVENT_DATA_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_DATA_SCHEMAS) as EventType[];
/** Event types that describe one device and are meaningless without `device`. */
export const DEVICE_EVENT_TYPES: ReadonlySet<string> = new Set<EventType>([
  'reading',
  'counts',
  'device.status',
  'traffic.period',
  'detector.diagnostic',
  'sign.dispatch',
  'sign.status',
  'video.crossing',
  'video.alert',
  'video.zone',
  'camera.pipeline',
  'firmware.status',
]);

export type EventDataMap = { [K in EventType]: Static<(typeof EVENT_DATA_SCHEMAS)[K]> };

const envelopeFields = {
  ts: EpochMs,
  type: Type.String({ minLength: 1, maxLength: 64 }),
  device: Type.Optional(DeviceId),
  data: Type.Object({}, { additionalProperties: true }),
};
/** An event as produced, before the outbox numbers it; `data` is checked against EVENT_DATA_SCHEMAS[type] (checkEvent). */
export const NewEventEnvelope = Type.Object(envelopeFields, { additionalProperties: false });
/** An event with its sequence number, as stored and sent. */
export const EventEnvelope = Type.Object({ seq: Seq, ...envelopeFields }, { additionalProperties: false });

export type GatewayEvent = {
  [K in EventType]: { seq: number; ts: number; type: K; device?: string; data: EventDataMap[K] };
}[EventType];
/** An event before the outbox gives it its sequence number. */
export type NewEvent = {
  [K in EventType]: { ts: number; type: K; device?: string; data: EventDataMap[K] };
}[EventType];

/**
 * In a batch only each event's seq is checked with the batch: one malformed event must be
 * quarantined on its own (checkEvent), never make its whole batch unacknowledgeable, which would
 * stall the gateway's outbox behind it.
 */
const BatchEventSlot = Type.Object({ seq: Seq }, { additionalProperties: true });
export type BatchEventSlot = { seq: number } & Record<string, unknown>;

export const EventBatch = Type.Object(
  {
    v: V,
    stream: StreamId,
    first: Seq,
    last: Seq,
    sentAt: EpochMs,
    events: Type.Array(BatchEventSlot, { minItems: 1, maxItems: 10000 }),
  },
  { additionalProperties: false },
);
export type EventBatch = Omit<Static<typeof EventBatch>, 'events'> & { events: BatchEventSlot[] };

// ---- cloud -> edge acknowledgement ---------------------------------------------------------

export const SyncedAck = Type.Object(
  {
    v: V,
    stream: StreamId,
    /** Every event of this stream with seq <= upTo is committed in the cloud's store. */
    upTo: Type.Integer({ minimum: 0 }),
    /** ok: the batch was committed (or was already); gap: the batch started after upTo + 1, resend from there. */
    status: Type.Union([Type.Literal('ok'), Type.Literal('gap')]),
    /** Events the cloud refused (kept in its quarantine with the reason); they still count as synced. */
    rejected: Type.Optional(
      Type.Array(Type.Object({ seq: Seq, error: Type.String() }, { additionalProperties: false }), { maxItems: 10000 }),
    ),
  },
  { additionalProperties: false },
);
export type SyncedAck = Static<typeof SyncedAck>;

// ---- gateway lifecycle ---------------------------------------------------------------------

/** Retained; the broker publishes the `offline` form as the gateway's last will. */
export const GatewayStatus = Type.Object(
  {
    v: V,
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    ts: EpochMs,
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type GatewayStatus = Static<typeof GatewayStatus>;

export const BirthDevice = Type.Object(
  {
    id: DeviceId,
    profile: Type.String({ minLength: 1, maxLength: 128 }),
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    /** Where the device is reached, without credentials (e.g. modbus-tcp://10.0.0.5:502/1). */
    endpoint: Type.Optional(Type.String({ maxLength: 300 })),
    /** Cameras: what ONVIF said about it (make, model, firmware, media profiles, stream URIs without credentials). */
    camera: Type.Optional(CameraInfo),
  },
  { additionalProperties: false },
);
export type BirthDevice = Static<typeof BirthDevice>;

export const GatewayBirth = Type.Object(
  {
    v: V,
    ts: EpochMs,
    agentVersion: Type.String({ maxLength: 64 }),
    startedAt: EpochMs,
    stream: StreamId,
    devices: Type.Array(BirthDevice, { maxItems: 4096 }),
    /** The version of the managed config the gateway runs (0: never set by the cloud); absent from agents older than issue 6. */
    configVersion: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type GatewayBirth = Static<typeof GatewayBirth>;

export const GatewayTelemetry = Type.Object(
  {
    v: V,
    ts: EpochMs,
    agentVersion: Type.String({ maxLength: 64 }),
    uptimeS: Type.Number({ minimum: 0 }),
    cpuPercent: Type.Number({ minimum: 0 }),
    memRssBytes: Type.Integer({ minimum: 0 }),
    outbox: Type.Object(
      { depth: Type.Integer({ minimum: 0 }), oldestTs: Type.Optional(EpochMs), lastSeq: Type.Integer({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    link: Type.Object(
      { ackRttMs: Type.Optional(Type.Number({ minimum: 0 })), reconnects: Type.Integer({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    /** The filesystem of the gateway's data directory; absent from agents older than issue 6. */
    disk: Type.Optional(
      Type.Object(
        { freeBytes: Type.Integer({ minimum: 0 }), totalBytes: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type GatewayTelemetry = Static<typeof GatewayTelemetry>;

// ---- commands ------------------------------------------------------------------------------

const TxId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'transaction id, echoed in the result' });

export const Command = Type.Object(
  {
    v: V,
    tx: TxId,
    name: Type.String({ pattern: '^[a-z][a-z0-9.-]{0,63}$' }),
    args: Type.Record(Type.String(), Type.Unknown()),
    issuedAt: EpochMs,
    /** The gateway must not act on a command after this time. */
    expiresAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false },
);
export type Command = Static<typeof Command>;

export const CommandResult = Type.Union([
  Type.Object(
    { v: V, tx: TxId, ts: EpochMs, status: Type.Literal('ok'), data: Type.Record(Type.String(), Type.Unknown()) },
    { additionalProperties: false },
  ),
  Type.Object(
    { v: V, tx: TxId, ts: EpochMs, status: Type.Literal('error'), error: ErrorInfo },
    { additionalProperties: false },
  ),
]);
export type CommandResult = Static<typeof CommandResult>;

/** The schema of each channel's payload. */
export const CHANNEL_SCHEMAS = {
  status: GatewayStatus,
  birth: GatewayBirth,
  events: EventBatch,
  'cmd/result': CommandResult,
  telemetry: GatewayTelemetry,
  synced: SyncedAck,
  cmd: Command,
} as const satisfies Record<Channel, TSchema>;

export interface ChannelPayloads {
  status: GatewayStatus;
  birth: GatewayBirth;
  events: EventBatch;
  'cmd/result': CommandResult;
  telemetry: GatewayTelemetry;
  synced: SyncedAck;
  cmd: Command;
}
