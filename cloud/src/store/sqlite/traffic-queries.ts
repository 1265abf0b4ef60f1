/** The SQLite side of road segments, lane periods and detector health (the projections are in batch-writer). */
import type Database from 'better-sqlite3';
import type { DiagnosticCondition } from '@quanlink/contracts';
import type { GradeBasis, GradeCode, RoadClass } from '../../traffic/grades.js';
import { segmentDefinitionProblem } from '../../traffic/segment-definition.js';
import {
  InvalidSegmentError,
  SegmentLaneConflictError,
  UnknownGatewayError,
  UnknownSegmentError,
  type ActiveDiagnostic,
  type DeviceRecord,
  type GradeChange,
  type LanePeriodFilter,
  type LanePeriodRecord,
  type LaneRef,
  type PutSegmentResult,
  type SegmentDefinition,
  type SegmentPeriod,
  type SegmentRecord,
  type SegmentState,
  type TimeRange,
} from '../types.js';

/** Device kinds that are detectors even before they report anything. */
export const DETECTOR_KINDS: readonly string[] = ['loop-detector'];

type Prepare = (sql: string) => Database.Statement;

interface SegmentRow {
  id: string;
  name: string;
  road_class: RoadClass;
  created_at: number;
  updated_at: number;
}

interface SegmentPeriodRow {
  segment_id: string;
  period_s: number;
  period_start: number;
  volume: number;
  occupancy: number | null;
  speed: number | null;
  grade: GradeCode;
  grade_basis: GradeBasis;
  lanes_reporting: number;
  lanes_total: number;
  completeness: number;
  updated_at: number;
}

interface DiagnosticRow {
  gateway_id: string;
  device_id: string;
  lane: number;
  condition: DiagnosticCondition;
  since: number;
  detail: string;
}

const MAX_TIME = Number.MAX_SAFE_INTEGER;

function toSegmentPeriod(row: SegmentPeriodRow): SegmentPeriod {
  return {
    segmentId: row.segment_id,
    periodStart: row.period_start,
    periodS: row.period_s,
    volume: row.volume,
    occupancy: row.occupancy,
    speed: row.speed,
    grade: row.grade,
    gradeBasis: row.grade_basis,
    lanesReporting: row.lanes_reporting,
    lanesTotal: row.lanes_total,
    completeness: row.completeness,
    updatedAt: row.updated_at,
  };
}

const deviceKey = (gatewayId: string, deviceId: string) => `${gatewayId}\u0000${deviceId}`;

export class TrafficQueries {
  constructor(
    private readonly db: Database.Database,
    private readonly prepare: Prepare,
    private readonly clampLimit: (limit: number | undefined) => number,
  ) {}

  // ---- segments -------------------------------------------------------------------------

  putSegment(segment: SegmentDefinition, at: number): PutSegmentResult {
    const problem = segmentDefinitionProblem(segment);
    if (problem !== null) throw new InvalidSegmentError(`put segment: ${problem}`);
    const created = this.db
      .transaction((): boolean => {
        const gatewayExists = this.prepare('SELECT 1 FROM gateways WHERE id = ?');
        for (const gatewayId of new Set(segment.lanes.map((lane) => lane.gatewayId))) {
          if (gatewayExists.get(gatewayId) === undefined) throw new UnknownGatewayError(gatewayId, `put segment '${segment.id}'`);
        }
        const owner = this.prepare('SELECT segment_id FROM segment_lanes WHERE gateway_id = ? AND device_id = ? AND lane = ?');
        for (const lane of segment.lanes) {
          const row = owner.get(lane.gatewayId, lane.deviceId, lane.lane) as { segment_id: string } | undefined;
          if (row !== undefined && row.segment_id !== segment.id) throw new SegmentLaneConflictError(segment.id, lane, row.segment_id);
        }
        const existed = this.prepare('SELECT 1 FROM road_segments WHERE id = ?').get(segment.id) !== undefined;
        this.prepare(
          `INSERT INTO road_segments (id, name, road_class, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, road_class = excluded.road_class, updated_at = excluded.updated_at`,
        ).run(segment.id, segment.name, segment.roadClass, at, at);
        this.prepare('DELETE FROM segment_lanes WHERE segment_id = ?').run(segment.id);
        const insertLane = this.prepare('INSERT INTO segment_lanes (gateway_id, device_id, lane, segment_id) VALUES (?, ?, ?, ?)');
        for (const lane of segment.lanes) insertLane.run(lane.gatewayId, lane.deviceId, lane.lane, segment.id);
        return !existed;
      })
      .immediate();
    return { segment: this.getSegment(segment.id)!, created };
  }

  listSegments(): SegmentRecord[] {
    const rows = this.prepare('SELECT * FROM road_segments ORDER BY id').all() as SegmentRow[];
    const lanes = this.prepare('SELECT segment_id, gateway_id, device_id, lane FROM segment_lanes ORDER BY gateway_id, device_id, lane').all() as {
      segment_id: string;
      gateway_id: string;
      device_id: string;
      lane: number;
    }[];
    const bySegment = new Map<string, LaneRef[]>();
    for (const lane of lanes) {
      let list = bySegment.get(lane.segment_id);
      if (!list) bySegment.set(lane.segment_id, (list = []));
      list.push({ gatewayId: lane.gateway_id, deviceId: lane.device_id, lane: lane.lane });
    }
    return rows.map((row) => this.toSegment(row, bySegment.get(row.id) ?? []));
  }

  getSegment(id: string): SegmentRecord | undefined {
    const row = this.prepare('SELECT * FROM road_segments WHERE id = ?').get(id) as SegmentRow | undefined;
    if (!row) return undefined;
    const lanes = this.prepare(
      'SELECT gateway_id, device_id, lane FROM segment_lanes WHERE segment_id = ? ORDER BY gateway_id, device_id, lane',
    ).all(id) as { gateway_id: string; device_id: string; lane: number }[];
    return this.toSegment(
      row,
      lanes.map((lane) => ({ gatewayId: lane.gateway_id, deviceId: lane.device_id, lane: lane.lane })),
    );
  }

  segmentState(id: string): SegmentState | undefined {
    const segment = this.getSegment(id);
    return segment && { segment, current: this.currentPeriod(id) };
  }

  segmentStates(): SegmentState[] {
    return this.listSegments().map((segment) => ({ segment, current: this.currentPeriod(segment.id) }));
  }

  segmentHistory(id: string, range: TimeRange): SegmentPeriod[] {
    this.requireSegment(id);
    const rows = this.prepare(
      `SELECT * FROM segment_periods WHERE segment_id = ? AND period_start >= ? AND period_start <= ?
       ORDER BY period_start DESC, period_s LIMIT ?`,
    ).all(id, range.from ?? 0, range.to ?? MAX_TIME, this.clampLimit(range.limit)) as SegmentPeriodRow[];
    return rows.map(toSegmentPeriod);
  }

  gradeChanges(id: string, range: TimeRange): GradeChange[] {
    this.requireSegment(id);
    const rows = this.prepare(
      `SELECT * FROM segment_events WHERE segment_id = ? AND period_start >= ? AND period_start <= ?
       ORDER BY period_start DESC, period_s LIMIT ?`,
    ).all(id, range.from ?? 0, range.to ?? MAX_TIME, this.clampLimit(range.limit)) as {
      segment_id: string;
      period_s: number;
      period_start: number;
      from_grade: GradeCode;
      to_grade: GradeCode;
      speed: number | null;
      at: number;
    }[];
    return rows.map((row) => ({
      segmentId: row.segment_id,
      periodStart: row.period_start,
      periodS: row.period_s,
      fromGrade: row.from_grade,
      toGrade: row.to_grade,
      speed: row.speed,
      at: row.at,
    }));
  }

  private currentPeriod(id: string): SegmentPeriod | null {
    const row = this.prepare('SELECT * FROM segment_periods WHERE segment_id = ? ORDER BY period_start DESC, period_s LIMIT 1').get(id) as
      | SegmentPeriodRow
      | undefined;
    return row ? toSegmentPeriod(row) : null;
  }

  private requireSegment(id: string): void {
    if (this.prepare('SELECT 1 FROM road_segments WHERE id = ?').get(id) === undefined) throw new UnknownSegmentError(id);
  }

  private toSegment(row: SegmentRow, lanes: LaneRef[]): SegmentRecord {
    return { id: row.id, name: row.name, roadClass: row.road_class, lanes, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  // ---- lane periods and detectors -------------------------------------------------------

  lanePeriods(gatewayId: string, deviceId: string, filter: LanePeriodFilter): LanePeriodRecord[] {
    const laneClause = filter.lane === undefined ? '' : 'AND lane = ?';
    const params: number[] = filter.lane === undefined ? [] : [filter.lane];
    const rows = this.prepare(
      `SELECT * FROM lane_periods WHERE gateway_id = ? AND device_id = ? ${laneClause} AND period_start >= ? AND period_start <= ?
       ORDER BY period_start DESC, lane, period_s LIMIT ?`,
    ).all(gatewayId, deviceId, ...params, filter.from ?? 0, filter.to ?? MAX_TIME, this.clampLimit(filter.limit)) as {
      lane: number;
      period_start: number;
      period_s: number;
      volume: number;
      flow: number;
      occupancy: number | null;
      speed: number | null;
      speed_source: LanePeriodRecord['speedSource'];
      completeness: number;
      classes: string | null;
      received_at: number;
    }[];
    return rows.map((row) => ({
      gatewayId,
      deviceId,
      lane: row.lane,
      periodStart: row.period_start,
      periodS: row.period_s,
      volume: row.volume,
      flow: row.flow,
      occupancy: row.occupancy,
      speed: row.speed,
      speedSource: row.speed_source,
      completeness: row.completeness,
      classes: row.classes === null ? null : (JSON.parse(row.classes) as LanePeriodRecord['classes']),
      receivedAt: row.received_at,
    }));
  }

  /** Active diagnostics of one device, or of every device (of one gateway), by device key. */
  activeDiagnostics(filter: { gatewayId?: string | undefined; deviceId?: string | undefined }): Map<string, ActiveDiagnostic[]> {
    const clauses = ['active = 1'];
    const params: string[] = [];
    if (filter.gatewayId !== undefined) (clauses.push('gateway_id = ?'), params.push(filter.gatewayId));
    if (filter.deviceId !== undefined) (clauses.push('device_id = ?'), params.push(filter.deviceId));
    const rows = this.prepare(
      `SELECT gateway_id, device_id, lane, condition, since, detail FROM detector_diagnostics WHERE ${clauses.join(' AND ')}
       ORDER BY gateway_id, device_id, lane, condition`,
    ).all(...params) as DiagnosticRow[];
    const byDevice = new Map<string, ActiveDiagnostic[]>();
    for (const row of rows) {
      const key = deviceKey(row.gateway_id, row.device_id);
      let list = byDevice.get(key);
      if (!list) byDevice.set(key, (list = []));
      list.push({ lane: row.lane === 0 ? null : row.lane, condition: row.condition, since: row.since, detail: row.detail });
    }
    return byDevice;
  }

  /** Attaches each device's active diagnostics. */
  withDiagnostics<D extends Omit<DeviceRecord, 'diagnostics'>>(devices: D[], gatewayId?: string): (D & { diagnostics: ActiveDiagnostic[] })[] {
    if (devices.length === 0) return [];
    const only = devices.length === 1 ? devices[0]! : undefined;
    const diagnostics = this.activeDiagnostics(only ? { gatewayId: only.gatewayId, deviceId: only.deviceId } : { gatewayId });
    return devices.map((device) => ({ ...device, diagnostics: diagnostics.get(deviceKey(device.gatewayId, device.deviceId)) ?? [] }));
  }

  /** Devices that are detectors: by kind, or because they reported periods or diagnostics. */
  detectorRows<Row>(gatewayId: string | undefined): (Row & { last_period_start: number | null })[] {
    const gatewayClause = gatewayId === undefined ? '' : 'AND d.gateway_id = ?';
    const kinds = DETECTOR_KINDS.map(() => '?').join(', ');
    return this.prepare(
      `SELECT d.*,
         (SELECT max(period_start) FROM lane_periods lp WHERE lp.gateway_id = d.gateway_id AND lp.device_id = d.device_id) AS last_period_start
       FROM devices d
       WHERE (d.kind IN (${kinds})
          OR EXISTS (SELECT 1 FROM lane_periods lp WHERE lp.gateway_id = d.gateway_id AND lp.device_id = d.device_id)
          OR EXISTS (SELECT 1 FROM detector_diagnostics dd WHERE dd.gateway_id = d.gateway_id AND dd.device_id = d.device_id))
         ${gatewayClause}
       ORDER BY d.gateway_id, d.device_id`,
    ).all(...DETECTOR_KINDS, ...(gatewayId === undefined ? [] : [gatewayId])) as (Row & { last_period_start: number | null })[];
  }
}
