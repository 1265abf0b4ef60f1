/**
 * A road seen from a pole camera, as raw RGB24 frames (a FrameSource for the RTSP server) and
 * JPEG snapshots, with ground truth: every vehicle's lane and direction, the moment each one's
 * centre crosses each counting line, and scenario events.
 *
 * Time: the scene runs on a SimClock (sim seconds = wall seconds x timeScale) and is advanced
 * to the clock's time whenever a frame or the truth is asked for, in fixed steps, so how often
 * frames are taken does not change the traffic. Sim time t maps to the wall clock as
 * startEpochMs + t / timeScale, which is the atMs of truth entries.
 *
 * Frames are composed by copying cached, pre-scaled vehicle crops (sharp resizes them once per
 * width bucket) onto the background drawn once: a 640x360 frame costs about a millisecond.
 */
import sharp from 'sharp';
import { SimClock } from '../sim-clock.js';
import { drawRoad } from './background.js';
import { RoadGeometry, type LaneDirection, type SceneLine, type SceneZone } from './road-geometry.js';
import { checkSceneScenario, type SceneScenarioEvent, type SceneScenarioName } from './scenario.js';
import { DEFAULT_IMAGERY_DIR, SpriteLibrary, type ScaledSprite } from './sprites.js';
import { STEP_S, TrafficModel, type SimEvent } from './traffic.js';

export interface RoadSceneOptions {
  /** Seed of the traffic (same seed, same vehicles at the same sim times). Default 1. */
  seed?: number;
  /** Frame size; default 640x360. */
  width?: number;
  height?: number;
  /** One entry per lane, left to right in the image; default ['towards', 'towards', 'away']. */
  lanes?: LaneDirection[];
  /** Normalised y of each lane's counting line (one number for all); default 0.6. */
  lineY?: number | number[];
  /** Vehicles per hour per lane (one number for all); default 720. */
  flowVph?: number | number[];
  /** Free speed distribution, km/h; default mean 40, sd 6. */
  speedKmh?: { mean: number; sd: number };
  /** Sim seconds per wall second; default 1. */
  timeScale?: number;
  /** A named scenario or a list of events; default free flow. */
  scenario?: SceneScenarioName | SceneScenarioEvent[];
  /** Folder with the vehicle and person crops; default ../shared/models/samples (SAMPLES_DIR). */
  imageryDir?: string;
  /** Wall clock, epoch ms; default Date.now (tests pass a fake one). */
  now?: () => number;
}

export interface TruthCrossing {
  vehicleId: number;
  lane: number;
  line: string;
  direction: 'forward' | 'reverse';
  kind: 'vehicle' | 'person';
  /** Epoch ms: the sim instant the centre passed the line, mapped to the wall clock. */
  atMs: number;
}

export interface TruthEvent {
  kind: string;
  atMs: number;
  detail: string;
  state: 'onset' | 'clear';
  lane?: number;
  /** The vehicle or person the event is about. */
  objectId?: number;
  zone?: string;
}

export interface TruthVehicle {
  id: number;
  lane: number;
  direction: 'forward' | 'reverse';
  kind: 'vehicle';
  /** The class the crop shows (car, truck). */
  label: string;
  sprite: string;
  speedKmh: number;
  enteredAtMs: number;
  exitedAtMs?: number;
}

export interface SceneTruth {
  crossings: TruthCrossing[];
  events: TruthEvent[];
  vehicles: TruthVehicle[];
}

/** An object drawn in a frame: its object box in frame pixels [x1, y1, x2, y2] (may extend past the edges). */
export interface FrameObject {
  id: number;
  kind: 'vehicle' | 'person';
  label: string;
  lane?: number;
  box: [number, number, number, number];
}

export interface RenderedFrame {
  data: Buffer;
  width: number;
  height: number;
  /** Epoch ms of the sim instant shown. */
  atMs: number;
  simS: number;
  objects: FrameObject[];
}

const MAX_TRUTH = 100_000;

function perLane(value: number | number[] | undefined, fallback: number, lanes: number, what: string, ok: (n: number) => boolean): number[] {
  const list = Array.isArray(value) ? value : Array.from({ length: lanes }, () => value ?? fallback);
  if (list.length !== lanes) throw new RangeError(`road scene: ${what} needs one value per lane (${lanes}), got ${list.length}`);
  list.forEach((n, i) => {
    if (typeof n !== 'number' || !ok(n)) throw new RangeError(`road scene: ${what}[${i}] is out of range: ${JSON.stringify(n)}`);
  });
  return list;
}

export class RoadScene {
  readonly width: number;
  readonly height: number;
  readonly timeScale: number;
  readonly seed: number;
  readonly startEpochMs: number;
  private readonly road: RoadGeometry;
  private readonly clock: SimClock;
  private readonly lineY: number[];
  private readonly flowVph: number[];
  private readonly scenario: SceneScenarioEvent[];
  private readonly loading: Promise<{ sprites: SpriteLibrary; traffic: TrafficModel; background: Buffer }>;
  private state: { sprites: SpriteLibrary; traffic: TrafficModel; background: Buffer } | undefined;

  constructor(private readonly opts: RoadSceneOptions = {}) {
    this.width = opts.width ?? 640;
    this.height = opts.height ?? 360;
    for (const [name, v] of [['width', this.width], ['height', this.height]] as const) {
      if (!Number.isInteger(v) || v < 64 || v > 4096 || v % 2 !== 0) throw new RangeError(`road scene: ${name} must be an even integer 64..4096, got ${v}`);
    }
    const lanes = opts.lanes ?? ['towards', 'towards', 'away'];
    if (!Array.isArray(lanes) || lanes.length < 1 || lanes.length > 6 || lanes.some((d) => d !== 'towards' && d !== 'away')) {
      throw new RangeError(`road scene: lanes must be 1..6 of 'towards' | 'away', got ${JSON.stringify(lanes)}`);
    }
    this.seed = opts.seed ?? 1;
    if (!Number.isInteger(this.seed)) throw new RangeError(`road scene: seed must be an integer, got ${this.seed}`);
    this.timeScale = opts.timeScale ?? 1;
    this.lineY = perLane(opts.lineY, 0.6, lanes.length, 'lineY', (n) => n > 0.05 && n < 0.95);
    this.flowVph = perLane(opts.flowVph, 720, lanes.length, 'flowVph', (n) => n >= 0 && n <= 3600);
    const speed = opts.speedKmh ?? { mean: 40, sd: 6 };
    if (!(speed.mean >= 5 && speed.mean <= 150) || !(speed.sd >= 0 && speed.sd <= 50)) throw new RangeError(`road scene: speedKmh must have mean 5..150 and sd 0..50, got ${JSON.stringify(speed)}`);
    this.scenario = checkSceneScenario(opts.scenario ?? 'free-flow', lanes.length);
    this.road = new RoadGeometry(this.width, this.height, lanes);
    const now = opts.now ?? Date.now;
    this.clock = new SimClock(this.timeScale, false, now);
    this.startEpochMs = now();
    this.loading = SpriteLibrary.load(opts.imageryDir ?? DEFAULT_IMAGERY_DIR).then((sprites) => {
      const traffic = new TrafficModel(this.road, sprites, { flowVph: this.flowVph, speedKmh: speed, lineY: this.lineY, seed: this.seed, scenario: this.scenario });
      const stopBars = this.scenario.flatMap((e) => (e.kind === 'queue' ? [{ lane: e.lane, y: traffic.stopLineY(e) }] : []));
      this.state = { sprites, traffic, background: drawRoad(this.road, this.seed, stopBars) };
      return this.state;
    });
    this.loading.catch(() => undefined); // surfaced by ready() / frame()
  }

  /** Resolves once the imagery is loaded; rejects with the reason it could not be. */
  async ready(): Promise<void> {
    await this.loading;
  }

  /** Sim seconds since the scene started. */
  simNowS(): number {
    return this.clock.nowS();
  }

  /** Epoch ms of sim instant `simS`. */
  epochMsOf(simS: number): number {
    return Math.round(this.startEpochMs + (simS * 1000) / this.timeScale);
  }

  /** The counting lines, normalised, one per lane. */
  lines(): SceneLine[] {
    return this.road.countingLines(this.lineY);
  }

  /** The restricted zone and the queue zones of the scenario, normalised. */
  zones(): SceneZone[] {
    return this.state?.traffic.zones() ?? [];
  }

  async frame(): Promise<Buffer> {
    return (await this.render()).data;
  }

  async snapshotJpeg(quality = 85): Promise<Buffer> {
    const frame = await this.render();
    return sharp(frame.data, { raw: { width: this.width, height: this.height, channels: 3 } }).jpeg({ quality }).toBuffer();
  }

  /** Ground truth up to now. */
  truth(): SceneTruth {
    const traffic = this.advance();
    if (!traffic) return { crossings: [], events: [], vehicles: [] };
    return {
      crossings: traffic.crossings.map((c) => ({ vehicleId: c.vehicleId, lane: c.lane, line: c.line, direction: c.direction, kind: c.kind, atMs: this.epochMsOf(c.atS) })),
      events: traffic.events.map((e) => this.truthEvent(e)),
      vehicles: traffic.vehiclesSeen.map((v) => ({
        id: v.id,
        lane: v.lane,
        direction: v.direction,
        kind: v.kind,
        label: v.label,
        sprite: v.sprite,
        speedKmh: v.speedKmh,
        enteredAtMs: this.epochMsOf(v.enteredS),
        ...(v.exitedS !== undefined && { exitedAtMs: this.epochMsOf(v.exitedS) }),
      })),
    };
  }

  /** The frame at the current sim time, with the boxes of what it shows. */
  async render(): Promise<RenderedFrame> {
    const { sprites, background } = await this.loading;
    const traffic = this.advance()!;
    const simS = traffic.t;
    const drawables = traffic.drawables().sort((a, b) => a.cy - b.cy); // far (top) first, near on top
    const scaled = await Promise.all(drawables.map((d) => sprites.scaled(d.sprite, d.width, d.mirrored)));
    const data = Buffer.from(background);
    const objects: FrameObject[] = [];
    drawables.forEach((d, i) => {
      const s = scaled[i]!;
      const [ox1, oy1, ox2, oy2] = s.object;
      const left = Math.round(d.cx - (ox1 + ox2) / 2);
      const top = Math.round(d.cy - (oy1 + oy2) / 2);
      blit(data, this.width, this.height, s, left, top);
      objects.push({ id: d.id, kind: d.kind, label: d.label, ...(d.lane !== undefined && { lane: d.lane }), box: [left + ox1, top + oy1, left + ox2, top + oy2] });
    });
    return { data, width: this.width, height: this.height, atMs: this.epochMsOf(simS), simS, objects };
  }

  /** Runs the model up to the clock's time; undefined while the imagery is still loading. */
  private advance(): TrafficModel | undefined {
    const traffic = this.state?.traffic;
    if (!traffic) return undefined;
    const target = this.clock.nowS();
    while (traffic.t + STEP_S <= target + 1e-9) traffic.step();
    // Keep memory bounded on a simulator left running for days.
    for (const list of [traffic.crossings, traffic.events, traffic.vehiclesSeen] as unknown[][]) {
      if (list.length > MAX_TRUTH) list.splice(0, list.length - MAX_TRUTH);
    }
    return traffic;
  }

  private truthEvent(e: SimEvent): TruthEvent {
    return {
      kind: e.kind,
      state: e.state,
      atMs: this.epochMsOf(e.atS),
      detail: e.detail,
      ...(e.lane !== undefined && { lane: e.lane }),
      ...(e.objectId !== undefined && { objectId: e.objectId }),
      ...(e.zone !== undefined && { zone: e.zone }),
    };
  }
}

/** Copies a sprite into an RGB24 frame at (left, top), clipped to the frame; alpha sprites are blended. */
function blit(frame: Buffer, width: number, height: number, s: ScaledSprite, left: number, top: number): void {
  const x0 = Math.max(0, left);
  const x1 = Math.min(width, left + s.width);
  if (x1 <= x0) return;
  for (let y = Math.max(0, top); y < Math.min(height, top + s.height); y++) {
    const sy = y - top;
    if (s.channels === 3) {
      s.data.copy(frame, (y * width + x0) * 3, (sy * s.width + (x0 - left)) * 3, (sy * s.width + (x1 - left)) * 3);
      continue;
    }
    for (let x = x0; x < x1; x++) {
      const si = (sy * s.width + (x - left)) * 4;
      const a = s.data[si + 3]!;
      if (a === 0) continue;
      const di = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) frame[di + c] = Math.round((s.data[si + c]! * a + frame[di + c]! * (255 - a)) / 255);
    }
  }
}
