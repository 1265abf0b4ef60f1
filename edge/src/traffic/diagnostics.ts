/**
 * Detector health in the PeMS / IRIS fault classes, judged per lane from closed sample periods
 * (and per device from poll outcomes for communication loss). Each condition has an onset and a
 * clear; the state is plain data that the poller stores with the periods that changed it.
 */
import type { DetectorDiagnosticData, DiagnosticCondition } from '@quanlink/contracts';
import type { ClosedPeriod } from './periods.js';

export interface DiagnosticThresholds {
  /** Device unreachable or failing for this long: comm-loss. */
  commLossS: number;
  /** Occupancy at or above this percent... */
  lockedOnOccupancy: number;
  /** ...for this long: locked-on. */
  lockedOnS: number;
  /** No vehicle for this long (while polled): no-activity. */
  noActivityS: number;
  /** More than this flow, veh/h per lane, in a period: chatter. */
  chatterFlowVehH: number;
  /** Periods with completeness below this percent (but above 0)... */
  intermittentCompleteness: number;
  /** ...this many in a row: intermittent. */
  intermittentPeriods: number;
  /** Occupancy frozen at one non-zero value through this many periods in a row: constant. */
  constantPeriods: number;
}

export const DEFAULT_THRESHOLDS: DiagnosticThresholds = {
  commLossS: 60,
  lockedOnOccupancy: 95,
  lockedOnS: 300,
  noActivityS: 1800,
  chatterFlowVehH: 3000,
  intermittentCompleteness: 90,
  intermittentPeriods: 3,
  constantPeriods: 4,
};

interface Condition {
  active: boolean;
  /** When the current run of the symptom began (epoch ms). */
  since?: number;
  /** Length of the current run: seconds or periods, as the condition counts. */
  run: number;
}

export interface DiagnosticsState {
  lanes: Record<string, Partial<Record<DiagnosticCondition, Condition>>>;
  device: { commLoss: Condition };
}

export function emptyDiagnostics(): DiagnosticsState {
  return { lanes: {}, device: { commLoss: { active: false, run: 0 } } };
}

export class DetectorDiagnostics {
  constructor(
    private readonly thresholds: DiagnosticThresholds,
    readonly state: DiagnosticsState = emptyDiagnostics(),
  ) {}

  /** After each poll: ok, or failed at `ts`. Returns a comm-loss onset or clear when one happens. */
  poll(ts: number, ok: boolean): DetectorDiagnosticData[] {
    const c = this.state.device.commLoss;
    if (ok) {
      const since = c.since;
      c.since = undefined;
      if (!c.active) return [];
      c.active = false;
      return [{ condition: 'comm-loss', state: 'clear', since: since ?? ts, detail: 'the detector answers again' }];
    }
    c.since ??= ts;
    if (c.active || ts - c.since < this.thresholds.commLossS * 1000) return [];
    c.active = true;
    return [{ condition: 'comm-loss', state: 'onset', since: c.since, detail: `no good answer for ${Math.round((ts - c.since) / 1000)} s` }];
  }

  /** After each closed period: judges every lane of it. */
  period(closed: ClosedPeriod): DetectorDiagnosticData[] {
    const out: DetectorDiagnosticData[] = [];
    const { data } = closed;
    const t = this.thresholds;
    const end = data.periodStart + data.periodS * 1000;
    const completeness = data.completeness;
    for (const [laneKey, lane] of Object.entries(data.lanes)) {
      const conds = (this.state.lanes[laneKey] ??= {});
      const judge = (condition: DiagnosticCondition, symptom: boolean, runAdd: number, threshold: number, detail: () => string) => {
        const c = (conds[condition] ??= { active: false, run: 0 });
        if (symptom) {
          c.since ??= data.periodStart;
          c.run += runAdd;
          if (!c.active && c.run >= threshold) {
            c.active = true;
            out.push({ condition, state: 'onset', lane: Number(laneKey), since: c.since, detail: detail() });
          }
        } else {
          if (c.active) out.push({ condition, state: 'clear', lane: Number(laneKey), since: c.since ?? data.periodStart, detail: `${condition} ended by ${new Date(end).toISOString()}` });
          c.active = false;
          c.run = 0;
          delete c.since;
        }
      };
      const occupancy = lane.occupancy;
      // A period without samples tells nothing about the lane: leave its conditions as they are.
      if (completeness === 0) continue;
      judge('locked-on', occupancy !== undefined && occupancy >= t.lockedOnOccupancy, data.periodS, t.lockedOnS, () => `occupancy ${occupancy}% for ${conds['locked-on']!.run} s`);
      judge('no-activity', lane.volume === 0 && (occupancy ?? 0) < t.lockedOnOccupancy, data.periodS, t.noActivityS, () => `no vehicle for ${conds['no-activity']!.run} s`);
      judge('chatter', lane.flow > t.chatterFlowVehH, 1, 1, () => `flow ${lane.flow} veh/h exceeds ${t.chatterFlowVehH}`);
      judge('intermittent', completeness < t.intermittentCompleteness, 1, t.intermittentPeriods, () => `only ${completeness}% of polls answered in ${conds.intermittent!.run} periods in a row`);
      judge(
        'constant',
        closed.occupancyFlat[laneKey] === true && occupancy !== undefined && occupancy > 0 && occupancy < t.lockedOnOccupancy,
        1,
        t.constantPeriods,
        () => `occupancy stuck at ${occupancy}% for ${conds.constant!.run} periods`,
      );
    }
    return out;
  }

  /** Conditions active now, for status displays. */
  active(): { lane?: number; condition: DiagnosticCondition; since?: number }[] {
    const out: { lane?: number; condition: DiagnosticCondition; since?: number }[] = [];
    if (this.state.device.commLoss.active) out.push({ condition: 'comm-loss', ...(this.state.device.commLoss.since !== undefined ? { since: this.state.device.commLoss.since } : {}) });
    for (const [lane, conds] of Object.entries(this.state.lanes)) {
      for (const [condition, c] of Object.entries(conds)) {
        if (c?.active) out.push({ lane: Number(lane), condition: condition as DiagnosticCondition, ...(c.since !== undefined ? { since: c.since } : {}) });
      }
    }
    return out;
  }
}
