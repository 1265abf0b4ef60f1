/**
 * The embedded CloudStore: one SQLite file (or ':memory:'), WAL with synchronous=FULL so that a
 * batch acknowledged to a gateway is on disk before the acknowledgement leaves.
 */
import Database from 'better-sqlite3';
import type { ErrorInfo, EventBatch, GatewayBirth, GatewayEvent, GatewayStatus, GatewayTelemetry } from '@quanlink/contracts';
import {
  DEFAULT_QUERY_LIMIT,
  DuplicateGatewayError,
  MAX_QUERY_LIMIT,
  type BatchToIngest,
  type CacheSnapshotResult,
  type CameraFilter,
  type CameraRecord,
  type CloudStore,
  type CrossingCount,
  type NewCachedSnapshot,
  type VideoEventFilter,
  type VideoEventRecord,
  type DeviceFilter,
  type DeviceRecord,
  type DevicePlacement,
  type DetectorHealth,
  type DeviceState,
  type EventFilter,
  type GatewayRecord,
  type GradeChange,
  type LanePeriodFilter,
  type LanePeriodRecord,
  type PutSegmentResult,
  type SegmentDefinition,
  type SegmentPeriod,
  type SegmentRecord,
  type SegmentState,
  type IngestResult,
  type LaneTotals,
  type NewGateway,
  type ReadingRecord,
  type RejectedEventInput,
  type RejectedFilter,
  type StoredEvent,
  type StoredRejectedEvent,
  type StreamRecord,
  type TimeRange,
} from '../types.js';
import { stripBirthCredentials } from '../../cameras/credentials.js';
import { BatchWriter } from './batch-writer.js';
import { CameraQueries, toCamera } from './camera-queries.js';
import { SqliteDispatchStore } from './dispatch-store.js';
import { SqliteFleetStore } from './fleet-store.js';
import { SqlitePlacementQueries } from './placement-store.js';
import { SqliteUpdateStore } from './updates-store.js';
import { SqliteUserStore } from './users-store.js';
import { SqliteConfigStore } from './config-store.js';
import { migrate } from './migrations.js';
import { TrafficQueries } from './traffic-queries.js';

interface GatewayRow {
  id: string;
  name: string | null;
  created_at: number;
  online: number;
  last_seen: number | null;
  last_status: string | null;
  agent_version: string | null;
  started_at: number | null;
  telemetry: string | null;
  telemetry_at: number | null;
}

interface DeviceRow {
  gateway_id: string;
  device_id: string;
  profile: string | null;
  kind: string | null;
  name: string | null;
  endpoint: string | null;
  state: DeviceState;
  last_error: string | null;
  removed: number;
  updated_at: number;
}

interface EventRow {
  gateway_id: string;
  stream: string;
  seq: number;
  ts: number;
  type: string;
  device_id: string | null;
  data: string;
  received_at: number;
  reason?: string;
}

const GATEWAY_COLUMNS =
  'id, name, created_at, online, last_seen, last_status, agent_version, started_at, telemetry, telemetry_at';

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

function toGateway(row: GatewayRow): GatewayRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    online: row.online === 1,
    lastSeen: row.last_seen,
    lastStatus: parseJson<GatewayStatus>(row.last_status),
    agentVersion: row.agent_version,
    startedAt: row.started_at,
    telemetry: parseJson<GatewayTelemetry>(row.telemetry),
    telemetryAt: row.telemetry_at,
  };
}

function toDevice(row: DeviceRow): Omit<DeviceRecord, 'diagnostics'> {
  return {
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    profile: row.profile,
    kind: row.kind,
    name: row.name,
    endpoint: row.endpoint,
    state: row.state,
    lastError: parseJson<ErrorInfo>(row.last_error),
    removed: row.removed === 1,
    updatedAt: row.updated_at,
  };
}

function toEvent(row: EventRow): StoredEvent {
  return {
    gatewayId: row.gateway_id,
    stream: row.stream,
    seq: row.seq,
    ts: row.ts,
    type: row.type,
    device: row.device_id,
    data: JSON.parse(row.data) as unknown,
    receivedAt: row.received_at,
  };
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_QUERY_LIMIT;
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_QUERY_LIMIT);
}

/** WHERE clause and parameters for the optional filters of the event-like tables. */
function eventWhere(filter: EventFilter): { where: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.gatewayId !== undefined) (clauses.push('gateway_id = ?'), params.push(filter.gatewayId));
  if (filter.device !== undefined) (clauses.push('device_id = ?'), params.push(filter.device));
  if (filter.type !== undefined) (clauses.push('type = ?'), params.push(filter.type));
  if (filter.from !== undefined) (clauses.push('ts >= ?'), params.push(filter.from));
  if (filter.to !== undefined) (clauses.push('ts <= ?'), params.push(filter.to));
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

export class SqliteStore implements CloudStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly writer: BatchWriter;
  private readonly traffic: TrafficQueries;
  private readonly cameras: CameraQueries;
  readonly dispatch: SqliteDispatchStore;
  readonly fleet: SqliteFleetStore;
  readonly updates: SqliteUpdateStore;
  readonly users: SqliteUserStore;
  readonly configs: SqliteConfigStore;
  /** Filtered queries are built from a handful of shapes; each shape is prepared once. */
  private readonly preparedByText = new Map<string, Database.Statement>();

  /** Opens (creating and migrating when needed) the store at `path`; ':memory:' for a throwaway store. */
  constructor(path: string) {
    this.path = path;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // Indexes of a busy events table outgrow the 2 MB default quickly; misses cost more than the memory.
    this.db.pragma('cache_size = -65536');
    migrate(this.db);
    this.writer = new BatchWriter(this.db);
    this.traffic = new TrafficQueries(this.db, (sql) => this.prepared(sql), clampLimit);
    this.cameras = new CameraQueries(this.db, (sql) => this.prepared(sql), clampLimit);
    this.dispatch = new SqliteDispatchStore(this.db);
    this.fleet = new SqliteFleetStore(this.db);
    this.updates = new SqliteUpdateStore(this.db);
    this.users = new SqliteUserStore(this.db);
    this.configs = new SqliteConfigStore(this.db);
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.preparedByText.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.preparedByText.set(sql, statement);
    }
    return statement;
  }

  /** For tests and diagnostics: the value of a PRAGMA. */
  pragma(name: string): unknown {
    return this.db.pragma(name, { simple: true });
  }

  // ---- registry -------------------------------------------------------------------------

  async addGateway(gateway: NewGateway): Promise<GatewayRecord> {
    const createdAt = gateway.createdAt ?? Date.now();
    try {
      this.prepared('INSERT INTO gateways (id, name, password_hash, created_at) VALUES (?, ?, ?, ?)').run(
        gateway.id,
        gateway.name ?? null,
        gateway.passwordHash,
        createdAt,
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateGatewayError(gateway.id);
      throw err;
    }
    return (await this.getGateway(gateway.id))!;
  }

  async getGateway(id: string): Promise<GatewayRecord | undefined> {
    const row = this.prepared(`SELECT ${GATEWAY_COLUMNS} FROM gateways WHERE id = ?`).get(id) as GatewayRow | undefined;
    return row && toGateway(row);
  }

  async listGateways(): Promise<GatewayRecord[]> {
    const rows = this.prepared(`SELECT ${GATEWAY_COLUMNS} FROM gateways ORDER BY id`).all() as GatewayRow[];
    return rows.map(toGateway);
  }

  async gatewaySecretHash(id: string): Promise<string | undefined> {
    const row = this.prepared('SELECT password_hash FROM gateways WHERE id = ?').get(id) as { password_hash: string } | undefined;
    return row?.password_hash;
  }

  async setGatewayStatus(id: string, status: GatewayStatus, receivedAt: number): Promise<boolean> {
    const result = this.prepared('UPDATE gateways SET online = ?, last_status = ?, last_seen = ? WHERE id = ?').run(
      status.state === 'online' ? 1 : 0,
      JSON.stringify(status),
      receivedAt,
      id,
    );
    return result.changes > 0;
  }

  async markAllGatewaysOffline(): Promise<void> {
    this.prepared('UPDATE gateways SET online = 0 WHERE online = 1').run();
  }

  async applyBirth(id: string, birth: GatewayBirth, receivedAt: number): Promise<boolean> {
    // Defence in depth: whatever reaches the store, no credential is ever kept (see cameras/credentials.ts).
    const clean = structuredClone(birth);
    stripBirthCredentials(clean);
    return this.db
      .transaction((): boolean => {
        const touched = this.prepared('UPDATE gateways SET agent_version = ?, started_at = ?, last_seen = ? WHERE id = ?').run(
          birth.agentVersion,
          birth.startedAt,
          receivedAt,
          id,
        );
        if (touched.changes === 0) return false;
        this.prepared(
          `UPDATE devices SET removed = 1, updated_at = ?
           WHERE gateway_id = ? AND removed = 0 AND device_id NOT IN (SELECT value FROM json_each(?))`,
        ).run(receivedAt, id, JSON.stringify(clean.devices.map((d) => d.id)));
        const upsert = this.prepared(
          `INSERT INTO devices (gateway_id, device_id, profile, kind, name, endpoint, camera, removed, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
           ON CONFLICT (gateway_id, device_id) DO UPDATE SET
             profile = excluded.profile, kind = excluded.kind, name = excluded.name, endpoint = excluded.endpoint,
             camera = coalesce(excluded.camera, devices.camera), removed = 0, updated_at = excluded.updated_at`,
        );
        // A birth without camera info (the camera did not answer ONVIF at start-up) keeps what an earlier one said.
        for (const device of clean.devices) {
          const camera = device.camera ? JSON.stringify(device.camera) : null;
          upsert.run(id, device.id, device.profile, device.kind, device.name ?? null, device.endpoint ?? null, camera, receivedAt);
        }
        return true;
      })
      .immediate();
  }

  async recordTelemetry(id: string, telemetry: GatewayTelemetry, receivedAt: number): Promise<boolean> {
    const result = this.prepared(
      'UPDATE gateways SET telemetry = ?, telemetry_at = ?, agent_version = ?, last_seen = ? WHERE id = ?',
    ).run(JSON.stringify(telemetry), receivedAt, telemetry.agentVersion, receivedAt, id);
    return result.changes > 0;
  }

  async listDevices(filter: DeviceFilter = {}): Promise<DeviceRecord[]> {
    const clauses: string[] = [];
    const params: string[] = [];
    if (filter.gatewayId !== undefined) (clauses.push('gateway_id = ?'), params.push(filter.gatewayId));
    if (filter.kind !== undefined) (clauses.push('kind = ?'), params.push(filter.kind));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const rows = this.prepared(`SELECT * FROM devices ${where} ORDER BY gateway_id, device_id`).all(...params) as DeviceRow[];
    return this.traffic.withDiagnostics(rows.map(toDevice), filter.gatewayId);
  }

  async getDevice(gatewayId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const row = this.prepared('SELECT * FROM devices WHERE gateway_id = ? AND device_id = ?').get(gatewayId, deviceId) as
      | DeviceRow
      | undefined;
    return row && this.traffic.withDiagnostics([toDevice(row)])[0];
  }

  async placeDevice(placement: DevicePlacement): Promise<DevicePlacement> {
    return new SqlitePlacementQueries(this.db).place(placement);
  }

  async devicePlacements(gatewayId?: string): Promise<DevicePlacement[]> {
    return new SqlitePlacementQueries(this.db).list(gatewayId);
  }

  // ---- events ---------------------------------------------------------------------------

  async ingestBatch(
    gatewayId: string,
    batch: Pick<EventBatch, 'stream' | 'first' | 'last'>,
    valid: readonly GatewayEvent[],
    rejected: readonly RejectedEventInput[],
    receivedAt: number = Date.now(),
  ): Promise<IngestResult> {
    return this.writer.ingest(gatewayId, batch, valid, rejected, receivedAt);
  }

  async ingestBatches(items: readonly BatchToIngest[], receivedAt: number = Date.now()): Promise<(IngestResult | Error)[]> {
    return this.writer.ingestMany(items, receivedAt);
  }

  async streams(gatewayId: string): Promise<StreamRecord[]> {
    const rows = this.prepared('SELECT * FROM streams WHERE gateway_id = ? ORDER BY created_at, stream').all(gatewayId) as {
      gateway_id: string;
      stream: string;
      synced_seq: number;
      first_seq: number;
      created_at: number;
      updated_at: number;
    }[];
    return rows.map((row) => ({
      gatewayId: row.gateway_id,
      stream: row.stream,
      syncedSeq: row.synced_seq,
      firstSeq: row.first_seq,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  async readings(gatewayId: string, deviceId: string, range: TimeRange = {}): Promise<ReadingRecord[]> {
    const rows = this.prepared(
      `SELECT stream, seq, ts, data FROM events
       WHERE gateway_id = ? AND device_id = ? AND type = 'reading' AND ts >= ? AND ts <= ?
       ORDER BY ts DESC, id DESC LIMIT ?`,
    ).all(gatewayId, deviceId, range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER, clampLimit(range.limit)) as {
      stream: string;
      seq: number;
      ts: number;
      data: string;
    }[];
    return rows.map((row) => ({
      gatewayId,
      deviceId,
      stream: row.stream,
      seq: row.seq,
      ts: row.ts,
      values: (JSON.parse(row.data) as { values: Record<string, number> }).values,
    }));
  }

  async laneTotals(gatewayId: string, deviceId: string): Promise<LaneTotals> {
    const rows = this.prepared('SELECT lane, total FROM lane_totals WHERE gateway_id = ? AND device_id = ? ORDER BY lane').all(
      gatewayId,
      deviceId,
    ) as { lane: number; total: number }[];
    const lanes: Record<string, number> = {};
    let total = 0;
    for (const row of rows) {
      lanes[String(row.lane)] = row.total;
      total += row.total;
    }
    return { lanes, total };
  }

  async events(filter: EventFilter = {}): Promise<StoredEvent[]> {
    const { where, params } = eventWhere(filter);
    const rows = this.prepared(
      `SELECT gateway_id, stream, seq, ts, type, device_id, data, received_at FROM events ${where}
       ORDER BY ts DESC, id DESC LIMIT ?`,
    ).all(...params, clampLimit(filter.limit)) as EventRow[];
    return rows.map(toEvent);
  }

  async rejectedEvents(filter: RejectedFilter = {}): Promise<StoredRejectedEvent[]> {
    const { where, params } = eventWhere({ gatewayId: filter.gatewayId, from: filter.from, to: filter.to });
    const rows = this.prepared(
      `SELECT gateway_id, stream, seq, ts, type, device_id, data, reason, received_at FROM rejected_events ${where}
       ORDER BY ts DESC, id DESC LIMIT ?`,
    ).all(...params, clampLimit(filter.limit)) as EventRow[];
    return rows.map((row) => ({ ...toEvent(row), reason: row.reason! }));
  }

  // ---- traffic --------------------------------------------------------------------------

  async putSegment(segment: SegmentDefinition, at: number = Date.now()): Promise<PutSegmentResult> {
    return this.traffic.putSegment(segment, at);
  }

  async listSegments(): Promise<SegmentRecord[]> {
    return this.traffic.listSegments();
  }

  async getSegment(id: string): Promise<SegmentRecord | undefined> {
    return this.traffic.getSegment(id);
  }

  async segmentState(id: string): Promise<SegmentState | undefined> {
    return this.traffic.segmentState(id);
  }

  async segmentStates(): Promise<SegmentState[]> {
    return this.traffic.segmentStates();
  }

  async segmentHistory(id: string, range: TimeRange = {}): Promise<SegmentPeriod[]> {
    return this.traffic.segmentHistory(id, range);
  }

  async gradeChanges(id: string, range: TimeRange = {}): Promise<GradeChange[]> {
    return this.traffic.gradeChanges(id, range);
  }

  async lanePeriods(gatewayId: string, deviceId: string, filter: LanePeriodFilter = {}): Promise<LanePeriodRecord[]> {
    return this.traffic.lanePeriods(gatewayId, deviceId, filter);
  }

  async detectorHealth(filter: { gatewayId?: string | undefined } = {}): Promise<DetectorHealth[]> {
    const rows = this.traffic.detectorRows<DeviceRow>(filter.gatewayId);
    const devices = this.traffic.withDiagnostics(
      rows.map((row) => ({ ...toDevice(row), lastPeriodStart: row.last_period_start })),
      filter.gatewayId,
    );
    return devices.map((device) => ({ ...device, healthy: device.state === 'ok' && device.diagnostics.length === 0 }));
  }

  // ---- cameras --------------------------------------------------------------------------

  async listCameras(filter: CameraFilter = {}): Promise<CameraRecord[]> {
    return this.camerasOf(filter);
  }

  async getCamera(gatewayId: string, deviceId: string): Promise<CameraRecord | undefined> {
    return this.camerasOf({ gatewayId, deviceId })[0];
  }

  private camerasOf(filter: CameraFilter & { deviceId?: string }): CameraRecord[] {
    const rows = this.cameras.cameraRows<DeviceRow>(filter);
    const devices = this.traffic.withDiagnostics(rows.map(toDevice), filter.gatewayId);
    return devices.map((device, i) => toCamera(device, rows[i]!));
  }

  async videoEvents(filter: VideoEventFilter = {}): Promise<VideoEventRecord[]> {
    return this.cameras.videoEvents(filter);
  }

  async videoEvent(id: number): Promise<VideoEventRecord | undefined> {
    return this.cameras.videoEvent(id);
  }

  async videoThumbnail(id: number): Promise<Buffer | undefined> {
    return this.cameras.videoThumbnail(id);
  }

  async crossingCounts(gatewayId: string, deviceId: string, range: Pick<TimeRange, 'from' | 'to'> = {}): Promise<CrossingCount[]> {
    return this.cameras.crossingCounts(gatewayId, deviceId, range);
  }

  async cacheSnapshot(snapshot: NewCachedSnapshot, maxTotalBytes: number): Promise<CacheSnapshotResult> {
    return this.cameras.cacheSnapshot(snapshot, maxTotalBytes);
  }

  async cachedSnapshot(gatewayId: string, deviceId: string, snapshotId: string): Promise<Buffer | undefined> {
    return this.cameras.cachedSnapshot(gatewayId, deviceId, snapshotId);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
