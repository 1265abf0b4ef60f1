/**
 * Scene analytics for one camera: confirmed tracks in, structured events out.
 *
 * - Counting lines: a crossing is counted once per track per line, when the track's detected centre
 *   moves from one side of the line to the other through the segment (not around its ends). The
 *   tracker's history is replayed, so a crossing during a missed frame or before the track was
 *   confirmed is still counted when the track is next seen.
 * - Zones: membership by the box centre (or bottom centre, `anchor`), coasting tracks included
 *   (zone samples only for PRESENCE_GRACE_MS after the last detection).
 *   wrong-way: moving against the zone's direction for >= 1.5 s (onset once per track, clear when it
 *   leaves); stopped-vehicle: a vehicle that has not moved more than a quarter of its box width for
 *   stoppedAfterS (onset; clear when it moves, leaves or is lost); restricted: an object of the zone's
 *   kinds inside (onset; clear after 2 s without any); queue: queueAlertVehicles or more queued.
 * - Periods (clock-aligned, periodS): video.zone for occupancy and queue zones, traffic.period with
 *   per-lane volumes (distinct tracks over the lane's lines) and completeness (share of the period's
 *   seconds that had a frame, analysed or skipped by the motion gate).
 */
import type { ObjectKind, TrafficPeriodData, VideoAlertData, VideoAlertKind, VideoCrossingData, VideoZonePeriodData } from '@quanlink/contracts';
import { boxArea, boxHolds, centreOf, insidePolygon, segmentsMeet, sideOf, type Vec } from './geometry.js';
import { checkAnalyticsConfig, type AnalyticsConfig, type CountingLine, type ZoneConfig } from './scene-config.js';
import type { Track } from './tracker.js';
import type { BoxXYXY } from './types.js';

export type AnalyticsEvent =
  | { type: 'video.crossing'; ts: number; data: Omit<VideoCrossingData, 'snapshot'> }
  | { type: 'video.alert'; ts: number; data: Omit<VideoAlertData, 'snapshot'> }
  | { type: 'video.zone'; ts: number; data: VideoZonePeriodData }
  | { type: 'traffic.period'; ts: number; data: TrafficPeriodData };

/** Moving against the lane for this long raises wrong-way. */
export const WRONG_WAY_AFTER_MS = 1500;
/** A restricted zone (or a queue) clears after this long without the condition. */
export const CLEAR_AFTER_MS = 2000;
/** Speeds are measured over this much track history, so box jitter does not read as movement. */
const SPEED_WINDOW_MS = 1000;
const MIN_SPEED_SPAN_MS = 300;
/** Gap periods emitted at most when time jumps far ahead (older ones are skipped). */
const MAX_GAP_PERIODS = 1000;
/**
 * Zone samples (occupancy, queue) count a coasting track for this long after its last detection:
 * long enough to bridge a blink, short enough not to keep a vehicle that has gone. Alerts use the
 * tracker's own limit (maxMissedMs), so a flickering stopped vehicle does not clear and re-raise.
 */
const PRESENCE_GRACE_MS = 500;

interface LineGeom { cfg: CountingLine; a: Vec; b: Vec; kinds: ReadonlySet<ObjectKind> }

interface ZoneGeom {
  cfg: ZoneConfig;
  poly: Vec[];
  /** Kinds watched for occupancy, queue, stopped-vehicle and wrong-way. */
  kinds: ReadonlySet<ObjectKind>;
  /** Kinds that must not be inside a restricted zone. */
  restrictedKinds: ReadonlySet<ObjectKind>;
  purposes: ReadonlySet<ZoneConfig['purpose'][number]>;
  /** Unit vector of the lane direction, or the zone's longer axis (for queue length). */
  axis: Vec;
  hasDirection: boolean;
}

interface LineMemo { side: -1 | 1; point: Vec; counted: boolean }
interface TrackMemo {
  processedTs: number;
  lines: Map<string, LineMemo>;
  /** The track's box in the previous analysed frame. */
  lastBox?: BoxXYXY;
}
interface StopMemo { anchor: Vec; anchorTs: number; alerted: boolean }
interface WrongWayMemo { againstSince?: number; onsetSince?: number; alertedEver: boolean }
interface ZoneAlertMemo { since: number; lastTrue: number }

interface ZoneSample { objects: number; queued: number; queueMetres?: number }
interface ZoneAccumulator { frames: number; occupied: number; objectsSum: number; maxObjects: number; maxQueue: number; maxQueueMetres?: number }

interface ZoneState {
  stopped: Map<number, StopMemo>;
  wrongWay: Map<number, WrongWayMemo>;
  restricted?: ZoneAlertMemo;
  queueAlert?: ZoneAlertMemo;
  lastSample?: ZoneSample;
  acc: ZoneAccumulator;
}

interface PeriodState { start: number; covered: Uint8Array; lanes: Map<number, Set<number>> }

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;
const roundBox = (b: BoxXYXY): BoxXYXY => [Math.round(b[0]), Math.round(b[1]), Math.round(b[2]), Math.round(b[3])];
const emptyAcc = (): ZoneAccumulator => ({ frames: 0, occupied: 0, objectsSum: 0, maxObjects: 0, maxQueue: 0 });

/** Centre velocity over the last SPEED_WINDOW_MS of detected positions; undefined while too short. */
export function windowVelocity(track: Track): Vec | undefined {
  const h = track.history;
  const last = h[h.length - 1];
  if (!last) return undefined;
  let first = last;
  for (let i = h.length - 2; i >= 0 && last.ts - h[i]!.ts <= SPEED_WINDOW_MS; i--) first = h[i]!;
  const dt = (last.ts - first.ts) / 1000;
  if (dt * 1000 < MIN_SPEED_SPAN_MS) return undefined;
  return { x: (last.x - first.x) / dt, y: (last.y - first.y) / dt };
}

const boxWidth = (b: BoxXYXY): number => b[2] - b[0];
/** A box at most this share of another's area, with its centre inside it, is a part of that object. */
const PART_AREA_SHARE = 0.5;
/** A box whose area changed more than this factor since the last frame jumped (to a merge): it holds no parts. */
const STEADY_AREA_FACTOR = 1.5;

/**
 * Whether the track is a part of another object in the frame: a box of the same kind at least
 * twice its size holds its centre (the detector boxed a truck's cab, or a car in the truck's
 * picture, beside the whole truck, in frames apart or sticking out of it, so the tracker's nested
 * rule did not keep it from becoming a track). Such a track crosses lines silently, or the
 * vehicle would count twice. The whole box must be steady (its size held since the last frame):
 * a box that jumps to a merge of two vehicles for a frame must not swallow one of them; and a box
 * holding the centres of two or more others is a merge or a stray giant box, not one vehicle.
 */
function isPartOfAnother(track: Track, tracks: readonly Track[], steady: (t: Track) => boolean): boolean {
  const holds = (o: Track, t: Track): boolean => boxHolds(o.box, centreOf(t.box));
  return tracks.some(
    (o) =>
      o.id !== track.id && o.kind === track.kind && boxArea(track.box) <= PART_AREA_SHARE * boxArea(o.box) && holds(o, track) && steady(o) &&
      !tracks.some((x) => x.id !== o.id && x.id !== track.id && x.kind === o.kind && holds(o, x)),
  );
}

export class SceneAnalytics {
  private readonly lines: LineGeom[];
  private readonly zones: ZoneGeom[];
  private readonly periodMs: number;
  private readonly lanes: number[];
  private readonly trackMemos = new Map<number, TrackMemo>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private period: PeriodState | undefined;

  constructor(private readonly cfg: AnalyticsConfig, private readonly frameSize: { width: number; height: number }) {
    const problems = checkAnalyticsConfig(cfg);
    if (problems.length > 0) throw new Error(`analytics config: ${problems.join('; ')}`);
    if (!(frameSize.width > 0 && frameSize.height > 0)) throw new RangeError(`analytics frame size ${frameSize.width}x${frameSize.height} must be positive`);
    const px = (p: { x: number; y: number }): Vec => ({ x: p.x * frameSize.width, y: p.y * frameSize.height });
    this.lines = cfg.lines.map((l) => ({ cfg: l, a: px(l.from), b: px(l.to), kinds: new Set(l.kinds ?? ['vehicle']) }));
    this.zones = cfg.zones.map((z) => {
      const poly = z.polygon.map(px);
      let axis: Vec;
      if (z.direction) {
        const a = px(z.direction.from);
        const b = px(z.direction.to);
        const len = Math.hypot(b.x - a.x, b.y - a.y);
        axis = { x: (b.x - a.x) / len, y: (b.y - a.y) / len };
      } else {
        const xs = poly.map((p) => p.x);
        const ys = poly.map((p) => p.y);
        axis = Math.max(...xs) - Math.min(...xs) >= Math.max(...ys) - Math.min(...ys) ? { x: 1, y: 0 } : { x: 0, y: 1 };
      }
      const kinds = new Set<ObjectKind>(z.kinds ?? ['vehicle']);
      const restrictedKinds = new Set<ObjectKind>(z.kinds ?? ['person']);
      return { cfg: z, poly, kinds, restrictedKinds, purposes: new Set(z.purpose), axis, hasDirection: z.direction !== undefined };
    });
    for (const z of this.zones) this.zoneStates.set(z.cfg.id, { stopped: new Map(), wrongWay: new Map(), acc: emptyAcc() });
    this.periodMs = cfg.periodS * 1000;
    this.lanes = [...new Set(cfg.lines.flatMap((l) => (l.lane === undefined ? [] : [l.lane])))].sort((a, b) => a - b);
  }

  /** One analysed frame's confirmed tracks (from Tracker.update). */
  update(tracks: readonly Track[], ts: number): AnalyticsEvent[] {
    const events = this.advancePeriods(ts);
    this.cover(ts);
    const present = new Set(tracks.map((t) => t.id));
    const parts = new Set(tracks.filter((t) => isPartOfAnother(t, tracks, (o) => this.steady(o))).map((t) => t.id));
    for (const t of tracks) this.countCrossings(t, parts.has(t.id), events);
    for (const t of tracks) this.memoOf(t).lastBox = t.box;
    for (const zone of this.zones) this.watchZone(zone, tracks, present, ts, events);
    for (const id of [...this.trackMemos.keys()]) if (!present.has(id)) this.trackMemos.delete(id);
    return events;
  }

  /**
   * A frame arrived but the motion gate skipped it: the scene is as it was at the last analysed
   * frame. Counts towards completeness and repeats the zones' last sample.
   */
  skippedFrame(ts: number): AnalyticsEvent[] {
    const events = this.advancePeriods(ts);
    this.cover(ts);
    for (const zone of this.zones) {
      const state = this.zoneStates.get(zone.cfg.id)!;
      if (state.lastSample) this.accumulate(state, state.lastSample);
    }
    return events;
  }

  /** Closes periods up to ts (call on a timer too, so periods close without frames). */
  tick(ts: number): AnalyticsEvent[] {
    return this.advancePeriods(ts);
  }

  // --- counting lines ---

  private memoOf(track: Track): TrackMemo {
    let memo = this.trackMemos.get(track.id);
    if (!memo) this.trackMemos.set(track.id, (memo = { processedTs: -Infinity, lines: new Map<string, LineMemo>() }));
    return memo;
  }

  /** Whether the track's box kept its size since the last analysed frame (a box that jumps to a merge does not). */
  private steady(track: Track): boolean {
    const last = this.trackMemos.get(track.id)?.lastBox;
    if (!last) return false;
    const ratio = boxArea(track.box) / Math.max(1e-6, boxArea(last));
    return ratio <= STEADY_AREA_FACTOR && ratio >= 1 / STEADY_AREA_FACTOR;
  }

  /** Crossings of the track since it was last seen; a part of another object (isPartOfAnother) crosses silently. */
  private countCrossings(track: Track, isPart: boolean, events: AnalyticsEvent[]): void {
    const memo = this.memoOf(track);
    const fresh = track.history.filter((h) => h.ts > memo.processedTs);
    if (fresh.length === 0) return;
    memo.processedTs = fresh[fresh.length - 1]!.ts;
    for (const line of this.lines) {
      if (!line.kinds.has(track.kind)) continue;
      let lm = memo.lines.get(line.cfg.id);
      for (const p of fresh) {
        const side = sideOf(line.a, line.b, p);
        if (side === 0) continue;
        if (lm && lm.side !== side && !lm.counted && segmentsMeet(lm.point, p, line.a, line.b)) {
          lm.counted = true;
          if (!isPart) this.crossed(line, track, lm.side === -1 ? 'forward' : 'reverse', p.ts, events);
        }
        if (lm) { lm.side = side; lm.point = p; } else memo.lines.set(line.cfg.id, (lm = { side, point: p, counted: false }));
      }
    }
  }

  private crossed(line: LineGeom, track: Track, direction: 'forward' | 'reverse', ts: number, events: AnalyticsEvent[]): void {
    const data: Omit<VideoCrossingData, 'snapshot'> = {
      line: line.cfg.id,
      direction,
      trackId: track.id,
      kind: track.kind,
      label: track.label.slice(0, 64),
      score: round(Math.min(1, Math.max(0, track.score)), 3),
      box: roundBox(track.box),
    };
    if (line.cfg.lane !== undefined) {
      data.lane = line.cfg.lane;
      if (this.period) {
        let set = this.period.lanes.get(line.cfg.lane);
        if (!set) this.period.lanes.set(line.cfg.lane, (set = new Set()));
        set.add(track.id);
      }
    }
    events.push({ type: 'video.crossing', ts, data });
  }

  // --- zones ---

  private anchorOf(zone: ZoneGeom, box: BoxXYXY): Vec {
    return { x: (box[0] + box[2]) / 2, y: zone.cfg.anchor === 'bottom' ? box[3] : (box[1] + box[3]) / 2 };
  }

  private watchZone(zone: ZoneGeom, tracks: readonly Track[], present: ReadonlySet<number>, ts: number, events: AnalyticsEvent[]): void {
    const state = this.zoneStates.get(zone.cfg.id)!;
    const inZone = tracks.filter((t) => insidePolygon(zone.poly, this.anchorOf(zone, t.box)));
    const members = inZone.filter((t) => zone.kinds.has(t.kind));
    const memberIds = new Set(members.map((t) => t.id));
    const alert = (kind: VideoAlertKind, phase: 'onset' | 'clear', since: number, detail: string, track?: Track): void => {
      const data: Omit<VideoAlertData, 'snapshot'> = { alert: kind, state: phase, where: zone.cfg.id, since, detail: detail.slice(0, 500) };
      if (track) { data.trackId = track.id; data.kind = track.kind; data.box = roundBox(track.box); }
      events.push({ type: 'video.alert', ts, data });
    };
    const describe = (t: Track): string => `${t.kind} ${t.id} (${t.label})`;

    if (zone.purposes.has('stopped-vehicle')) {
      for (const t of members) {
        if (t.kind !== 'vehicle' || t.missed > 0) continue;
        const at = this.anchorOf(zone, t.box);
        const tolerance = Math.max(3, boxWidth(t.box) / 4);
        const memo = state.stopped.get(t.id);
        if (!memo) { state.stopped.set(t.id, { anchor: at, anchorTs: t.lastSeen, alerted: false }); continue; }
        if (Math.hypot(at.x - memo.anchor.x, at.y - memo.anchor.y) > tolerance) {
          if (memo.alerted) alert('stopped-vehicle', 'clear', memo.anchorTs, `${describe(t)} moves again in zone ${zone.cfg.id}`, t);
          state.stopped.set(t.id, { anchor: at, anchorTs: ts, alerted: false });
          continue;
        }
        const stoppedMs = ts - memo.anchorTs;
        if (!memo.alerted && stoppedMs >= (zone.cfg.stoppedAfterS ?? 10) * 1000) {
          memo.alerted = true;
          alert('stopped-vehicle', 'onset', memo.anchorTs, `${describe(t)} stopped in zone ${zone.cfg.id} for ${round(stoppedMs / 1000, 1)} s`, t);
        }
      }
      for (const [id, memo] of state.stopped) {
        if (memberIds.has(id)) continue;
        if (memo.alerted) {
          const t = tracks.find((x) => x.id === id);
          alert('stopped-vehicle', 'clear', memo.anchorTs, `vehicle ${id} ${present.has(id) ? 'left' : 'is no longer seen in'} zone ${zone.cfg.id}`, t);
        }
        state.stopped.delete(id);
      }
    }

    if (zone.purposes.has('wrong-way')) {
      for (const t of members) {
        let memo = state.wrongWay.get(t.id);
        if (!memo) state.wrongWay.set(t.id, (memo = { alertedEver: false }));
        if (t.missed > 0 || memo.alertedEver) continue;
        const v = windowVelocity(t);
        if (!v) continue;
        const along = v.x * zone.axis.x + v.y * zone.axis.y;
        const against = along < -Math.max(2, boxWidth(t.box) / 10);
        if (!against) { memo.againstSince = undefined; continue; }
        memo.againstSince ??= ts;
        if (ts - memo.againstSince >= WRONG_WAY_AFTER_MS) {
          memo.alertedEver = true;
          memo.onsetSince = memo.againstSince;
          alert('wrong-way', 'onset', memo.againstSince, `${describe(t)} moves against the lane direction in zone ${zone.cfg.id} at ${Math.round(-along)} px/s`, t);
        }
      }
      for (const [id, memo] of state.wrongWay) {
        if (memberIds.has(id)) continue;
        if (memo.onsetSince !== undefined) {
          alert('wrong-way', 'clear', memo.onsetSince, `track ${id} ${present.has(id) ? 'left' : 'is no longer seen in'} zone ${zone.cfg.id}`, tracks.find((x) => x.id === id));
        }
        memo.onsetSince = undefined;
        // Once per track: a track that alerted keeps its memo (and stays silent) until it is gone.
        if (!memo.alertedEver || !present.has(id)) state.wrongWay.delete(id);
      }
    }

    if (zone.purposes.has('restricted')) {
      const inside = inZone.filter((t) => zone.restrictedKinds.has(t.kind));
      if (inside.length > 0) {
        if (!state.restricted) {
          state.restricted = { since: ts, lastTrue: ts };
          alert('restricted-zone', 'onset', ts, `${inside.map(describe).join(', ')} in restricted zone ${zone.cfg.id}`, inside[0]);
        }
        state.restricted.lastTrue = ts;
      } else if (state.restricted && ts - state.restricted.lastTrue >= CLEAR_AFTER_MS) {
        alert('restricted-zone', 'clear', state.restricted.since, `restricted zone ${zone.cfg.id} empty for ${round((ts - state.restricted.lastTrue) / 1000, 1)} s`);
        state.restricted = undefined;
      }
    }

    const sampled = members.filter((t) => ts - t.lastSeen <= PRESENCE_GRACE_MS);
    const queued = zone.purposes.has('queue') ? sampled.filter((t) => t.kind === 'vehicle' && this.isQueued(zone, t)) : [];
    const sample: ZoneSample = { objects: sampled.length, queued: queued.length };
    if (zone.cfg.metresPerPx !== undefined && zone.purposes.has('queue')) sample.queueMetres = this.queueLength(zone, queued) * zone.cfg.metresPerPx;
    state.lastSample = sample;
    this.accumulate(state, sample);

    const alertAt = zone.cfg.queueAlertVehicles;
    if (alertAt !== undefined && zone.purposes.has('queue')) {
      if (queued.length >= alertAt) {
        if (!state.queueAlert) {
          state.queueAlert = { since: ts, lastTrue: ts };
          alert('queue', 'onset', ts, `${queued.length} vehicles queue in zone ${zone.cfg.id}`);
        }
        state.queueAlert.lastTrue = ts;
      } else if (state.queueAlert && ts - state.queueAlert.lastTrue >= CLEAR_AFTER_MS) {
        alert('queue', 'clear', state.queueAlert.since, `queue in zone ${zone.cfg.id} below ${alertAt} vehicles`);
        state.queueAlert = undefined;
      }
    }
  }

  private isQueued(zone: ZoneGeom, t: Track): boolean {
    const v = windowVelocity(t);
    if (!v) return false;
    return Math.hypot(v.x, v.y) < (zone.cfg.queueSpeedPxPerS ?? boxWidth(t.box) / 2);
  }

  /** Extent of the queued boxes along the zone's axis, px. */
  private queueLength(zone: ZoneGeom, queued: readonly Track[]): number {
    if (queued.length === 0) return 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of queued) {
      for (const x of [t.box[0], t.box[2]]) for (const y of [t.box[1], t.box[3]]) {
        const p = x * zone.axis.x + y * zone.axis.y;
        lo = Math.min(lo, p);
        hi = Math.max(hi, p);
      }
    }
    return hi - lo;
  }

  private accumulate(state: ZoneState, s: ZoneSample): void {
    const acc = state.acc;
    acc.frames++;
    if (s.objects > 0) acc.occupied++;
    acc.objectsSum += s.objects;
    acc.maxObjects = Math.max(acc.maxObjects, s.objects);
    acc.maxQueue = Math.max(acc.maxQueue, s.queued);
    if (s.queueMetres !== undefined) acc.maxQueueMetres = Math.max(acc.maxQueueMetres ?? 0, s.queueMetres);
  }

  // --- periods ---

  private periodStartOf(ts: number): number {
    return Math.floor(ts / this.periodMs) * this.periodMs;
  }

  private openPeriod(start: number): PeriodState {
    for (const state of this.zoneStates.values()) state.acc = emptyAcc();
    return { start, covered: new Uint8Array(this.cfg.periodS), lanes: new Map() };
  }

  private cover(ts: number): void {
    const p = this.period!;
    const slot = Math.floor((ts - p.start) / 1000);
    if (slot >= 0 && slot < p.covered.length) p.covered[slot] = 1;
  }

  /** Closes every period that ended at or before ts (empty ones in a gap too), and opens ts's period. */
  private advancePeriods(ts: number): AnalyticsEvent[] {
    const events: AnalyticsEvent[] = [];
    const start = this.periodStartOf(ts);
    if (!this.period) { this.period = this.openPeriod(start); return events; }
    if (start <= this.period.start) return events; // same period, or the clock stepped back
    events.push(...this.closePeriod(this.period));
    let next = this.period.start + this.periodMs;
    if ((start - next) / this.periodMs > MAX_GAP_PERIODS) next = start - MAX_GAP_PERIODS * this.periodMs;
    for (; next < start; next += this.periodMs) events.push(...this.closePeriod(this.openPeriod(next)));
    this.period = this.openPeriod(start);
    return events;
  }

  private closePeriod(p: PeriodState): AnalyticsEvent[] {
    const events: AnalyticsEvent[] = [];
    const end = p.start + this.periodMs;
    for (const zone of this.zones) {
      if (!zone.purposes.has('occupancy') && !zone.purposes.has('queue')) continue;
      const acc = this.zoneStates.get(zone.cfg.id)!.acc;
      const data: VideoZonePeriodData = {
        zone: zone.cfg.id,
        periodStart: p.start,
        periodS: this.cfg.periodS,
        occupancy: acc.frames > 0 ? round((acc.occupied / acc.frames) * 100, 1) : 0,
        meanObjects: acc.frames > 0 ? round(acc.objectsSum / acc.frames, 2) : 0,
        maxObjects: acc.maxObjects,
        maxQueueVehicles: acc.maxQueue,
      };
      if (zone.cfg.metresPerPx !== undefined && zone.purposes.has('queue')) data.maxQueueMetres = round(acc.maxQueueMetres ?? 0, 1);
      events.push({ type: 'video.zone', ts: end, data });
    }
    if (this.lanes.length > 0) {
      const covered = p.covered.reduce((n, v) => n + v, 0);
      const lanes: TrafficPeriodData['lanes'] = {};
      for (const lane of this.lanes) {
        const volume = p.lanes.get(lane)?.size ?? 0;
        lanes[String(lane)] = { volume, flow: round((volume * 3600) / this.cfg.periodS, 1), speedSource: 'none' };
      }
      events.push({ type: 'traffic.period', ts: end, data: { periodStart: p.start, periodS: this.cfg.periodS, completeness: round((covered / this.cfg.periodS) * 100, 1), lanes } });
    }
    return events;
  }
}
