/**
 * The cloud's persistence contract. Every method returns a Promise so that a networked
 * implementation (PostgreSQL) fits the same interface as the embedded SQLite one; the shared
 * conformance suite (test/store/conformance.ts) is what every implementation must pass.
 */
import type { ErrorInfo, EventBatch, GatewayBirth, GatewayEvent, GatewayStatus, GatewayTelemetry } from '@quanlink/contracts';

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

export interface CloudStore {
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

  close(): Promise<void>;
}
