/** The SQLite side of cameras: registry view, video event queries, crossing counts, the snapshot cache (projections: video-projector). */
import type Database from 'better-sqlite3';
import type { CameraInfo, PipelineState } from '@quanlink/contracts';
import type {
  CacheSnapshotResult,
  CameraFilter,
  CameraRecord,
  CrossingCount,
  DeviceRecord,
  NewCachedSnapshot,
  TimeRange,
  VideoEventFilter,
  VideoEventRecord,
  VideoEventType,
} from '../types.js';

type Prepare = (sql: string) => Database.Statement;

export interface CameraRow {
  camera: string | null;
  gateway_online: number;
  pipeline_state: PipelineState | null;
  pipeline_reason: string | null;
  analysed_fps: number | null;
  restarts: number | null;
  pipeline_ts: number | null;
  last_event_at: number | null;
}

interface VideoEventRow {
  event_id: number;
  gateway_id: string;
  device_id: string;
  type: VideoEventType;
  ts: number;
  snapshot_id: string | null;
  thumbnail_bytes: number | null;
  thumbnail_problem: string | null;
  stream: string;
  seq: number;
  data: string;
  received_at: number;
  thumbnail?: Buffer | null;
}

const MAX_TIME = Number.MAX_SAFE_INTEGER;

const VIDEO_COLUMNS = `v.event_id, v.gateway_id, v.device_id, v.type, v.ts, v.snapshot_id, length(v.thumbnail) AS thumbnail_bytes,
  v.thumbnail_problem, e.stream, e.seq, e.data, e.received_at`;

function toVideoEvent(row: VideoEventRow): VideoEventRecord {
  return {
    id: row.event_id,
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    stream: row.stream,
    seq: row.seq,
    ts: row.ts,
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
    snapshotId: row.snapshot_id,
    thumbnailBytes: row.thumbnail_bytes,
    thumbnailProblem: row.thumbnail_problem,
    receivedAt: row.received_at,
    ...(row.thumbnail !== undefined && { thumbnail: row.thumbnail ?? undefined }),
  };
}

/** Completes a device record (diagnostics included) with what the camera tables say. */
export function toCamera(device: DeviceRecord, row: CameraRow): CameraRecord {
  const pipeline =
    row.pipeline_state === null
      ? null
      : { state: row.pipeline_state, reason: row.pipeline_reason, analysedFps: row.analysed_fps, restarts: row.restarts, since: row.pipeline_ts! };
  const gatewayOnline = row.gateway_online === 1;
  return {
    ...device,
    camera: row.camera === null ? null : (JSON.parse(row.camera) as CameraInfo),
    pipeline,
    lastEventAt: row.last_event_at,
    gatewayOnline,
    healthy: gatewayOnline && !device.removed && device.state !== 'error' && device.state !== 'unreachable' && pipeline?.state === 'running',
  };
}

export class CameraQueries {
  constructor(
    private readonly db: Database.Database,
    private readonly prepare: Prepare,
    private readonly clampLimit: (limit: number | undefined) => number,
  ) {}

  /** Device rows (devices.*) with the camera columns: kind 'camera', described as a camera by a birth, or reporting video events. */
  cameraRows<Row>(filter: CameraFilter & { deviceId?: string }): (Row & CameraRow)[] {
    const clauses = ["(d.kind = 'camera' OR d.camera IS NOT NULL OR cs.gateway_id IS NOT NULL)"];
    const params: string[] = [];
    if (filter.gatewayId !== undefined) (clauses.push('d.gateway_id = ?'), params.push(filter.gatewayId));
    if (filter.deviceId !== undefined) (clauses.push('d.device_id = ?'), params.push(filter.deviceId));
    if (filter.pipelineState !== undefined) (clauses.push('cs.pipeline_state = ?'), params.push(filter.pipelineState));
    return this.prepare(
      `SELECT d.*, g.online AS gateway_online, cs.pipeline_state, cs.pipeline_reason, cs.analysed_fps, cs.restarts, cs.pipeline_ts, cs.last_event_at
       FROM devices d JOIN gateways g ON g.id = d.gateway_id
       LEFT JOIN camera_state cs ON cs.gateway_id = d.gateway_id AND cs.device_id = d.device_id
       WHERE ${clauses.join(' AND ')}
       ORDER BY d.gateway_id, d.device_id`,
    ).all(...params) as (Row & CameraRow)[];
  }

  videoEvents(filter: VideoEventFilter): VideoEventRecord[] {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.gatewayId !== undefined) (clauses.push('v.gateway_id = ?'), params.push(filter.gatewayId));
    if (filter.deviceId !== undefined) (clauses.push('v.device_id = ?'), params.push(filter.deviceId));
    if (filter.type !== undefined) (clauses.push('v.type = ?'), params.push(filter.type));
    if (filter.from !== undefined) (clauses.push('v.ts >= ?'), params.push(filter.from));
    if (filter.to !== undefined) (clauses.push('v.ts <= ?'), params.push(filter.to));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const thumbnail = filter.includeThumbnails ? ', v.thumbnail' : '';
    const rows = this.prepare(
      `SELECT ${VIDEO_COLUMNS}${thumbnail} FROM video_events v JOIN events e ON e.id = v.event_id ${where}
       ORDER BY v.ts DESC, v.event_id DESC LIMIT ?`,
    ).all(...params, this.clampLimit(filter.limit)) as VideoEventRow[];
    return rows.map(toVideoEvent);
  }

  videoEvent(id: number): VideoEventRecord | undefined {
    const row = this.prepare(`SELECT ${VIDEO_COLUMNS} FROM video_events v JOIN events e ON e.id = v.event_id WHERE v.event_id = ?`).get(id) as
      | VideoEventRow
      | undefined;
    return row && toVideoEvent(row);
  }

  videoThumbnail(id: number): Buffer | undefined {
    const row = this.prepare('SELECT thumbnail FROM video_events WHERE event_id = ?').get(id) as { thumbnail: Buffer | null } | undefined;
    return row?.thumbnail ?? undefined;
  }

  crossingCounts(gatewayId: string, deviceId: string, range: Pick<TimeRange, 'from' | 'to'>): CrossingCount[] {
    const rows = this.prepare(
      `SELECT line, lane, sum(direction = 'forward') AS forward, sum(direction = 'reverse') AS reverse, count(*) AS total
       FROM video_events
       WHERE gateway_id = ? AND device_id = ? AND type = 'video.crossing' AND ts >= ? AND ts <= ?
       GROUP BY line, lane
       ORDER BY lane IS NULL, lane, line`,
    ).all(gatewayId, deviceId, range.from ?? 0, range.to ?? MAX_TIME) as CrossingCount[];
    return rows.map((row) => ({ line: row.line, lane: row.lane, forward: row.forward, reverse: row.reverse, total: row.total }));
  }

  cacheSnapshot(snapshot: NewCachedSnapshot, maxTotalBytes: number): CacheSnapshotResult {
    const { gatewayId, deviceId, snapshotId, jpeg, fetchedAt } = snapshot;
    if (jpeg.length > maxTotalBytes) return { stored: false, evicted: 0 };
    return this.db
      .transaction((): CacheSnapshotResult => {
        const id = (
          this.prepare(
            `INSERT INTO snapshot_cache (gateway_id, device_id, snapshot_id, jpeg, bytes, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (gateway_id, device_id, snapshot_id) DO UPDATE SET jpeg = excluded.jpeg, bytes = excluded.bytes, fetched_at = excluded.fetched_at
             RETURNING id`,
          ).get(gatewayId, deviceId, snapshotId, jpeg, jpeg.length, fetchedAt) as { id: number }
        ).id;
        let total = (this.prepare('SELECT coalesce(sum(bytes), 0) FROM snapshot_cache').pluck().get() as number);
        let evicted = 0;
        if (total <= maxTotalBytes) return { stored: true, evicted };
        const remove = this.prepare('DELETE FROM snapshot_cache WHERE id = ?');
        const oldest = this.prepare('SELECT id, bytes FROM snapshot_cache WHERE id != ? ORDER BY fetched_at, id').iterate(id) as IterableIterator<{
          id: number;
          bytes: number;
        }>;
        const doomed: number[] = [];
        for (const row of oldest) {
          if (total <= maxTotalBytes) break;
          doomed.push(row.id);
          total -= row.bytes;
        }
        for (const victim of doomed) remove.run(victim);
        evicted = doomed.length;
        return { stored: true, evicted };
      })
      .immediate();
  }

  cachedSnapshot(gatewayId: string, deviceId: string, snapshotId: string): Buffer | undefined {
    const row = this.prepare('SELECT jpeg FROM snapshot_cache WHERE gateway_id = ? AND device_id = ? AND snapshot_id = ?').get(
      gatewayId,
      deviceId,
      snapshotId,
    ) as { jpeg: Buffer } | undefined;
    return row?.jpeg;
  }
}
