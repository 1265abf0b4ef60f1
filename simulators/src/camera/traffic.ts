/**
 * Motion on the road the camera sees: vehicles enter one end of their lane and drive to the other,
 * keeping a safe gap to the vehicle ahead (so object boxes never overlap and ground truth stays
 * clean), persons walk onto the verge, and scenario events hold, stop or reverse vehicles.
 *
 * The model advances in fixed sim-time steps of STEP_S, whatever the frame rate, so the same
 * seed gives the same traffic however often frames are taken. Each lane draws its arrivals,
 * speeds and looks from its own seeded random stream. Crossing times are interpolated inside a
 * step, so they are exact to well under a frame.
 */
import { createRandom, deriveSeed, type Random } from '../random.js';
import { insidePolygon, type RoadGeometry, type SceneZone } from './road-geometry.js';
import type { SceneScenarioEvent } from './scenario.js';
import type { SpriteLibrary } from './sprites.js';

export const STEP_S = 0.02;
/** Minimum gap to the vehicle ahead, metres, and time headway, seconds. */
const MIN_GAP_M = 2;
const HEADWAY_S = 1.2;
/** Comfortable braking and acceleration, m/s^2. */
const BRAKE = 3;
const ACCEL = 2.5;
/** Below this speed a vehicle counts as stopped, m/s. */
const STOPPED_MS = 0.1;
const WALK_MS = 1.3;

export interface TrafficSettings {
  flowVph: readonly number[];
  speedKmh: { mean: number; sd: number };
  lineY: readonly number[];
  seed: number;
  scenario: readonly SceneScenarioEvent[];
}

export interface SimCrossing {
  vehicleId: number;
  lane: number;
  line: string;
  direction: 'forward' | 'reverse';
  kind: 'vehicle' | 'person';
  atS: number;
}

export interface SimEvent {
  kind: 'queue' | 'stopped-vehicle' | 'wrong-way' | 'restricted-zone';
  state: 'onset' | 'clear';
  atS: number;
  detail: string;
  lane?: number;
  objectId?: number;
  zone?: string;
}

export interface SimVehicleRecord {
  id: number;
  lane: number;
  /** Relative to the lane's driving direction. */
  direction: 'forward' | 'reverse';
  kind: 'vehicle';
  label: string;
  sprite: string;
  speedKmh: number;
  enteredS: number;
  exitedS?: number;
}

/** Something to draw: its sprite and where its object box centre is. */
export interface Drawable {
  id: number;
  kind: 'vehicle' | 'person';
  label: string;
  lane?: number;
  sprite: number;
  mirrored: boolean;
  cx: number;
  cy: number;
  /** Object box width in px (before bucketing). */
  width: number;
}

interface Vehicle {
  id: number;
  lane: number;
  /** +1 moves down the image, -1 up. */
  sign: 1 | -1;
  wrongWay: boolean;
  sprite: number;
  aspect: number;
  /** Width relative to a standard vehicle's. */
  size: number;
  mirrored: boolean;
  /** Lateral offset from the lane centre, fraction of the lane width. */
  offset: number;
  y: number;
  v: number;
  v0: number;
  record: SimVehicleRecord;
  stop?: { y: number; durationS: number; stoppedAtS?: number; released: boolean };
  seen: boolean;
}

interface Person {
  id: number;
  sprite: number;
  aspect: number;
  x: number;
  y: number;
  targetX: number;
  phase: 'in' | 'dwell' | 'out';
  dwellUntilS: number;
  dwellS: number;
  inZone: boolean;
}

interface LaneState {
  random: Random;
  nextArrivalS: number;
  pending: number;
  /** Why new vehicles are held back (wrong-way or stopped-vehicle scenario), if they are. */
  heldBy: string | undefined;
  queueHold?: { event: SceneScenarioEvent & { kind: 'queue' }; stopLinePx: number; untilS: number; onset: boolean; max: number };
  stopNext?: SceneScenarioEvent & { kind: 'stopped-vehicle' };
  wrongWayPending?: SceneScenarioEvent & { kind: 'wrong-way' };
}

export const RESTRICTED_ZONE_ID = 'restricted-verge';

export class TrafficModel {
  t = 0;
  readonly crossings: SimCrossing[] = [];
  readonly events: SimEvent[] = [];
  readonly vehiclesSeen: SimVehicleRecord[] = [];
  private readonly vehicles: Vehicle[] = [];
  private readonly persons: Person[] = [];
  private readonly lanes: LaneState[];
  private readonly scenarioRandom: Random;
  private pendingScenario: SceneScenarioEvent[];
  private nextId = 1;
  private readonly restrictedZonePx: { x: number; y: number }[];

  constructor(
    private readonly road: RoadGeometry,
    private readonly sprites: SpriteLibrary,
    private readonly settings: TrafficSettings,
  ) {
    this.lanes = road.directions.map((_, i) => {
      const random = createRandom(deriveSeed(settings.seed, i + 1));
      const flow = settings.flowVph[i]!;
      return { random, nextArrivalS: flow > 0 ? random.exponential(flow / 3600) : Infinity, pending: 0, heldBy: undefined };
    });
    this.scenarioRandom = createRandom(deriveSeed(settings.seed, 1000));
    this.pendingScenario = [...settings.scenario].sort((a, b) => a.atS - b.atS);
    this.restrictedZonePx = this.zones()
      .find((z) => z.id === RESTRICTED_ZONE_ID)!
      .polygon.map((p) => ({ x: p.x * road.width, y: p.y * road.height }));
  }

  /** Queue zones of the scenario's queue events and the restricted zone, normalised. */
  zones(): SceneZone[] {
    const zones: SceneZone[] = [{ id: RESTRICTED_ZONE_ID, kind: 'restricted', polygon: this.road.rightVerge(0.3, 0.8) }];
    for (const e of this.settings.scenario) {
      if (e.kind !== 'queue' || zones.some((z) => z.id === `queue-lane-${e.lane}`)) continue;
      const stop = this.stopLineY(e);
      zones.push({ id: `queue-lane-${e.lane}`, kind: 'queue', lane: e.lane, polygon: this.road.laneBand(e.lane, this.road.laneSign(e.lane) === 1 ? 0 : 1, stop) });
    }
    return zones;
  }

  stopLineY(e: SceneScenarioEvent & { kind: 'queue' }): number {
    return e.stopLineY ?? (this.road.laneSign(e.lane) === 1 ? 0.9 : 0.1);
  }

  /** Advances one step of STEP_S sim seconds. */
  step(): void {
    const t0 = this.t;
    const t1 = t0 + STEP_S;
    this.startScenarioEvents(t1);
    this.spawnVehicles(t1);
    this.moveVehicles(t0, t1);
    this.movePersons(t1);
    this.watchQueues(t1);
    this.t = t1;
  }

  drawables(): Drawable[] {
    const out: Drawable[] = [];
    for (const v of this.vehicles) {
      const width = this.road.vehicleWidth(v.y) * v.size;
      out.push({ id: v.id, kind: 'vehicle', label: v.record.label, lane: v.lane, sprite: v.sprite, mirrored: v.mirrored, cx: this.road.laneCentre(v.lane, v.y) + v.offset * this.road.laneWidth(v.y), cy: v.y, width });
    }
    for (const p of this.persons) {
      const height = this.road.personHeight(p.y);
      out.push({ id: p.id, kind: 'person', label: 'person', sprite: p.sprite, mirrored: p.phase === 'out', cx: p.x, cy: p.y, width: height / p.aspect });
    }
    return out;
  }

  // --- scenario -----------------------------------------------------------------------------

  private startScenarioEvents(t: number): void {
    while (this.pendingScenario.length > 0 && this.pendingScenario[0]!.atS <= t) {
      const e = this.pendingScenario.shift()!;
      if (e.kind === 'pedestrian') this.spawnPerson(e.dwellS ?? 8);
      else {
        const lane = this.lanes[e.lane - 1]!;
        if (e.kind === 'queue') {
          const stopLinePx = this.stopLineY(e) * this.road.height;
          lane.queueHold = { event: e, stopLinePx, untilS: e.atS + e.durationS, onset: false, max: 0 };
        } else if (e.kind === 'stopped-vehicle') lane.stopNext = e;
        else {
          lane.wrongWayPending = e;
          lane.heldBy = 'wrong-way';
        }
      }
    }
  }

  private watchQueues(t: number): void {
    this.lanes.forEach((lane, i) => {
      const hold = lane.queueHold;
      if (!hold) return;
      const sign = this.road.laneSign(i + 1);
      const queued = this.vehicles.filter((v) => v.lane === i + 1 && !v.wrongWay && v.v < STOPPED_MS && sign * (hold.stopLinePx - (v.y + (sign * this.heightOf(v)) / 2)) >= -1).length;
      hold.max = Math.max(hold.max, queued);
      const where = `lane ${i + 1} behind the stop line at y=${(hold.stopLinePx / this.road.height).toFixed(2)}`;
      if (!hold.onset && queued >= 2) {
        hold.onset = true;
        this.events.push({ kind: 'queue', state: 'onset', atS: t, lane: i + 1, zone: `queue-lane-${i + 1}`, detail: `${queued} vehicles stopped in ${where}` });
      }
      if (t >= hold.untilS && queued === 0) {
        if (hold.onset) this.events.push({ kind: 'queue', state: 'clear', atS: t, lane: i + 1, zone: `queue-lane-${i + 1}`, detail: `queue in ${where} cleared (longest ${hold.max} vehicles)` });
        lane.queueHold = undefined;
      }
    });
  }

  // --- vehicles -----------------------------------------------------------------------------

  private heightOf(v: { y: number; aspect: number; size: number }): number {
    return this.road.vehicleWidth(v.y) * v.size * v.aspect;
  }

  /** The y where a vehicle of this aspect and size sits just outside the frame at its entry end. */
  private entryY(sign: 1 | -1, aspect: number, size: number): number {
    // Solve y = -h(y)/2 - 1 (top) or y = H + h(y)/2 + 1 (bottom) by a few fixed-point steps.
    let y = sign === 1 ? 0 : this.road.height;
    for (let k = 0; k < 4; k++) {
      const h = this.road.vehicleWidth(y) * size * aspect;
      y = sign === 1 ? -h / 2 - 1 : this.road.height + h / 2 + 1;
    }
    return y;
  }

  private pick(random: Random, kind: 'vehicle' | 'person'): number {
    const choices = this.sprites.choices(kind);
    const total = choices.reduce((s, c) => s + c.weight, 0);
    let r = random.next() * total;
    for (const c of choices) {
      r -= c.weight;
      if (r < 0) return c.index;
    }
    return choices[choices.length - 1]!.index;
  }

  private spawnVehicles(t: number): void {
    this.lanes.forEach((lane, i) => {
      const flow = this.settings.flowVph[i]!;
      while (lane.nextArrivalS <= t) {
        if (lane.heldBy === undefined) lane.pending++;
        lane.nextArrivalS += lane.random.exponential(flow / 3600);
      }
      const laneNo = i + 1;
      if (lane.wrongWayPending && !this.vehicles.some((v) => v.lane === laneNo)) {
        lane.wrongWayPending = undefined;
        this.spawnVehicle(lane, laneNo, t, true);
        return;
      }
      if (lane.pending > 0 && lane.heldBy === undefined && this.spawnVehicle(lane, laneNo, t, false)) lane.pending--;
    });
  }

  /** Adds a vehicle at the entry end when there is room; false when the entry is blocked. */
  private spawnVehicle(lane: LaneState, laneNo: number, t: number, wrongWay: boolean): boolean {
    const random = lane.random;
    const sprite = this.pick(random, 'vehicle');
    const aspect = this.sprites.aspect(sprite);
    const size = this.sprites.spec(sprite).sizeFactor ?? 1;
    const laneSign = this.road.laneSign(laneNo);
    const sign = (wrongWay ? -laneSign : laneSign) as 1 | -1;
    const y = this.entryY(sign, aspect, size);
    const h = this.road.vehicleWidth(y) * size * aspect;
    // The rearmost vehicle of the lane: the nearest one ahead of a point far behind the entry.
    const last = this.leaderOf({ lane: laneNo, sign, y: y - sign * 1e6 });
    let allowed = Infinity;
    if (last) {
      const gapM = this.gapPx(sign, y, h, last) / this.road.alongPxPerM(y);
      if (gapM < MIN_GAP_M + 1) return false;
      allowed = this.allowedSpeed(gapM, last.v);
    }
    const { mean, sd } = this.settings.speedKmh;
    const kmh = Math.min(Math.max(random.normal(mean, sd), Math.max(5, mean - 3 * sd)), mean + 3 * sd);
    const v0 = kmh / 3.6;
    const spec = this.sprites.spec(sprite);
    const id = this.nextId++;
    const record: SimVehicleRecord = { id, lane: laneNo, direction: wrongWay ? 'reverse' : 'forward', kind: 'vehicle', label: spec.label, sprite: spec.file, speedKmh: Math.round(kmh * 10) / 10, enteredS: t };
    const vehicle: Vehicle = { id, lane: laneNo, sign, wrongWay, sprite, aspect, size, mirrored: random.chance(0.5), offset: random.uniform(-0.04, 0.04), y, v: Math.min(v0, allowed), v0, record, seen: false };
    if (!wrongWay && lane.stopNext && lane.stopNext.atS <= t) {
      const e = lane.stopNext;
      lane.stopNext = undefined;
      const stopY = (e.stopY ?? (laneSign === 1 ? 0.8 : 0.2)) * this.road.height;
      vehicle.stop = { y: stopY, durationS: e.durationS, released: false };
      lane.heldBy = 'stopped-vehicle';
    }
    if (wrongWay) lane.heldBy = 'wrong-way';
    this.vehicles.push(vehicle);
    this.vehiclesSeen.push(record);
    return true;
  }

  /** The nearest vehicle ahead of `v` moving the same way in its lane. */
  private leaderOf(v: { lane: number; sign: 1 | -1; y: number }): Vehicle | undefined {
    let best: Vehicle | undefined;
    for (const o of this.vehicles) {
      if (o === v || o.lane !== v.lane || o.sign !== v.sign) continue;
      const ahead = v.sign * (o.y - v.y);
      if (ahead <= 0) continue;
      if (!best || ahead < v.sign * (best.y - v.y)) best = o;
    }
    return best;
  }

  /** Clear pixels between the front of a vehicle (centre y, height h) and the back of `leader`. */
  private gapPx(sign: 1 | -1, y: number, h: number, leader: Vehicle): number {
    const lh = this.heightOf(leader);
    return sign * (leader.y - y) - (lh + h) / 2;
  }

  private allowedSpeed(gapM: number, leaderV: number): number {
    const g = gapM - MIN_GAP_M;
    if (g <= 0) return 0;
    return Math.min(g / HEADWAY_S, Math.sqrt(2 * BRAKE * g)) + leaderV;
  }

  private moveVehicles(t0: number, t1: number): void {
    // Leaders first, so a follower sees where its leader has moved to this step.
    const order = [...this.vehicles].sort((a, b) => b.sign * b.y - a.sign * a.y);
    for (const v of order) {
      const h = this.heightOf(v);
      let allowed = v.v0;
      const leader = this.leaderOf(v);
      if (leader) allowed = Math.min(allowed, this.allowedSpeed(this.gapPx(v.sign, v.y, h, leader) / this.road.alongPxPerM(v.y), leader.v));
      const hold = this.lanes[v.lane - 1]!.queueHold;
      if (hold && !v.wrongWay && t1 < hold.untilS) {
        const gapPx = v.sign * (hold.stopLinePx - v.y) - h / 2;
        if (gapPx >= -1) allowed = Math.min(allowed, this.allowedSpeed(gapPx / this.road.alongPxPerM(v.y) + MIN_GAP_M - 0.5, 0));
      }
      if (v.stop && !v.stop.released) allowed = Math.min(allowed, this.stopAtTarget(v, t1));
      const speed = Math.max(0, Math.min(allowed, v.v + ACCEL * STEP_S));
      let dy = v.sign * speed * this.road.alongPxPerM(v.y) * STEP_S;
      if (leader) {
        // Never closer than 2 px, whatever the rounding: boxes must not overlap.
        const room = this.gapPx(v.sign, v.y, h, leader) - 2;
        if (Math.abs(dy) > Math.max(0, room)) dy = v.sign * Math.max(0, room);
      }
      const y0 = v.y;
      v.v = speed;
      v.y += dy;
      this.recordCrossings(v, y0, t0);
      this.watchVisibility(v, t1);
    }
  }

  /** Speed cap that brings a designated vehicle to rest at its stop point, and its stop/release. */
  private stopAtTarget(v: Vehicle, t: number): number {
    const stop = v.stop!;
    if (stop.stoppedAtS !== undefined) {
      if (t - stop.stoppedAtS < stop.durationS) return 0;
      stop.released = true;
      this.events.push({ kind: 'stopped-vehicle', state: 'clear', atS: t, lane: v.lane, objectId: v.id, detail: `vehicle ${v.id} drives on after ${stop.durationS} s in lane ${v.lane}` });
      return v.v0;
    }
    const gapM = (v.sign * (stop.y - v.y)) / this.road.alongPxPerM(v.y);
    if (gapM <= 0.05 || (gapM < 0.5 && v.v < STOPPED_MS)) {
      stop.stoppedAtS = t;
      this.events.push({ kind: 'stopped-vehicle', state: 'onset', atS: t, lane: v.lane, objectId: v.id, detail: `vehicle ${v.id} stopped in lane ${v.lane} at y=${(v.y / this.road.height).toFixed(2)}` });
      return 0;
    }
    return Math.sqrt(2 * BRAKE * gapM);
  }

  private recordCrossings(v: Vehicle, y0: number, t0: number): void {
    const y1 = v.y;
    if (y1 === y0) return;
    const lineY = this.settings.lineY[v.lane - 1]! * this.road.height;
    const crossed = v.sign === 1 ? y0 < lineY && y1 >= lineY : y0 > lineY && y1 <= lineY;
    if (!crossed) return;
    const atS = t0 + (STEP_S * (lineY - y0)) / (y1 - y0);
    this.crossings.push({ vehicleId: v.id, lane: v.lane, line: `lane-${v.lane}`, direction: v.wrongWay ? 'reverse' : 'forward', kind: 'vehicle', atS });
  }

  /** Wrong-way onset/clear as the vehicle comes into and leaves the frame; removal when gone. */
  private watchVisibility(v: Vehicle, t: number): void {
    const h = this.heightOf(v);
    const inFrame = v.y + h / 2 > 0 && v.y - h / 2 < this.road.height;
    if (inFrame && !v.seen) {
      v.seen = true;
      if (v.wrongWay) this.events.push({ kind: 'wrong-way', state: 'onset', atS: t, lane: v.lane, objectId: v.id, detail: `vehicle ${v.id} enters lane ${v.lane} against its direction (${this.road.directions[v.lane - 1]})` });
    }
    if (v.seen && !inFrame) {
      v.record.exitedS = t;
      this.vehicles.splice(this.vehicles.indexOf(v), 1);
      const lane = this.lanes[v.lane - 1]!;
      if (v.wrongWay) {
        this.events.push({ kind: 'wrong-way', state: 'clear', atS: t, lane: v.lane, objectId: v.id, detail: `wrong-way vehicle ${v.id} left the view` });
        lane.heldBy = undefined;
      }
      if (v.stop) lane.heldBy = undefined;
    }
  }

  // --- persons ------------------------------------------------------------------------------

  private spawnPerson(dwellS: number): void {
    const sprite = this.pick(this.scenarioRandom, 'person');
    const aspect = this.sprites.aspect(sprite);
    const y = 0.45 * this.road.height;
    const h = this.road.personHeight(y);
    const feetY = y + h / 2;
    const targetX = (this.road.roadRight(feetY) + this.road.width) / 2;
    this.persons.push({ id: this.nextId++, sprite, aspect, x: this.road.width + h / aspect / 2 + 1, y, targetX, phase: 'in', dwellUntilS: 0, dwellS, inZone: false });
  }

  private movePersons(t: number): void {
    for (const p of [...this.persons]) {
      const step = WALK_MS * this.road.acrossPxPerM(p.y) * STEP_S;
      if (p.phase === 'in') {
        p.x = Math.max(p.targetX, p.x - step);
        if (p.x === p.targetX) {
          p.phase = 'dwell';
          p.dwellUntilS = t + p.dwellS;
        }
      } else if (p.phase === 'dwell') {
        if (t >= p.dwellUntilS) p.phase = 'out';
      } else p.x += step;
      const h = this.road.personHeight(p.y);
      const inZone = insidePolygon({ x: p.x, y: p.y + h / 2 }, this.restrictedZonePx);
      if (inZone !== p.inZone) {
        p.inZone = inZone;
        this.events.push({ kind: 'restricted-zone', state: inZone ? 'onset' : 'clear', atS: t, objectId: p.id, zone: RESTRICTED_ZONE_ID, detail: `person ${p.id} ${inZone ? 'entered' : 'left'} zone ${RESTRICTED_ZONE_ID}` });
      }
      if (p.phase === 'out' && p.x - h / p.aspect / 2 > this.road.width) this.persons.splice(this.persons.indexOf(p), 1);
    }
  }
}
