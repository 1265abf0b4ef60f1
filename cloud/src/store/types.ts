/**
 * The cloud's persistence contract. Every method returns a Promise so that a networked
 * implementation (PostgreSQL) fits the same interface as the embedded SQLite one; the shared
 * conformance suite (test/store/conformance.ts) is what every implementation must pass.
 */
import type {
  CameraInfo,
  DiagnosticCondition,
  ErrorInfo,
  EventBatch,
  GatewayBirth,
  GatewayEvent,
  GatewayStatus,
  GatewayTelemetry,
  LanePeriod,
  PipelineState,
} from '@quanlink/contracts';
import type { GradeBasis, GradeCode, RoadClass } from '../traffic/grades.js';
import type { DispatchChange, DispatchStore, ScreenCondition } from '../dispatch/types.js';
import type { FleetStore } from '../fleet/types.js';
import type { UpdateStore } from '../updates/types.js';
import type { UserStore } from '../auth/types.js';
import type { ConfigStore } from '../config-shadow/types.js';

export type DeviceState = 'unknown' | 'ok' | 'error' | 'unreachable';

/** A gateway as the registry shows it; never carries the password hash. */
export interface GatewayRecord {
  id: string;
  name: string | null;
  createdAt: number;
  online: boolean;
  /** When the cloud last heard anything from the gateway (cloud clock, epoch ms). */
  lastSeen: number | null;
  lastStatus: GatewayStatus | null;
  agentVersion: string | null;
  /** From the latest birth: when the agent process started. */
  startedAt: number | null;
  telemetry: GatewayTelemetry | null;
  telemetryAt: number | null;
}

export interface NewGateway {
  id: string;
  name?: string | undefined;
  /** Output of hashSecret(); the plain password never reaches the store. */
  passwordHash: string;
  createdAt?: number | undefined;
}

export interface DeviceRecord {
  gatewayId: string;
  deviceId: string;
  /** Null for a device the cloud has heard events from but that no birth has described yet. */
  profile: string | null;
  kind: string | null;
  name: string | null;
  endpoint: string | null;
  /** 'unknown' until the first device.status event. */
  state: DeviceState;
  lastError: ErrorInfo | null;
  /** True when the gateway's latest birth no longer lists the device (kept, never deleted). */
  removed: boolean;
  updatedAt: number;
  /** Detector faults currently active (from detector.diagnostic events), by lane then condition. */
  diagnostics: ActiveDiagnostic[];
}

export interface ActiveDiagnostic {
  /** Null when the fault concerns the whole device. */
  lane: number | null;
  condition: DiagnosticCondition;
  /** When the fault began (edge clock, epoch ms). */
  since: number;
  detail: string;
}

export interface DeviceFilter {
  gatewayId?: string | undefined;
  kind?: string | undefined;
}

/** An event whose data failed its type's schema; quarantined with the reason. */
export interface RejectedEventInput {
  seq: number;
  ts: number;
  type: string;
  device?: string | undefined;
  data: unknown;
  reason: string;
}

export type IngestStatus = 'ok' | 'gap';

export interface IngestResult {
  /** ok: committed (or already was); gap: the batch started after upTo + 1 and nothing was committed. */
  status: IngestStatus;
  /** Every event of the stream with seq <= upTo is committed. */
  upTo: number;
  /** Valid events newly stored (their projections were applied exactly once). */
  inserted: number;
  /** Newly quarantined rejected events. */
  quarantined: number;
  /** Events (valid or rejected) that were already stored. */
  duplicates: number;
  /** Present only when the batch changed the traffic state grade of a road segment. */
  gradeChanges?: GradeChange[];
  /** Present only when the batch's sign.dispatch events moved (or were refused moving) dispatch records. */
  dispatchChanges?: DispatchChange[];
  /** Present only when the batch's sign.status events changed a screen's condition. */
  screenChanges?: ScreenCondition[];
  /** Valid events the store quarantined (e.g. a sign.dispatch for an unknown dispatch), with the reason (again on a resend). */
  storeRejected?: { seq: number; reason: string }[];
  /** Present only when the batch stored video events (video.*, camera.pipeline), as stored (thumbnails not included). */
  videoEvents?: VideoEventRecord[];
  /** Present only when the batch's camera.pipeline events changed a camera's pipeline state. */
  pipelineChanges?: PipelineChange[];
}

export interface BatchToIngest {
  gatewayId: string;
  batch: Pick<EventBatch, 'stream' | 'first' | 'last'>;
  valid: readonly GatewayEvent[];
  rejected: readonly RejectedEventInput[];
}

export interface StreamRecord {
  gatewayId: string;
  stream: string;
  /** Highest contiguous committed seq. */
  syncedSeq: number;
  /** The seq the cloud first accepted this stream from (events before it were never seen). */
  firstSeq: number;
  createdAt: number;
  updatedAt: number;
}

export interface TimeRange {
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
}

export interface ReadingRecord {
  gatewayId: string;
  deviceId: string;
  stream: string;
  seq: number;
  ts: number;
  values: Record<string, number>;
}

export interface LaneTotals {
  /** Lane number (as a string key, like the counts event) -> vehicles counted. */
  lanes: Record<string, number>;
  total: number;
}

export interface EventFilter extends TimeRange {
  gatewayId?: string | undefined;
  device?: string | undefined;
  type?: string | undefined;
}

export interface StoredEvent {
  gatewayId: string;
  stream: string;
  seq: number;
  ts: number;
  type: string;
  device: string | null;
  data: unknown;
  receivedAt: number;
}

export interface RejectedFilter extends TimeRange {
  gatewayId?: string | undefined;
}

export interface StoredRejectedEvent extends StoredEvent {
  reason: string;
}

// ---- traffic: lane periods, road segments, detector health ------------------------------

/** One lane of one detector, as the traffic.period events name it. */
export interface LaneRef {
  gatewayId: string;
  deviceId: string;
  /** 1..999 */
  lane: number;
}

export interface SegmentDefinition {
  id: string;
  name: string;
  roadClass: RoadClass;
  /** The lanes that make up the segment; a lane belongs to at most one segment. */
  lanes: LaneRef[];
}

export interface SegmentRecord extends SegmentDefinition {
  createdAt: number;
  updatedAt: number;
}

export interface PutSegmentResult {
  segment: SegmentRecord;
  /** False when an existing segment was replaced. */
  created: boolean;
}

/** A segment's traffic and GB/T 33171 grade in one period (series are per period length). */
export interface SegmentPeriod {
  segmentId: string;
  periodStart: number;
  periodS: number;
  /** Vehicles, all reporting lanes. */
  volume: number;
  /** Percent, mean over reporting lanes; null when no lane measured it. */
  occupancy: number | null;
  /** Space-mean speed, km/h; null when absent (no vehicles, or no lane with a speed). */
  speed: number | null;
  grade: GradeCode;
  gradeBasis: GradeBasis;
  lanesReporting: number;
  lanesTotal: number;
  /** Percent: mean lane completeness x lanesReporting / lanesTotal. */
  completeness: number;
  updatedAt: number;
}

export interface SegmentState {
  segment: SegmentRecord;
  /** The latest period, or null before any lane of the segment has reported. */
  current: SegmentPeriod | null;
}

/** The grade of a segment's period differs from that of its previous period. */
export interface GradeChange {
  segmentId: string;
  periodStart: number;
  periodS: number;
  fromGrade: GradeCode;
  toGrade: GradeCode;
  speed: number | null;
  /** When the cloud recorded the change (cloud clock). */
  at: number;
}

export interface LanePeriodRecord {
  gatewayId: string;
  deviceId: string;
  lane: number;
  periodStart: number;
  periodS: number;
  volume: number;
  flow: number;
  occupancy: number | null;
  speed: number | null;
  speedSource: LanePeriod['speedSource'];
  /** The detector's completeness of the period, percent. */
  completeness: number;
  classes: NonNullable<LanePeriod['classes']> | null;
  receivedAt: number;
}

export interface LanePeriodFilter extends TimeRange {
  lane?: number | undefined;
}

/** A device that detects traffic (a loop detector, or any device that reported periods or diagnostics). */
export interface DetectorHealth extends DeviceRecord {
  /** Start of the latest period it reported, or null. */
  lastPeriodStart: number | null;
  /** state 'ok' and no active diagnostic. */
  healthy: boolean;
}

// ---- cameras: registry, video events, snapshot cache -------------------------------------

export const VIDEO_EVENT_TYPES = ['video.crossing', 'video.alert', 'video.zone', 'camera.pipeline'] as const;
export type VideoEventType = (typeof VIDEO_EVENT_TYPES)[number];
export const isVideoEventType = (type: string): type is VideoEventType => (VIDEO_EVENT_TYPES as readonly string[]).includes(type);

/** A camera's analytics pipeline as its latest camera.pipeline event says. */
export interface PipelineStatus {
  state: PipelineState;
  reason: string | null;
  analysedFps: number | null;
  restarts: number | null;
  /** When the gateway reported it (edge clock). */
  since: number;
}

export interface PipelineChange extends PipelineStatus {
  gatewayId: string;
  deviceId: string;
}

/** A device of kind 'camera' (or any device a birth described with camera info). */
export interface CameraRecord extends DeviceRecord {
  /** From the latest birth that described it; stream URIs never carry credentials. */
  camera: CameraInfo | null;
  pipeline: PipelineStatus | null;
  /** ts of its latest video event (edge clock), or null. */
  lastEventAt: number | null;
  gatewayOnline: boolean;
  /** Gateway online, device not in error, pipeline running. */
  healthy: boolean;
}

export interface CameraFilter {
  gatewayId?: string | undefined;
  pipelineState?: PipelineState | undefined;
}

export interface VideoEventFilter extends TimeRange {
  gatewayId?: string | undefined;
  deviceId?: string | undefined;
  type?: VideoEventType | undefined;
  /** Fill `thumbnail` of each record. */
  includeThumbnails?: boolean | undefined;
}

export interface VideoEventRecord {
  /** The store's id of the event (stable; names its thumbnail). */
  id: number;
  gatewayId: string;
  deviceId: string;
  stream: string;
  seq: number;
  ts: number;
  type: VideoEventType;
  /** The event's data; a snapshot's base64 thumbnail is kept apart (see thumbnailBytes). */
  data: Record<string, unknown>;
  /** The snapshot the event refers to (fetchable from the gateway), or null. */
  snapshotId: string | null;
  /** Size of the stored thumbnail JPEG, or null when the event brought none (or a bad one). */
  thumbnailBytes: number | null;
  /** Why the event's thumbnail was not kept (the event was). */
  thumbnailProblem: string | null;
  receivedAt: number;
  /** Only with includeThumbnails. */
  thumbnail?: Buffer | undefined;
}

/** video.crossing events of a camera counted per counting line, lane and direction. */
export interface CrossingCount {
  line: string;
  /** Null for crossings of a line with no lane. */
  lane: number | null;
  forward: number;
  reverse: number;
  total: number;
}

export interface NewCachedSnapshot {
  gatewayId: string;
  deviceId: string;
  snapshotId: string;
  jpeg: Buffer;
  fetchedAt: number;
}

export interface CacheSnapshotResult {
  /** False when the snapshot alone is larger than the whole cache. */
  stored: boolean;
  /** Older snapshots removed to stay within the budget. */
  evicted: number;
}

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 10_000;

export class DuplicateGatewayError extends Error {
  override readonly name = 'DuplicateGatewayError';
  constructor(readonly gatewayId: string) {
    super(`gateway '${gatewayId}' already exists`);
  }
}

export class UnknownGatewayError extends Error {
  override readonly name = 'UnknownGatewayError';
  constructor(readonly gatewayId: string, operation: string) {
    super(`${operation}: gateway '${gatewayId}' is not registered`);
  }
}

export class UnknownSegmentError extends Error {
  override readonly name = 'UnknownSegmentError';
  constructor(readonly segmentId: string) {
    super(`segment '${segmentId}' not found`);
  }
}

/** The definition breaks a rule (id, name, road class, lane numbers, a lane listed twice). */
export class InvalidSegmentError extends Error {
  override readonly name = 'InvalidSegmentError';
}

export class SegmentLaneConflictError extends Error {
  override readonly name = 'SegmentLaneConflictError';
  constructor(
    readonly segmentId: string,
    readonly lane: LaneRef,
    readonly ownerSegmentId: string,
  ) {
    super(
      `put segment '${segmentId}': lane ${lane.gatewayId}/${lane.deviceId}/${lane.lane} already belongs to segment '${ownerSegmentId}'`,
    );
  }
}

/** Where a device stands on the map (set by a technician; the edge knows nothing of it). */
export interface DevicePlacement {
  gatewayId: string;
  deviceId: string;
  /** WGS 84 degrees. */
  location: { lat: number; lon: number };
  /** Degrees clockwise from north the device faces (a camera's view, a sign's readers), or null. */
  bearing: number | null;
  note: string | null;
  placedAt: number;
  placedBy: string;
}

/** A placement for a device the registry does not know. */
export class UnknownDeviceError extends Error {
  override readonly name = 'UnknownDeviceError';
  constructor(
    readonly gatewayId: string,
    readonly deviceId: string,
    operation: string,
  ) {
    super(`${operation}: device '${deviceId}' is not registered on gateway '${gatewayId}'`);
  }
}

export interface CloudStore {
  /** Guidance screens: messages, dispatches, audit, screens, guidance rules (same database). */
  readonly dispatch: DispatchStore;
  /** Sites, grid cells, enrolment tokens, gateway revocation and credential rotation (same database). */
  readonly fleet: FleetStore;
  /** Users of the API, their API tokens and login sessions (same database). */
  readonly users: UserStore;
  /** Desired and reported gateway configuration, by version (same database). */
  readonly configs: ConfigStore;
  /** Agent update bundles and staged rollouts (same database). */
  readonly updates: UpdateStore;

  // ---- registry -------------------------------------------------------------------------
  /** Throws DuplicateGatewayError when the id is taken. */
  addGateway(gateway: NewGateway): Promise<GatewayRecord>;
  getGateway(id: string): Promise<GatewayRecord | undefined>;
  listGateways(): Promise<GatewayRecord[]>;
  /** The stored scrypt hash, for authentication only. */
  gatewaySecretHash(id: string): Promise<string | undefined>;
  /** Applies a status message in arrival order. Returns false when the gateway is unknown. */
  setGatewayStatus(id: string, status: GatewayStatus, receivedAt: number): Promise<boolean>;
  /** Called when a broker starts with nobody connected: no gateway can be online. */
  markAllGatewaysOffline(): Promise<void>;
  /** Upserts the birth's devices and marks devices it no longer lists as removed. False when the gateway is unknown. */
  applyBirth(id: string, birth: GatewayBirth, receivedAt: number): Promise<boolean>;
  recordTelemetry(id: string, telemetry: GatewayTelemetry, receivedAt: number): Promise<boolean>;
  listDevices(filter?: DeviceFilter): Promise<DeviceRecord[]>;
  getDevice(gatewayId: string, deviceId: string): Promise<DeviceRecord | undefined>;
  /** Sets (replaces) a device's map placement. Throws UnknownDeviceError when the registry has no such device. */
  placeDevice(placement: DevicePlacement): Promise<DevicePlacement>;
  /** Placements, of one gateway or all, ordered by gateway then device. */
  devicePlacements(gatewayId?: string): Promise<DevicePlacement[]>;

  // ---- events ---------------------------------------------------------------------------
  /**
   * Commits one batch atomically (see IngestResult). `valid` and `rejected` together must be the
   * batch's events, first..last. Throws UnknownGatewayError for an unregistered gateway.
   */
  ingestBatch(
    gatewayId: string,
    batch: Pick<EventBatch, 'stream' | 'first' | 'last'>,
    valid: readonly GatewayEvent[],
    rejected: readonly RejectedEventInput[],
    receivedAt?: number,
  ): Promise<IngestResult>;
  /**
   * Commits several batches (of one or many gateways) with one durable commit: what many gateways
   * send at once costs one fsync, not one each. Each batch is still all-or-nothing on its own: one
   * that fails (e.g. an unknown gateway) yields its Error in the result and leaves the others committed.
   */
  ingestBatches(items: readonly BatchToIngest[], receivedAt?: number): Promise<(IngestResult | Error)[]>;
  streams(gatewayId: string): Promise<StreamRecord[]>;
  /** Newest first. */
  readings(gatewayId: string, deviceId: string, range?: TimeRange): Promise<ReadingRecord[]>;
  laneTotals(gatewayId: string, deviceId: string): Promise<LaneTotals>;
  /** Newest first. */
  events(filter?: EventFilter): Promise<StoredEvent[]>;
  /** Newest first. */
  rejectedEvents(filter?: RejectedFilter): Promise<StoredRejectedEvent[]>;

  // ---- traffic --------------------------------------------------------------------------
  /**
   * Creates a segment, or replaces its name, road class and lane mapping. The mapping applies to
   * lane periods stored from then on (and to recomputations of earlier periods by late lanes).
   * Throws InvalidSegmentError, UnknownGatewayError (a lane of an unregistered gateway) or
   * SegmentLaneConflictError (a lane of another segment).
   */
  putSegment(segment: SegmentDefinition, at?: number): Promise<PutSegmentResult>;
  /** By id. */
  listSegments(): Promise<SegmentRecord[]>;
  getSegment(id: string): Promise<SegmentRecord | undefined>;
  segmentState(id: string): Promise<SegmentState | undefined>;
  /** Every segment with its current state, by id. */
  segmentStates(): Promise<SegmentState[]>;
  /** Periods, newest first; from/to bound periodStart. Throws UnknownSegmentError. */
  segmentHistory(id: string, range?: TimeRange): Promise<SegmentPeriod[]>;
  /** Grade changes, newest first; from/to bound periodStart. Throws UnknownSegmentError. */
  gradeChanges(id: string, range?: TimeRange): Promise<GradeChange[]>;
  /** A detector's lane periods, newest first (then by lane); from/to bound periodStart. */
  lanePeriods(gatewayId: string, deviceId: string, filter?: LanePeriodFilter): Promise<LanePeriodRecord[]>;
  /** Every detector (optionally of one gateway), by gateway then device. */
  detectorHealth(filter?: { gatewayId?: string | undefined }): Promise<DetectorHealth[]>;

  // ---- cameras --------------------------------------------------------------------------
  /** Cameras by gateway then device. */
  listCameras(filter?: CameraFilter): Promise<CameraRecord[]>;
  getCamera(gatewayId: string, deviceId: string): Promise<CameraRecord | undefined>;
  /** Newest first (ts, then id); from/to bound ts. */
  videoEvents(filter?: VideoEventFilter): Promise<VideoEventRecord[]>;
  videoEvent(id: number): Promise<VideoEventRecord | undefined>;
  /** The JPEG thumbnail stored with a video event. */
  videoThumbnail(id: number): Promise<Buffer | undefined>;
  /** video.crossing totals of a camera by line, lane and direction; from/to bound ts. */
  crossingCounts(gatewayId: string, deviceId: string, range?: Pick<TimeRange, 'from' | 'to'>): Promise<CrossingCount[]>;
  /** Keeps a full snapshot; evicts the oldest ones until the cache holds at most maxTotalBytes. */
  cacheSnapshot(snapshot: NewCachedSnapshot, maxTotalBytes: number): Promise<CacheSnapshotResult>;
  cachedSnapshot(gatewayId: string, deviceId: string, snapshotId: string): Promise<Buffer | undefined>;

  close(): Promise<void>;
}
