/**
 * Vehicles crossing the inductive loops of a multi-lane detector card, in simulated time.
 *
 * Per lane: Poisson arrivals, each vehicle with a length (mostly cars, some trucks) and a speed
 * drawn from a normal distribution. A vehicle is counted when its front reaches the loop; it
 * occupies the loop until its rear has left it: (length + loop length) / speed. Each lane draws
 * from its own seeded stream, vehicle by vehicle, so the vehicles depend only on the seed and
 * not on how often the model is advanced.
 */
import { createRandom, deriveSeed, type Random } from '../random.js';

export interface Vehicle {
  lane: number;
  /** Sim time at which the front reaches the loop (the vehicle is counted then). */
  arrivalS: number;
  /** Sim time at which the rear leaves the loop. */
  clearS: number;
  lengthM: number;
  speedKmh: number;
  truck: boolean;
}

export interface TrafficParams {
  lanes: number;
  seed: number;
  /** Mean arrivals per lane per sim second. */
  ratePerLane: number;
  /** No vehicle arrives after this sim time (undefined: no limit). */
  durationS?: number;
  /** Length of the aggregation window for occupancy and speed, sim seconds. */
  windowS: number;
  loopLengthM: number;
  speedMeanKmh: number;
  speedSdKmh: number;
  truckShare: number;
  carLengthM: readonly [number, number];
  truckLengthM: readonly [number, number];
  /**
   * Least time between one vehicle's rear leaving the loop and the next one's front reaching it.
   * A single loop cannot tell two vehicles apart without a gap, so an arrival that would come
   * sooner is delayed to keep every vehicle countable (this thins the rate at very high flows).
   */
  minGapS: number;
  onVehicle?: (vehicle: Vehicle) => void;
}

export const DEFAULT_TRAFFIC: Omit<TrafficParams, 'lanes' | 'seed'> = {
  ratePerLane: 0.3,
  windowS: 1,
  loopLengthM: 2,
  speedMeanKmh: 60,
  speedSdKmh: 8,
  truckShare: 0.1,
  carLengthM: [4, 5],
  truckLengthM: [10, 16],
  minGapS: 0.3,
};

export interface WindowStats {
  /** Percent of the window during which the loop was occupied, 0..100. */
  occupancyPct: number;
  /** Mean speed of the vehicles that arrived in the window; 0 when none did. */
  speedKmh: number;
  vehicles: number;
}

interface LaneState {
  random: Random;
  counted: number;
  /** Drawn but not yet arrived (arrivalS > now); undefined once arrivals have ended. */
  pending: Vehicle | undefined;
  /** Vehicles that may still matter for the last complete window or for presence now. */
  recent: Vehicle[];
}

/** Occupancy and mean speed of one lane's vehicles over [startS, startS + windowS). */
export function windowStats(vehicles: readonly Vehicle[], startS: number, windowS: number): WindowStats {
  const endS = startS + windowS;
  let occupiedS = 0;
  let speedSum = 0;
  let arrived = 0;
  for (const v of vehicles) {
    occupiedS += Math.max(0, Math.min(v.clearS, endS) - Math.max(v.arrivalS, startS));
    if (v.arrivalS >= startS && v.arrivalS < endS) {
      speedSum += v.speedKmh;
      arrived++;
    }
  }
  return {
    occupancyPct: Math.min(100, (occupiedS / windowS) * 100),
    speedKmh: arrived === 0 ? 0 : speedSum / arrived,
    vehicles: arrived,
  };
}

export class TrafficModel {
  private readonly params: TrafficParams;
  private readonly lanes: LaneState[] = [];
  private nowS = 0;
  private arrivalsEndS: number;
  private readonly minSpeedKmh: number;
  private readonly maxSpeedKmh: number;

  constructor(params: Partial<TrafficParams> & Pick<TrafficParams, 'lanes' | 'seed'>) {
    this.params = { ...DEFAULT_TRAFFIC, ...params };
    const p = this.params;
    if (!Number.isInteger(p.lanes) || p.lanes < 1) throw new RangeError(`lanes must be a positive integer, got ${p.lanes}`);
    if (!(p.ratePerLane >= 0) || !Number.isFinite(p.ratePerLane)) throw new RangeError(`ratePerLane must be >= 0, got ${p.ratePerLane}`);
    if (!(p.windowS > 0)) throw new RangeError(`windowS must be > 0, got ${p.windowS}`);
    if (p.durationS !== undefined && !(p.durationS >= 0)) throw new RangeError(`durationS must be >= 0, got ${p.durationS}`);
    this.arrivalsEndS = p.durationS ?? Infinity;
    // Clamp at 3 sd: the normal's tails would otherwise give the odd walking-pace or 150 km/h car.
    this.minSpeedKmh = Math.max(5, p.speedMeanKmh - 3 * p.speedSdKmh);
    this.maxSpeedKmh = p.speedMeanKmh + 3 * p.speedSdKmh;
    for (let lane = 1; lane <= p.lanes; lane++) {
      const state: LaneState = { random: createRandom(deriveSeed(p.seed, lane)), counted: 0, pending: undefined, recent: [] };
      state.pending = this.drawAfter(lane, state, 0, -Infinity);
      this.lanes.push(state);
    }
  }

  get simTimeS(): number {
    return this.nowS;
  }

  /** True while new vehicles may still arrive. */
  get generating(): boolean {
    return this.nowS < this.arrivalsEndS && this.params.ratePerLane > 0;
  }

  get laneCount(): number {
    return this.lanes.length;
  }

  /** Moves sim time forward to `simS`, counting every vehicle whose front reached its loop by then. */
  advanceTo(simS: number): void {
    if (!(simS > this.nowS)) return;
    this.nowS = simS;
    const keepFromS = (Math.floor(simS / this.params.windowS) - 1) * this.params.windowS;
    this.lanes.forEach((state, index) => {
      let v = state.pending;
      while (v !== undefined && v.arrivalS <= simS) {
        state.counted++;
        state.recent.push(v);
        this.params.onVehicle?.(v);
        v = this.drawAfter(index + 1, state, v.arrivalS, v.clearS);
      }
      state.pending = v;
      if (state.recent.length > 0 && (state.recent[0]?.clearS ?? Infinity) < keepFromS) {
        state.recent = state.recent.filter((r) => r.clearS >= keepFromS);
      }
    });
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

  get totalCounted(): number {
    return this.lanes.reduce((sum, s) => sum + s.counted, 0);
  }

  /** Stats of the last complete aggregation window, [k*W, (k+1)*W) with (k+1)*W <= now. */
  lastWindow(lane: number): WindowStats {
    const state = this.lane(lane);
    const k = Math.floor(this.nowS / this.params.windowS) - 1;
    if (k < 0) return { occupancyPct: 0, speedKmh: 0, vehicles: 0 };
    return windowStats(state.recent, k * this.params.windowS, this.params.windowS);
  }

  /** Whether a vehicle is over the loop right now. */
  present(lane: number): boolean {
    return this.lane(lane).recent.some((v) => v.arrivalS <= this.nowS && this.nowS < v.clearS);
  }

  private lane(lane: number): LaneState {
    const state = this.lanes[lane - 1];
    if (!state) throw new RangeError(`lane ${lane} outside 1..${this.lanes.length}`);
    return state;
  }

  private drawAfter(lane: number, state: LaneState, previousArrivalS: number, previousClearS: number): Vehicle | undefined {
    const p = this.params;
    if (p.ratePerLane <= 0) return undefined;
    const r = state.random;
    const gapS = r.exponential(p.ratePerLane);
    const truck = r.chance(p.truckShare);
    const [minLength, maxLength] = truck ? p.truckLengthM : p.carLengthM;
    const lengthM = r.uniform(minLength, maxLength);
    const speedKmh = Math.min(this.maxSpeedKmh, Math.max(this.minSpeedKmh, r.normal(p.speedMeanKmh, p.speedSdKmh)));
    const arrivalS = Math.max(previousArrivalS + gapS, previousClearS + p.minGapS);
    if (arrivalS > this.arrivalsEndS) return undefined;
    const clearS = arrivalS + (lengthM + p.loopLengthM) / (speedKmh / 3.6);
    return { lane, arrivalS, clearS, lengthM, speedKmh, truck };
  }
}
