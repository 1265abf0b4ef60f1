/**
 * Ground truth per clock-aligned sample period (NTCIP 1209: 20, 30 or 60 s periods that start on
 * the clock's boundaries): per lane, what the road did and what the card measured.
 */
import type { LoopDetector } from './detector.js';
import type { LaneFaultKind } from './faults.js';
import type { LaneStats } from './lane-stats.js';
import { formatClock } from './time-of-day.js';

export type PeriodStats = LaneStats & {
  /** volume scaled to vehicles per hour. */
  flowVehH: number;
};

export interface PeriodLaneTruth {
  road: PeriodStats;
  /** What the card's channel measured (lane faults applied), and which lane faults acted in the period. */
  reported: PeriodStats & { faults: LaneFaultKind[] };
}

export interface TruthPeriod {
  /** Sim seconds. */
  startS: number;
  endS: number;
  periodS: number;
  /** Clock time of day at the start, 'HH:MM:SS'. */
  clock: string;
  lanes: Record<string, PeriodLaneTruth>;
}

export interface PeriodRange {
  /** Only periods starting at or after this sim time. */
  fromS?: number;
  /** Only periods ending at or before this sim time. */
  toS?: number;
}

/** Throws a RangeError unless periodS is a whole number of seconds that divides an hour (20, 30, 60, 300...). */
export function checkPeriodS(periodS: number): void {
  if (!Number.isInteger(periodS) || periodS < 1 || 3600 % periodS !== 0) {
    throw new RangeError(`periodS must be a whole number of seconds that divides 3600 (e.g. 20, 30, 60), got ${String(periodS)}`);
  }
}

/**
 * Every complete period of `periodS` in the kept history (a period that began before sim time 0,
 * or before the oldest kept vehicle, is left out), oldest first.
 */
export function truthPeriods(detector: LoopDetector, periodS: number, range: PeriodRange = {}): TruthPeriod[] {
  checkPeriodS(periodS);
  const model = detector.model;
  const clockAtZero = model.clockS(0);
  const fromS = Math.max(range.fromS ?? 0, model.keptFromS, 0);
  const toS = Math.min(range.toS ?? Infinity, model.simTimeS);
  const periods: TruthPeriod[] = [];
  // Boundaries are whole multiples of periodS on the clock; work in clock seconds to keep them exact.
  for (let clockStart = Math.ceil((clockAtZero + fromS) / periodS) * periodS; clockStart + periodS - clockAtZero <= toS; clockStart += periodS) {
    const startS = clockStart - clockAtZero;
    const endS = startS + periodS;
    const lanes: Record<string, PeriodLaneTruth> = {};
    for (let lane = 1; lane <= detector.laneCount; lane++) {
      lanes[String(lane)] = {
        road: withFlow(detector.road(lane, startS, endS), periodS),
        reported: { ...withFlow(detector.reported(lane, startS, endS), periodS), faults: detector.faultKindsDuring(lane, startS, endS) },
      };
    }
    periods.push({ startS, endS, periodS, clock: formatClock(clockStart), lanes });
  }
  return periods;
}

function withFlow(stats: LaneStats, periodS: number): PeriodStats {
  return { ...stats, flowVehH: (stats.volume * 3600) / periodS };
}
