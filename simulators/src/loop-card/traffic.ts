/**
 * Vehicles crossing the inductive loops of a multi-lane detector card, in simulated time: what
 * the road did, before any detector fault.
 *
 * Per lane, vehicles come from two seeded streams merged in time order:
 * - random arrivals, a Poisson process whose rate follows the time of day (thinning);
 * - platoons released by an upstream signal every `signalCycleS`, whose members follow each
 *   other at the saturation headway (`platoonShare` of the demand comes this way).
 * Each vehicle gets a length class (short 4-5 m, medium 6-9 m, long 10-18 m by default) and a
 * speed drawn from its lane's distribution, or from an incident's while one is on. A vehicle is
 * counted when its front reaches the loop and occupies it until its rear has left:
 * (length + loop length) / speed. A vehicle never reaches the loop sooner than `minGapS` after the
 * previous one left it; when demand exceeds what a (slowed) lane can carry, vehicles queue.
 *
 * Everything is event-driven: advancing the model by one step or by a thousand gives the same
 * vehicles, so counts stay exact at any time scale.
 */
import { createRandom, deriveSeed, type Random } from '../random.js';
import { SpeedRegime, checkScenario, type ScenarioEvent, type SpeedDistribution } from './scenario.js';
import { DemandCurve, type TimeOfDayProfile } from './time-of-day.js';

export const LENGTH_CLASSES = ['short', 'medium', 'long'] as const;
export type LengthClass = (typeof LENGTH_CLASSES)[number];
export type ClassCounts = Record<LengthClass, number>;

export interface Vehicle {
  lane: number;
  /** Sim time at which the front reaches the loop (the vehicle is counted then). */
  arrivalS: number;
  /** Sim time at which the rear leaves the loop. */
  clearS: number;
  lengthM: number;
  speedKmh: number;
  lengthClass: LengthClass;
  /** Came in a platoon from the upstream signal. */
  platoon: boolean;
}

export interface LengthClassSpec {
  /** Share of the vehicles in this class; the shares are used relative to their sum. */
  share: number;
  lengthM: readonly [number, number];
}

export interface TrafficParams {
  lanes: number;
  seed: number;
  /** Mean arrivals per lane per sim second; with a time-of-day profile, the mean over a whole day. */
  ratePerLane: number;
  /** Demand by time of day. Default 'flat'. */
  timeOfDay: TimeOfDayProfile;
  /** Clock hour at sim time 0 (e.g. 7 or 7.5). Default 0. */
  startHour: number;
  /** Per lane multiplier of ratePerLane (lane 1 first); default 1 for every lane. */
  laneRateFactors?: readonly number[];
  /** Share of the demand that arrives in platoons from an upstream signal, 0..1. Default 0. */
  platoonShare: number;
  signalCycleS: number;
  /** Headway between platoon members as they leave the signal, s. */
  platoonHeadwayS: number;
  /** Mean free speed over the lanes, km/h. */
  speedMeanKmh: number;
  speedSdKmh: number;
  /** Lane 1 is this much faster than lane 2, and so on, keeping the mean over the lanes at speedMeanKmh. */
  laneSpeedStepKmh: number;
  /** Explicit per-lane free-speed distributions; override speedMeanKmh, speedSdKmh and laneSpeedStepKmh. */
  laneSpeeds?: readonly SpeedDistribution[];
  classes: Readonly<Record<LengthClass, LengthClassSpec>>;
  loopLengthM: number;
  /**
   * Least time between one vehicle's rear leaving the loop and the next one's front reaching it.
   * A single loop cannot tell two vehicles apart without a gap, so an arrival that would come
   * sooner waits: this is also how queues form when the demand exceeds the lane's capacity.
   */
  minGapS: number;
  /** No vehicle arrives after this sim time (undefined: no limit). */
  durationS?: number;
  scenario: readonly ScenarioEvent[];
  /** Vehicles are kept for period statistics this long, sim seconds. */
  retentionS: number;
  onVehicle?: (vehicle: Vehicle) => void;
}

export type TrafficOptions = Partial<TrafficParams> & Pick<TrafficParams, 'lanes' | 'seed'>;

export const DEFAULT_TRAFFIC: Omit<TrafficParams, 'lanes' | 'seed'> = {
  ratePerLane: 0.3,
  timeOfDay: 'flat',
  startHour: 0,
  platoonShare: 0,
  signalCycleS: 90,
  platoonHeadwayS: 2,
  speedMeanKmh: 60,
  speedSdKmh: 8,
  laneSpeedStepKmh: 3,
  classes: {
    short: { share: 0.85, lengthM: [4, 5] },
    medium: { share: 0.1, lengthM: [6, 9] },
    long: { share: 0.05, lengthM: [10, 18] },
  },
  loopLengthM: 2,
  minGapS: 0.3,
  scenario: [],
  retentionS: 6 * 3600,
};

const zeroClasses = (): ClassCounts => ({ short: 0, medium: 0, long: 0 });

interface LaneState {
  lane: number;
  rateFactor: number;
  free: SpeedDistribution;
  arrivals: Random;
  platoons: Random;
  attributes: Random;
  /** Desired time of the next random arrival (Infinity: none). */
  nextRandomS: number;
  /** Desired times of the current platoon's members not yet released. */
  platoon: number[];
  nextCycle: number;
  lastClearS: number;
  /** Drawn but not yet arrived (arrivalS > now); undefined once arrivals have ended. */
  pending: Vehicle | undefined;
  counted: number;
  byClass: ClassCounts;
  /** Vehicles in arrival order; since they never overlap on a loop, clearS is increasing too. */
  log: Vehicle[];
  head: number;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

function checkParams(p: TrafficParams): void {
  check(Number.isInteger(p.lanes) && p.lanes >= 1, `lanes must be a positive integer, got ${p.lanes}`);
  check(Number.isFinite(p.ratePerLane) && p.ratePerLane >= 0, `ratePerLane must be >= 0, got ${p.ratePerLane}`);
  check(p.durationS === undefined || p.durationS >= 0, `durationS must be >= 0, got ${p.durationS}`);
  check(Number.isFinite(p.startHour) && p.startHour >= 0 && p.startHour < 24, `startHour must be a number 0..24 (exclusive), got ${p.startHour}`);
  check(Number.isFinite(p.platoonShare) && p.platoonShare >= 0 && p.platoonShare <= 1, `platoonShare must be 0..1, got ${p.platoonShare}`);
  check(p.signalCycleS >= 10 && Number.isFinite(p.signalCycleS), `signalCycleS must be >= 10, got ${p.signalCycleS}`);
  check(p.platoonHeadwayS > 0 && Number.isFinite(p.platoonHeadwayS), `platoonHeadwayS must be > 0, got ${p.platoonHeadwayS}`);
  check(p.speedMeanKmh >= 5 && p.speedSdKmh >= 0, `speedMeanKmh must be >= 5 and speedSdKmh >= 0, got ${p.speedMeanKmh}, ${p.speedSdKmh}`);
  check(p.loopLengthM > 0 && p.minGapS >= 0, `loopLengthM must be > 0 and minGapS >= 0, got ${p.loopLengthM}, ${p.minGapS}`);
  check(p.retentionS > 0, `retentionS must be > 0, got ${p.retentionS}`);
  if (p.laneRateFactors !== undefined) {
    check(
      p.laneRateFactors.length === p.lanes && p.laneRateFactors.every((f) => Number.isFinite(f) && f >= 0),
      `laneRateFactors must give a factor >= 0 for each of the ${p.lanes} lanes, got ${JSON.stringify(p.laneRateFactors)}`,
    );
  }
  if (p.laneSpeeds !== undefined) {
    check(
      p.laneSpeeds.length === p.lanes && p.laneSpeeds.every((s) => s.meanKmh >= 5 && s.sdKmh >= 0),
      `laneSpeeds must give {meanKmh >= 5, sdKmh >= 0} for each of the ${p.lanes} lanes, got ${JSON.stringify(p.laneSpeeds)}`,
    );
  }
  const shares = Object.values(p.classes).map((c) => c.share);
  check(shares.every((s) => s >= 0) && shares.some((s) => s > 0), `class shares must be >= 0 and not all 0`);
  for (const [name, spec] of Object.entries(p.classes)) {
    const [min, max] = spec.lengthM;
    check(min > 0 && max >= min, `class ${name}: lengthM must be [min, max] with 0 < min <= max, got ${JSON.stringify(spec.lengthM)}`);
  }
}

/** Free-speed distribution of each lane: explicit, or stepping down from lane 1 around the mean. */
function laneSpeedsOf(p: TrafficParams): SpeedDistribution[] {
  if (p.laneSpeeds) return p.laneSpeeds.map((s) => ({ ...s }));
  const middle = (p.lanes - 1) / 2;
  return Array.from({ length: p.lanes }, (_, i) => ({
    meanKmh: Math.max(5, p.speedMeanKmh + p.laneSpeedStepKmh * (middle - i)),
    sdKmh: p.speedSdKmh,
  }));
}

export class TrafficModel {
  readonly params: TrafficParams;
  private readonly lanes: LaneState[] = [];
  private readonly demand: DemandCurve;
  private readonly regime: SpeedRegime;
  private readonly listeners: Array<(v: Vehicle) => void> = [];
  private readonly cycleOffsetS: number;
  private nowS = 0;
  private arrivalsEndS: number;
  private completeFromS = 0;

  constructor(options: TrafficOptions) {
    this.params = { ...DEFAULT_TRAFFIC, ...options };
    const p = this.params;
    checkParams(p);
    this.params.scenario = checkScenario(p.scenario, p.lanes);
    this.demand = new DemandCurve(p.timeOfDay);
    this.regime = new SpeedRegime(laneSpeedsOf(p), p.scenario);
    if (p.onVehicle) this.listeners.push(p.onVehicle);
    this.arrivalsEndS = p.durationS ?? Infinity;
    // One upstream signal for the whole road: every lane's platoons leave at the same moments.
    this.cycleOffsetS = createRandom(deriveSeed(p.seed, 1000)).uniform(0, p.signalCycleS);
    const speeds = laneSpeedsOf(p);
    for (let lane = 1; lane <= p.lanes; lane++) {
      const state: LaneState = {
        lane,
        rateFactor: p.laneRateFactors?.[lane - 1] ?? 1,
        free: speeds[lane - 1]!,
        arrivals: createRandom(deriveSeed(p.seed, lane)),
        platoons: createRandom(deriveSeed(p.seed, 100 + lane)),
        attributes: createRandom(deriveSeed(p.seed, 200 + lane)),
        nextRandomS: 0,
        platoon: [],
        nextCycle: 0,
        lastClearS: -Infinity,
        pending: undefined,
        counted: 0,
        byClass: zeroClasses(),
        log: [],
        head: 0,
      };
      state.nextRandomS = this.nextRandomArrival(state, 0);
      state.pending = this.nextVehicle(state);
      this.lanes.push(state);
    }
  }

  get simTimeS(): number {
    return this.nowS;
  }

  /** Clock second of day (may pass 86400 after midnight) at a sim time. */
  clockS(simS: number = this.nowS): number {
    return this.params.startHour * 3600 + simS;
  }

  /** True while new vehicles may still arrive. */
  get generating(): boolean {
    return this.nowS < this.arrivalsEndS && this.params.ratePerLane > 0;
  }

  get laneCount(): number {
    return this.lanes.length;
  }

  /** Free-speed distribution of a lane (before incidents). */
  freeSpeed(lane: number): SpeedDistribution {
    return { ...this.lane(lane).free };
  }

  /** Demand (mean arrivals per sim second) of a lane at a sim time, before queueing. */
  demandAt(lane: number, simS: number): number {
    return this.demandOf(this.lane(lane), simS);
  }

  private demandOf(state: LaneState, simS: number): number {
    return this.params.ratePerLane * state.rateFactor * this.demand.factorAt(this.clockS(simS));
  }

  /** Sim time from which vehicles are still kept: statistics of earlier times are no longer exact. */
  get keptFromS(): number {
    return this.completeFromS;
  }

  onVehicle(listener: (vehicle: Vehicle) => void): void {
    this.listeners.push(listener);
  }

  /** Moves sim time forward to `simS`, counting every vehicle whose front reached its loop by then. */
  advanceTo(simS: number): void {
    if (!(simS > this.nowS)) return;
    this.nowS = simS;
    const keepFromS = Math.max(0, simS - this.params.retentionS);
    for (const state of this.lanes) {
      let v = state.pending;
      while (v !== undefined && v.arrivalS <= simS) {
        state.counted++;
        state.byClass[v.lengthClass]++;
        state.log.push(v);
        for (const listener of this.listeners) listener(v);
        v = this.nextVehicle(state);
      }
      state.pending = v;
      this.forget(state, keepFromS);
    }
    this.completeFromS = keepFromS;
  }

  /** No vehicle arrives after the current sim time; those on a loop leave it as they would. */
  stopArrivals(): void {
    this.arrivalsEndS = Math.min(this.arrivalsEndS, this.nowS);
    for (const state of this.lanes) state.pending = undefined;
  }

  /** Vehicles counted on a lane (1-based) since the start. */
  counted(lane: number): number {
    return this.lane(lane).counted;
  }

  countedByClass(lane: number): ClassCounts {
    return { ...this.lane(lane).byClass };
  }

  get totalCounted(): number {
    return this.lanes.reduce((sum, s) => sum + s.counted, 0);
  }

  /** Kept vehicles of a lane that were over the loop at some time in [fromS, toS), in order. */
  vehiclesDuring(lane: number, fromS: number, toS: number): Vehicle[] {
    const state = this.lane(lane);
    const log = state.log;
    // clearS increases along the log: binary search for the first vehicle still on the loop at fromS.
    let lo = state.head;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (log[mid]!.clearS <= fromS) lo = mid + 1;
      else hi = mid;
    }
    const out: Vehicle[] = [];
    for (let i = lo; i < log.length && log[i]!.arrivalS < toS; i++) out.push(log[i]!);
    return out;
  }

  /** Whether a vehicle is over the loop right now. */
  present(lane: number): boolean {
    const state = this.lane(lane);
    const last = state.log[state.log.length - 1];
    return last !== undefined && last.arrivalS <= this.nowS && this.nowS < last.clearS;
  }

  private lane(lane: number): LaneState {
    const state = this.lanes[lane - 1];
    if (!state) throw new RangeError(`lane ${lane} outside 1..${this.lanes.length}`);
    return state;
  }

  private forget(state: LaneState, keepFromS: number): void {
    while (state.head < state.log.length && state.log[state.head]!.clearS < keepFromS) state.head++;
    if (state.head > 4096 && state.head * 2 > state.log.length) {
      state.log = state.log.slice(state.head);
      state.head = 0;
    }
  }

  /** Desired time of the next random (non-platoon) arrival after `afterS`, by thinning the time-of-day rate. */
  private nextRandomArrival(state: LaneState, afterS: number): number {
    const p = this.params;
    const boundRate = p.ratePerLane * state.rateFactor * (1 - p.platoonShare) * this.demand.maxFactor;
    if (!(boundRate > 0)) return Infinity;
    let t = afterS;
    for (;;) {
      t += state.arrivals.exponential(boundRate);
      if (t > this.arrivalsEndS) return Infinity;
      if (this.demand.flat) return t;
      if (state.arrivals.next() * this.demand.maxFactor < this.demand.factorAt(this.clockS(t))) return t;
    }
  }

  /** Fills the lane's platoon with the next signal cycle that releases anyone; false when no platoon can come. */
  private nextPlatoon(state: LaneState): boolean {
    const p = this.params;
    if (!(p.platoonShare > 0 && p.ratePerLane * state.rateFactor * this.demand.maxFactor > 0)) return false;
    // A quiet night may release nobody for many cycles; look at most two days ahead per call.
    for (let searched = 0; searched * p.signalCycleS < 2 * 86_400; searched++) {
      const greenS = this.cycleOffsetS + state.nextCycle * p.signalCycleS;
      if (greenS > this.arrivalsEndS) return false;
      state.nextCycle++;
      const mean = this.demandOf(state, greenS) * p.platoonShare * p.signalCycleS;
      const size = state.platoons.poisson(mean);
      if (size === 0) continue;
      for (let i = 0; i < size; i++) state.platoon.push(greenS + i * p.platoonHeadwayS + state.platoons.uniform(0, 0.4 * p.platoonHeadwayS));
      return true;
    }
    return false;
  }

  private nextVehicle(state: LaneState): Vehicle | undefined {
    const p = this.params;
    if (state.platoon.length === 0) this.nextPlatoon(state);
    const platoonS = state.platoon[0] ?? Infinity;
    let desiredS: number;
    let platoon = false;
    if (platoonS < state.nextRandomS) {
      desiredS = state.platoon.shift()!;
      platoon = true;
    } else {
      desiredS = state.nextRandomS;
      if (desiredS !== Infinity) state.nextRandomS = this.nextRandomArrival(state, desiredS);
    }
    const arrivalS = Math.max(desiredS, state.lastClearS + p.minGapS);
    if (!(arrivalS <= this.arrivalsEndS)) return undefined;

    const r = state.attributes;
    const lengthClass = this.drawClass(r);
    const [minLength, maxLength] = p.classes[lengthClass].lengthM;
    const lengthM = r.uniform(minLength, maxLength);
    const { meanKmh, sdKmh } = this.regime.at(state.lane, arrivalS);
    // Clamp at 3 sd: the normal's tails would otherwise give the odd walking-pace or 150 km/h car.
    const speedKmh = Math.min(meanKmh + 3 * sdKmh, Math.max(Math.max(3, meanKmh - 3 * sdKmh), r.normal(meanKmh, sdKmh)));
    const clearS = arrivalS + (lengthM + p.loopLengthM) / (speedKmh / 3.6);
    state.lastClearS = clearS;
    return { lane: state.lane, arrivalS, clearS, lengthM, speedKmh, lengthClass, platoon };
  }

  private drawClass(r: Random): LengthClass {
    const classes = this.params.classes;
    const total = LENGTH_CLASSES.reduce((sum, c) => sum + classes[c].share, 0);
    let x = r.next() * total;
    let drawn: LengthClass = 'short';
    for (const c of LENGTH_CLASSES) {
      if (classes[c].share <= 0) continue;
      drawn = c;
      x -= classes[c].share;
      if (x < 0) break;
    }
    return drawn;
  }
}
