/**
 * Keeps segment_periods and segment_events in step with lane_periods, inside the ingest transaction.
 * A segment period is always recomputed from the lane periods stored for it, so a late lane simply
 * recomputes its period; when that changes the period's grade, the change is carried forward to the
 * following periods (each one's hysteresis reference is its predecessor's grade) until a grade stays.
 */
import type Database from 'better-sqlite3';
import { decideGrade, type GradeBasis, type GradeCode, type RoadClass } from '../../traffic/grades.js';
import { aggregateLanes, type LaneSample } from '../../traffic/segment-aggregate.js';
import type { GradeChange } from '../types.js';

interface PeriodGrade {
  period_start: number;
  speed: number | null;
  grade: GradeCode;
  grade_basis: GradeBasis;
}

type SegmentKey = [segmentId: string, periodS: number, periodStart: number];

export class SegmentProjector {
  private readonly segmentOfLane: Database.Statement<[string, string, number], string>;
  private readonly segmentInfo: Database.Statement<[string, string], { road_class: RoadClass; lanes_total: number }>;
  private readonly laneSamples: Database.Statement<[number, number, string], LaneSample>;
  private readonly periodGrade: Database.Statement<SegmentKey, PeriodGrade>;
  private readonly previousGrade: Database.Statement<SegmentKey, GradeCode>;
  private readonly nextPeriod: Database.Statement<SegmentKey, PeriodGrade>;
  private readonly upsertPeriod: Database.Statement<
    [string, number, number, number, number | null, number | null, GradeCode, GradeBasis, number, number, number, number]
  >;
  private readonly setGrade: Database.Statement<[GradeCode, GradeBasis, number, ...SegmentKey]>;
  private readonly change: Database.Statement<SegmentKey, { from_grade: GradeCode; to_grade: GradeCode }>;
  private readonly upsertChange: Database.Statement<[...SegmentKey, GradeCode, GradeCode, number | null, number]>;
  private readonly setChangeSpeed: Database.Statement<[number | null, ...SegmentKey]>;
  private readonly deleteChange: Database.Statement<SegmentKey>;

  constructor(db: Database.Database) {
    this.segmentOfLane = db
      .prepare<[string, string, number], string>('SELECT segment_id FROM segment_lanes WHERE gateway_id = ? AND device_id = ? AND lane = ?')
      .pluck();
    this.segmentInfo = db.prepare(
      `SELECT road_class, (SELECT count(*) FROM segment_lanes WHERE segment_id = ?) AS lanes_total FROM road_segments WHERE id = ?`,
    );
    // A lane whose detector was faulty (locked on, chattering, frozen) during the period says nothing
    // true about the road: it is left out, as if it had not reported.
    this.laneSamples = db.prepare(
      `SELECT lp.volume, lp.occupancy, lp.speed, lp.completeness
       FROM segment_lanes sl JOIN lane_periods lp
         ON lp.gateway_id = sl.gateway_id AND lp.device_id = sl.device_id AND lp.lane = sl.lane
        AND lp.period_start = ? AND lp.period_s = ?
       WHERE sl.segment_id = ?
         AND NOT EXISTS (
           SELECT 1 FROM detector_diagnostics d
           WHERE d.gateway_id = sl.gateway_id AND d.device_id = sl.device_id AND d.lane IN (sl.lane, 0)
             AND d.condition IN ('locked-on', 'chatter', 'constant')
             AND d.since < lp.period_start + lp.period_s * 1000
             AND (d.active = 1 OR d.cleared_at > lp.period_start))`,
    );
    this.periodGrade = db.prepare(
      'SELECT period_start, speed, grade, grade_basis FROM segment_periods WHERE segment_id = ? AND period_s = ? AND period_start = ?',
    );
    this.previousGrade = db
      .prepare<SegmentKey, GradeCode>(
        `SELECT grade FROM segment_periods WHERE segment_id = ? AND period_s = ? AND period_start < ?
         ORDER BY period_start DESC LIMIT 1`,
      )
      .pluck();
    this.nextPeriod = db.prepare(
      `SELECT period_start, speed, grade, grade_basis FROM segment_periods WHERE segment_id = ? AND period_s = ? AND period_start > ?
       ORDER BY period_start LIMIT 1`,
    );
    this.upsertPeriod = db.prepare(
      `INSERT INTO segment_periods (segment_id, period_s, period_start, volume, occupancy, speed, grade, grade_basis,
                                    lanes_reporting, lanes_total, completeness, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (segment_id, period_s, period_start) DO UPDATE SET
         volume = excluded.volume, occupancy = excluded.occupancy, speed = excluded.speed, grade = excluded.grade,
         grade_basis = excluded.grade_basis, lanes_reporting = excluded.lanes_reporting, lanes_total = excluded.lanes_total,
         completeness = excluded.completeness, updated_at = excluded.updated_at`,
    );
    this.setGrade = db.prepare(
      'UPDATE segment_periods SET grade = ?, grade_basis = ?, updated_at = ? WHERE segment_id = ? AND period_s = ? AND period_start = ?',
    );
    this.change = db.prepare(
      'SELECT from_grade, to_grade FROM segment_events WHERE segment_id = ? AND period_s = ? AND period_start = ?',
    );
    this.upsertChange = db.prepare(
      `INSERT INTO segment_events (segment_id, period_s, period_start, from_grade, to_grade, speed, at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (segment_id, period_s, period_start) DO UPDATE SET
         from_grade = excluded.from_grade, to_grade = excluded.to_grade, speed = excluded.speed, at = excluded.at`,
    );
    this.setChangeSpeed = db.prepare('UPDATE segment_events SET speed = ? WHERE segment_id = ? AND period_s = ? AND period_start = ?');
    this.deleteChange = db.prepare('DELETE FROM segment_events WHERE segment_id = ? AND period_s = ? AND period_start = ?');
  }

  /**
   * After a detector's lane periods of one period were stored: recomputes the period of every
   * segment those lanes belong to. Returns the grade changes it recorded (new or altered).
   */
  lanePeriodsStored(gatewayId: string, deviceId: string, lanes: Iterable<number>, periodStart: number, periodS: number, at: number): GradeChange[] {
    const segments = new Set<string>();
    for (const lane of lanes) {
      const segmentId = this.segmentOfLane.get(gatewayId, deviceId, lane);
      if (segmentId !== undefined) segments.add(segmentId);
    }
    const changes: GradeChange[] = [];
    for (const segmentId of segments) this.recompute(segmentId, periodS, periodStart, at, changes);
    return changes;
  }

  private recompute(segmentId: string, periodS: number, periodStart: number, at: number, changes: GradeChange[]): void {
    const info = this.segmentInfo.get(segmentId, segmentId)!;
    const state = aggregateLanes(this.laneSamples.all(periodStart, periodS, segmentId), info.lanes_total);
    const before = this.periodGrade.get(segmentId, periodS, periodStart);
    const previous = this.previousGrade.get(segmentId, periodS, periodStart) ?? null;
    const decision = decideGrade(info.road_class, state.speed, previous);
    this.upsertPeriod.run(
      segmentId,
      periodS,
      periodStart,
      state.volume,
      state.occupancy,
      state.speed,
      decision.grade,
      decision.basis,
      state.lanesReporting,
      state.lanesTotal,
      state.completeness,
      at,
    );
    this.recordChange([segmentId, periodS, periodStart], previous, decision.grade, state.speed, at, changes);
    if (before !== undefined && before.grade === decision.grade) return;

    // This period is the next one's reference: carry the new grade forward while it changes grades.
    let reference = decision.grade;
    let after = periodStart;
    for (;;) {
      const next = this.nextPeriod.get(segmentId, periodS, after);
      if (next === undefined) return;
      const redecided = decideGrade(info.road_class, next.speed, reference);
      const key: SegmentKey = [segmentId, periodS, next.period_start];
      if (redecided.grade !== next.grade || redecided.basis !== next.grade_basis) this.setGrade.run(redecided.grade, redecided.basis, at, ...key);
      this.recordChange(key, reference, redecided.grade, next.speed, at, changes);
      if (redecided.grade === next.grade) return;
      reference = redecided.grade;
      after = next.period_start;
    }
  }

  /** Makes segment_events say whether this period changed grade from `from` (null: no previous period). */
  private recordChange(key: SegmentKey, from: GradeCode | null, to: GradeCode, speed: number | null, at: number, changes: GradeChange[]): void {
    const existing = this.change.get(...key);
    if (from === null || from === to) {
      if (existing !== undefined) this.deleteChange.run(...key);
      return;
    }
    if (existing !== undefined && existing.from_grade === from && existing.to_grade === to) {
      this.setChangeSpeed.run(speed, ...key);
      return;
    }
    this.upsertChange.run(...key, from, to, speed, at);
    const [segmentId, periodS, periodStart] = key;
    changes.push({ segmentId, periodStart, periodS, fromGrade: from, toGrade: to, speed, at });
  }
}
