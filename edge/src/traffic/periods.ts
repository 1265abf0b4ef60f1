/**
 * Clock-aligned sample periods of one detector (NTCIP 1209 style binned data): per lane volume,
 * occupancy, mean speed and length classes, from the polls that fell inside the period. A period
 * that lost polls says so in `completeness`; nothing is filled in. The accumulator is plain data so
 * the poller can store it in the outbox with each poll and a restart continues the open period.
 */
import type { LanePeriod, TrafficPeriodData } from '@quanlink/contracts';
import { estimateSpeed, type SpeedModel } from './speed-estimate.js';

export const LENGTH_CLASSES = ['short', 'medium', 'long'] as const;
export type LengthClass = (typeof LENGTH_CLASSES)[number];

/** What one successful poll says about one lane. */
export interface LaneSample {
  /** Vehicles since the previous poll. */
  delta: number;
  occupancy?: number;
  /** Mean speed the card measured over its own window (0 = no vehicle), km/h. */
  speed?: number;
  classDeltas?: Partial<Record<LengthClass, number>>;
}

interface LaneAccumulator {
  volume: number;
  occSum: number;
  occSamples: number;
  occMin: number;
  occMax: number;
  /** Σ speed × vehicles, over polls that counted vehicles and had a speed. */
  speedWeighted: number;
  speedVehicles: number;
  classes?: Record<LengthClass, number>;
}

export interface PeriodState {
  periodStart: number;
  polls: number;
  lanes: Record<string, LaneAccumulator>;
}

/** Extra facts about a closed period that diagnostics need but the contract does not carry. */
export interface ClosedPeriod {
  data: TrafficPeriodData;
  /** Per lane: occupancy samples were all identical. */
  occupancyFlat: Record<string, boolean>;
}

export class PeriodAggregator {
  private readonly periodMs: number;

  constructor(
    readonly periodS: number,
    private readonly pollIntervalMs: number,
    private readonly speedModels: (lane: string) => SpeedModel,
    private state: PeriodState | undefined = undefined,
  ) {
    this.periodMs = periodS * 1000;
  }

  get snapshot(): PeriodState | undefined {
    return this.state;
  }

  periodStartOf(ts: number): number {
    return Math.floor(ts / this.periodMs) * this.periodMs;
  }

  /**
   * Accounts one poll at `ts` (samples undefined: the poll failed). Returns the periods this poll
   * closed (the open one, when `ts` is past its end), oldest first.
   */
  add(ts: number, samples: Record<string, LaneSample> | undefined): ClosedPeriod[] {
    const closed: ClosedPeriod[] = [];
    const start = this.periodStartOf(ts);
    if (this.state && this.state.periodStart !== start) {
      closed.push(this.close(this.state));
      this.state = undefined;
    }
    this.state ??= { periodStart: start, polls: 0, lanes: {} };
    if (samples) {
      this.state.polls++;
      for (const [lane, sample] of Object.entries(samples)) this.addLane(this.state, lane, sample);
    }
    return closed;
  }

  private addLane(state: PeriodState, lane: string, sample: LaneSample): void {
    // occMin/occMax are only read once occSamples > 0 (Infinity would not survive JSON in the outbox).
    const acc = (state.lanes[lane] ??= { volume: 0, occSum: 0, occSamples: 0, occMin: 0, occMax: 0, speedWeighted: 0, speedVehicles: 0 });
    acc.volume += sample.delta;
    if (sample.occupancy !== undefined) {
      acc.occMin = acc.occSamples === 0 ? sample.occupancy : Math.min(acc.occMin, sample.occupancy);
      acc.occMax = acc.occSamples === 0 ? sample.occupancy : Math.max(acc.occMax, sample.occupancy);
      acc.occSum += sample.occupancy;
      acc.occSamples++;
    }
    if (sample.speed !== undefined && sample.speed > 0 && sample.delta > 0) {
      acc.speedWeighted += sample.speed * sample.delta;
      acc.speedVehicles += sample.delta;
    }
    if (sample.classDeltas) {
      acc.classes ??= { short: 0, medium: 0, long: 0 };
      for (const cls of LENGTH_CLASSES) acc.classes[cls] += sample.classDeltas[cls] ?? 0;
    }
  }

  private close(state: PeriodState): ClosedPeriod {
    const expectedPolls = Math.max(1, Math.round(this.periodMs / this.pollIntervalMs));
    const lanes: Record<string, LanePeriod> = {};
    const occupancyFlat: Record<string, boolean> = {};
    for (const [lane, acc] of Object.entries(state.lanes)) {
      const flow = round((acc.volume * 3600) / this.periodS, 1);
      const occupancy = acc.occSamples > 0 ? round(acc.occSum / acc.occSamples, 2) : undefined;
      const period: LanePeriod = { volume: acc.volume, flow, speedSource: 'none' };
      if (occupancy !== undefined) period.occupancy = occupancy;
      if (acc.speedVehicles > 0) {
        period.speed = round(acc.speedWeighted / acc.speedVehicles, 1);
        period.speedSource = 'measured';
      } else {
        const estimate = estimateSpeed(this.speedModels(lane), flow, occupancy);
        if (estimate !== undefined) {
          period.speed = round(estimate, 1);
          period.speedSource = 'estimated';
        }
      }
      if (acc.classes) period.classes = { ...acc.classes };
      lanes[lane] = period;
      occupancyFlat[lane] = acc.occSamples > 1 && acc.occMin === acc.occMax;
    }
    return {
      data: {
        periodStart: state.periodStart,
        periodS: this.periodS,
        completeness: round(Math.min(100, (state.polls / expectedPolls) * 100), 1),
        lanes,
      },
      occupancyFlat,
    };
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
