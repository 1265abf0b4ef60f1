/** The edge agent's local configuration (a human-readable JSON file kept with lowdb). */
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN, GATEWAY_ID_PATTERN } from '@quanlink/contracts';

const Port = Type.Integer({ minimum: 1, maximum: 65535 });

export const ModbusTcpTransport = Type.Object(
  {
    kind: Type.Literal('modbus-tcp'),
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Port,
    unitId: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

const RtuUnitId = Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus serial line §2.2: 1..247' });
const BaudRate = Type.Integer({ minimum: 1200, maximum: 921_600 });

/** RTU frames on an RS-485 line of the box (several devices share it by unit id). */
export const ModbusRtuTransport = Type.Object(
  {
    kind: Type.Literal('modbus-rtu'),
    path: Type.String({ minLength: 1, description: 'serial device, e.g. /dev/ttyUSB0' }),
    unitId: RtuUnitId,
    baudRate: Type.Optional(BaudRate),
    parity: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')])),
    stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

/** RTU frames through a serial-to-Ethernet converter in the roadside box. */
export const ModbusRtuTcpTransport = Type.Object(
  {
    kind: Type.Literal('modbus-rtu-tcp'),
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Port,
    unitId: RtuUnitId,
    /** Baud rate of the line behind the converter (sets the silence between frames). */
    baudRate: Type.Optional(BaudRate),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

/** A device that speaks JSON over MQTT (a gantry guidance screen) through a broker in the box or on the network. */
export const MqttTransport = Type.Object(
  {
    kind: Type.Literal('mqtt'),
    url: Type.String({ pattern: '^mqtts?://.+', maxLength: 253 }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    /** The device's topics; default from its profile ('{device}' stands for the device id). */
    topicBase: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^#+]+$' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

/** A camera found or added by its ONVIF device service: the stream URI comes from Media GetStreamUri. */
export const OnvifTransport = Type.Object(
  {
    kind: Type.Literal('onvif'),
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Port,
    /** Kept only in this (owner-only) file; never logged, never sent to the cloud. */
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** The media profile to analyse; default the camera's first. */
    profileToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

/** A camera added by its stream address; credentials live in their own fields, never in the URL. */
export const RtspTransport = Type.Object(
  {
    kind: Type.Literal('rtsp'),
    url: Type.String({ pattern: '^rtsps?://[^/@\\s]+(/\\S*)?$', maxLength: 1000, description: 'rtsp://host:port/path, without user or password' }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

export const Transport = Type.Union([ModbusTcpTransport, ModbusRtuTransport, ModbusRtuTcpTransport, MqttTransport, OnvifTransport, RtspTransport]);
export type Transport = Static<typeof Transport>;

/** Overrides of the diagnostic thresholds (see traffic/diagnostics.ts for the defaults). */
const DiagnosticOverrides = Type.Partial(
  Type.Object({
    commLossS: Type.Number({ minimum: 1 }),
    lockedOnOccupancy: Type.Number({ minimum: 1, maximum: 100 }),
    lockedOnS: Type.Number({ minimum: 1 }),
    noActivityS: Type.Number({ minimum: 1 }),
    chatterFlowVehH: Type.Number({ minimum: 1 }),
    intermittentCompleteness: Type.Number({ minimum: 1, maximum: 100 }),
    intermittentPeriods: Type.Integer({ minimum: 1 }),
    constantPeriods: Type.Integer({ minimum: 1 }),
  }),
  { additionalProperties: false },
);

/** How a detector's polls become sample periods. */
export const TrafficConfig = Type.Object(
  {
    /** Sample period in seconds, dividing an hour; NTCIP 1209 practice is 20, 30 or 60 (shorter ones are for tests). */
    periodS: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    /** Effective vehicle length (g-factor) for single-loop speed, metres: one value or per lane ("1": 6.2). */
    gMetres: Type.Optional(Type.Union([Type.Number({ minimum: 2, maximum: 30 }), Type.Record(Type.String({ pattern: '^[1-9][0-9]{0,2}$' }), Type.Number({ minimum: 2, maximum: 30 }), { additionalProperties: false })])),
    /** Speed assumed in free-flowing periods when re-fitting g, km/h. */
    freeFlowKmh: Type.Optional(Type.Number({ minimum: 10, maximum: 200 })),
    diagnostics: Type.Optional(DiagnosticOverrides),
  },
  { additionalProperties: false },
);
export type TrafficConfig = Static<typeof TrafficConfig>;

/** How a guidance screen (profile kind vms) is run. */
export const SignConfig = Type.Object(
  {
    /** MULTI shown when no message is active; blank when absent. */
    defaultMulti: Type.Optional(Type.String({ maxLength: 8192 })),
    /** How often the screen is read back to catch it showing something else, ms (default 5000). */
    readbackIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
    /** Attempts to show a message before it is reported failed (default 3). */
    retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type SignConfig = Static<typeof SignConfig>;

/** Which ONNX model a camera's detector runs (see video/analytics). No default path: the CLI and the demo pass one. */
export const ModelConfig = Type.Object(
  {
    /** Relative paths are relative to the config file. */
    path: Type.String({ minLength: 1, maxLength: 1000 }),
    decoder: Type.Union([Type.Literal('fastestdet'), Type.Literal('yolov5'), Type.Literal('yolov8')]),
    labelsPath: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    /** Refuse the file unless its sha256 is this (hex). */
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    scoreThreshold: Type.Optional(Type.Number({ minimum: 0.01, maximum: 1 })),
    nmsIou: Type.Optional(Type.Number({ minimum: 0.01, maximum: 1 })),
    threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  },
  { additionalProperties: false },
);

/** How a camera (profile kind camera) is analysed. */
export const VideoConfig = Type.Object(
  {
    /** Frames decoded per second (default 10). */
    fps: Type.Optional(Type.Number({ minimum: 0.2, maximum: 60 })),
    /** Size frames are decoded to; default the model's input size, so preprocessing is a copy. */
    width: Type.Optional(Type.Integer({ minimum: 16, maximum: 7680, multipleOf: 2 })),
    height: Type.Optional(Type.Integer({ minimum: 16, maximum: 4320, multipleOf: 2 })),
    model: ModelConfig,
    motionGate: Type.Optional(
      Type.Object(
        { threshold: Type.Optional(Type.Number({ minimum: 0 })), everyNthFrameAnyway: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) },
        { additionalProperties: false },
      ),
    ),
    /** Counting lines and zones, points normalised 0..1; checked in full by the analytics' checkAnalyticsConfig. */
    analytics: Type.Object(
      {
        lines: Type.Array(Type.Unknown(), { maxItems: 64 }),
        zones: Type.Array(Type.Unknown(), { maxItems: 64 }),
        periodS: Type.Integer({ minimum: 1, maximum: 3600 }),
      },
      { additionalProperties: true },
    ),
    snapshots: Type.Optional(
      Type.Object(
        {
          /** Disk space the camera's snapshots may use, MB (default 200); the oldest go first. */
          budgetMb: Type.Optional(Type.Number({ minimum: 0.1, maximum: 1_000_000 })),
          /** Largest thumbnail carried in an event, base64 characters (default 32768). */
          thumbnailMaxBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 49_152 })),
          /** Snapshots per second at most (default 2); events beyond carry none. */
          maxPerSecond: Type.Optional(Type.Number({ minimum: 0.01, maximum: 30 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** A stream without a frame for this long is restarted (default 5000 ms). */
    stallTimeoutMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
export type VideoConfig = Static<typeof VideoConfig>;

export const DeviceBinding = Type.Object(
  {
    id: Type.String({ pattern: DEVICE_ID_PATTERN }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    /** Id of a device profile (builtin or from profileDirs). */
    profile: Type.String({ minLength: 1 }),
    transport: Transport,
    pollIntervalMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 3_600_000 })),
    enabled: Type.Optional(Type.Boolean()),
    traffic: Type.Optional(TrafficConfig),
    /** Raw readings at the poll rate are kept on the gateway; `sync: true` also sends them to the cloud. */
    readings: Type.Optional(Type.Object({ sync: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
    sign: Type.Optional(SignConfig),
    /** Cameras: decoding, model, analytics, snapshots. */
    video: Type.Optional(VideoConfig),
  },
  { additionalProperties: false },
);
export type DeviceBinding = Static<typeof DeviceBinding>;

export const EdgeConfig = Type.Object(
  {
    gateway: Type.Object(
      { id: Type.String({ pattern: GATEWAY_ID_PATTERN }), name: Type.Optional(Type.String({ maxLength: 200 })) },
      { additionalProperties: false },
    ),
    cloud: Type.Object(
      {
        /** mqtt://host:port (or mqtts://). */
        url: Type.String({ pattern: '^mqtts?://.+' }),
        /** Defaults to the gateway id. */
        username: Type.Optional(Type.String({ minLength: 1 })),
        password: Type.Optional(Type.String({ minLength: 1 })),
        /** PEM file of the CA that signed the broker's certificate (mqtts); relative paths are relative to the config file. */
        caFile: Type.Optional(Type.String({ minLength: 1 })),
        keepaliveS: Type.Optional(Type.Integer({ minimum: 5, maximum: 3600 })),
      },
      { additionalProperties: false },
    ),
    /** Where the outbox lives; relative paths are relative to the config file. */
    dataDir: Type.String({ minLength: 1 }),
    /** Extra folders of device profiles, besides the builtin ones. */
    profileDirs: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    devices: Type.Array(DeviceBinding),
    link: Type.Optional(
      Type.Object(
        {
          batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          maxInFlight: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
          ackTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    telemetryIntervalS: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
    /** How long raw readings are kept on the gateway, hours (default 24). */
    readingsKeepHours: Type.Optional(Type.Number({ minimum: 0.01, maximum: 24 * 365 })),
    /** The local status API for technicians (technician/local-api.ts): default port 7878 on 127.0.0.1; port 0 turns it off. */
    localApi: Type.Optional(
      Type.Object(
        { port: Type.Integer({ minimum: 0, maximum: 65535 }), host: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })) },
        { additionalProperties: false },
      ),
    ),
    /**
     * The managed part (devices and settings, see config/managed.ts) as last applied from the cloud or
     * reported to it: its version and sha256. A file whose managed part no longer has this sha256 was
     * edited locally; the agent reports that at start.
     */
    managed: Type.Optional(
      Type.Object(
        {
          version: Type.Integer({ minimum: 0 }),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          appliedAt: Type.Integer({ minimum: 0 }),
          source: Type.Union([Type.Literal('cloud'), Type.Literal('local')]),
        },
        { additionalProperties: false },
      ),
    ),
    /** Agent updates (see update/): without trusted keys every update is refused. */
    updates: Type.Optional(
      Type.Object(
        {
          /** Ed25519 public keys whose signatures are trusted: PEM text, or a path to a PEM file (relative to the config file). */
          trustedKeys: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 16 }),
          /** How long a new release has to report healthy before the supervisor rolls back, seconds (default 60). */
          healthTimeoutS: Type.Optional(Type.Number({ minimum: 0.5, maximum: 3600 })),
          /** Largest bundle downloaded, bytes (default 200 MB). */
          maxBundleBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 2 * 1024 * 1024 * 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type EdgeConfig = Static<typeof EdgeConfig>;
