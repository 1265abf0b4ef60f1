/** JSON schemas (TypeBox) of the HTTP API: they validate requests, serialize responses and make the OpenAPI document. */
import { Type, type Static } from '@sinclair/typebox';
import {
  DetectorDiagnosticData,
  DeviceStatusData,
  DEVICE_ID_PATTERN,
  GATEWAY_ID_PATTERN,
  GatewayStatus,
  GatewayTelemetry,
} from '@quanlink/contracts';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../store/types.js';
import { MIN_PASSWORD_LENGTH } from '../registry.js';

export const ProblemSchema = Type.Object({
  page: Type.Integer({ description: '1-based page (0: the whole message)' }),
  line: Type.Optional(Type.Integer({ description: '1-based line of the page' })),
  position: Type.Optional(Type.Integer({ description: 'offset in the MULTI string' })),
  code: Type.String(),
  message: Type.String(),
  profile: Type.Optional(Type.String({ description: 'device profile whose sign it does not fit' })),
  screens: Type.Optional(Type.Array(Type.String(), { description: "'gateway/device' of the screens with that profile" })),
});

export const ErrorBody = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String() }),
    problems: Type.Optional(Type.Array(ProblemSchema, { description: 'content problems, when the content is what is wrong' })),
  },
  { description: 'Every error: a stable code and a message naming what is wrong' },
);

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const GatewayIdParam = Type.String({ pattern: GATEWAY_ID_PATTERN, description: 'gateway id' });
export const DeviceIdParam = Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id, unique within its gateway' });

export const Gateway = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  createdAt: Type.Integer({ description: 'epoch ms' }),
  online: Type.Boolean(),
  lastSeen: Nullable(Type.Integer({ description: 'epoch ms, cloud clock' })),
  lastStatus: Nullable(GatewayStatus),
  agentVersion: Nullable(Type.String()),
  startedAt: Nullable(Type.Integer()),
  telemetry: Nullable(GatewayTelemetry),
  telemetryAt: Nullable(Type.Integer()),
});

export const Stream = Type.Object({
  stream: Type.String(),
  syncedSeq: Type.Integer({ description: 'highest contiguous committed seq' }),
  firstSeq: Type.Integer(),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});


export const NewGatewayBody = Type.Object(
  {
    id: Type.String({ pattern: GATEWAY_ID_PATTERN }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    password: Type.Optional(Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256, description: 'generated when absent' })),
  },
  { additionalProperties: false },
);
export type NewGatewayBody = Static<typeof NewGatewayBody>;

export const GatewayCredentials = Type.Object(
  { id: Type.String(), password: Type.String({ description: 'shown only in this response' }) },
  { description: 'The gateway password is returned once, here, and never again' },
);

/** A device's place on the map, set by a technician (PUT .../devices/{deviceId}/placement). */
export const DeviceLocation = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lon: Type.Number({ minimum: -180, maximum: 180 }),
  bearing: Nullable(Type.Number({ minimum: 0, exclusiveMaximum: 360, description: 'degrees clockwise from north the device faces' })),
  note: Nullable(Type.String()),
  placedAt: Type.Integer(),
  placedBy: Type.String(),
});

export const Device = Type.Object({
  gatewayId: Type.String(),
  deviceId: Type.String(),
  profile: Nullable(Type.String()),
  kind: Nullable(Type.String()),
  name: Nullable(Type.String()),
  endpoint: Nullable(Type.String()),
  state: Type.Union([Type.Literal('unknown'), Type.Literal('ok'), Type.Literal('error'), Type.Literal('unreachable')]),
  lastError: Nullable(DeviceStatusData.properties.error),
  removed: Type.Boolean({ description: 'no longer listed in the gateway birth (kept, never deleted)' }),
  updatedAt: Type.Integer(),
  diagnostics: Type.Array(
    Type.Object({
      lane: Nullable(Type.Integer({ description: 'null: the whole device' })),
      condition: DetectorDiagnosticData.properties.condition,
      since: Type.Integer({ description: 'when the fault began, epoch ms (edge clock)' }),
      detail: Type.String(),
    }),
    { description: 'detector faults currently active (NTCIP 1209 / PeMS fault classes)' },
  ),
  location: Type.Optional(Nullable(DeviceLocation)),
});

export const DeviceQuery = Type.Object({
  gatewayId: Type.Optional(GatewayIdParam),
  kind: Type.Optional(Type.String({ maxLength: 64 })),
});

export const TimeParam = Type.String({ description: 'epoch milliseconds or ISO 8601 date-time' });
export const Limit = Type.Integer({ minimum: 1, maximum: MAX_QUERY_LIMIT, default: DEFAULT_QUERY_LIMIT });

export const TimeQuery = Type.Object({
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  limit: Type.Optional(Limit),
});
export type TimeQuery = Static<typeof TimeQuery>;

export const EventQuery = Type.Composite([
  Type.Object({
    gatewayId: Type.Optional(GatewayIdParam),
    deviceId: Type.Optional(DeviceIdParam),
    type: Type.Optional(Type.String({ maxLength: 64 })),
  }),
  TimeQuery,
]);
export type EventQuery = Static<typeof EventQuery>;

export const RejectedQuery = Type.Composite([Type.Object({ gatewayId: Type.Optional(GatewayIdParam) }), TimeQuery]);
export type RejectedQuery = Static<typeof RejectedQuery>;

export const Reading = Type.Object({
  stream: Type.String(),
  seq: Type.Integer(),
  ts: Type.Integer(),
  values: Type.Record(Type.String(), Type.Number()),
});

export const LaneTotals = Type.Object({
  lanes: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Integer(), { description: 'lane number -> vehicles counted' }),
  total: Type.Integer(),
});

export const Event = Type.Object({
  gatewayId: Type.String(),
  stream: Type.String(),
  seq: Type.Integer(),
  ts: Type.Integer(),
  type: Type.String(),
  device: Nullable(Type.String()),
  data: Type.Unknown(),
  receivedAt: Type.Integer(),
});

export const RejectedEvent = Type.Composite([Event, Type.Object({ reason: Type.String() })]);

export const IngestCounters = Type.Record(Type.String(), Type.Integer());

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  uptimeS: Type.Number(),
  mqtt: Type.Object({
    mode: Type.Union([Type.Literal('embedded'), Type.Literal('external')]),
    url: Type.String(),
    ingestConnected: Type.Boolean(),
    clients: Type.Optional(Type.Integer({ description: 'connected MQTT clients (embedded broker only)' })),
  }),
  ingest: IngestCounters,
});
export type Health = Static<typeof Health>;

export const GatewayParams = Type.Object({ gatewayId: GatewayIdParam });
export const DeviceParams = Type.Object({ gatewayId: GatewayIdParam, deviceId: DeviceIdParam });
export type GatewayParams = Static<typeof GatewayParams>;
export type DeviceParams = Static<typeof DeviceParams>;

export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, ErrorBody])) as Record<number, typeof ErrorBody>;
