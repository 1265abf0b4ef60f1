/**
 * SORT-style multi-object tracker: each track predicts its box with a constant velocity, detections
 * are matched greedily by IoU with the predictions (best pairs first), then the leftovers by centre
 * distance (a fast object at a low frame rate may not overlap its last box). Tracks coast through
 * short misses (maxMissedMs) and keep their ids; a new track gets an id only once it has been seen
 * minHits times, so one-frame false positives never use up ids or reach the analytics.
 */
import type { ObjectKind } from '@quanlink/contracts';
import { boxArea, centreOf, distance, insideShare, iou, shiftBox } from './geometry.js';
import type { BoxXYXY, Detection } from './types.js';

export interface Track {
  /** Stable id, given when the track is confirmed (1, 2, ...). */
  id: number;
  /** Last detected box, or the predicted one while the track coasts through a miss. */
  box: BoxXYXY;
  kind: ObjectKind;
  label: string;
  score: number;
  /** Centre velocity, px per second. */
  velocity: { x: number; y: number };
  /** Analysed frames since the track began. */
  age: number;
  /** Frames the track was detected in. */
  hits: number;
  /** Consecutive analysed frames without a detection (0 = detected in this frame). */
  missed: number;
  firstSeen: number;
  lastSeen: number;
  /** Detected centre points (not predictions), oldest first, at most HISTORY_LIMIT. */
  history: { x: number; y: number; ts: number }[];
}

export interface TrackerOptions {
  /** Minimum IoU of a detection with a track's predicted box to match. Default 0.3. */
  iouThreshold?: number;
  /** A track unseen for longer than this is dropped. Default 1500 ms. */
  maxMissedMs?: number;
  /** Detections needed before a track is confirmed and gets an id. Default 2. */
  minHits?: number;
  /**
   * A detection with at least this share of its area inside a larger one of the same kind is nested
   * with it, and neither of the two starts a new track (see nestedDetections). Default 0.7; 0 = off.
   */
  nestedOverlap?: number;
}

export const HISTORY_LIMIT = 64;
/** Weight of the newest measurement in the velocity estimate. */
const VELOCITY_GAIN = 0.5;
/** Second pass: a detection this close to a prediction (in track box sizes) may still match. */
const DISTANCE_GATE = 0.75;

interface TrackState extends Track {
  /** Last detected box (box is the prediction while coasting). */
  detectedBox: BoxXYXY;
}

export class Tracker {
  private readonly iouThreshold: number;
  private readonly maxMissedMs: number;
  private readonly minHits: number;
  private readonly nestedOverlap: number;
  private tracks: TrackState[] = [];
  private nextId = 1;
  private lastTs = -Infinity;

  constructor(opts: TrackerOptions = {}) {
    this.iouThreshold = opts.iouThreshold ?? 0.3;
    this.maxMissedMs = opts.maxMissedMs ?? 1500;
    this.minHits = opts.minHits ?? 2;
    this.nestedOverlap = opts.nestedOverlap ?? 0.7;
    if (!(this.iouThreshold > 0 && this.iouThreshold <= 1)) throw new RangeError(`tracker iouThreshold ${opts.iouThreshold} must be in (0, 1]`);
    if (!(this.maxMissedMs >= 0)) throw new RangeError(`tracker maxMissedMs ${opts.maxMissedMs} must be >= 0`);
    if (!Number.isInteger(this.minHits) || this.minHits < 1) throw new RangeError(`tracker minHits ${opts.minHits} must be an integer >= 1`);
    if (!(this.nestedOverlap >= 0 && this.nestedOverlap <= 1)) throw new RangeError(`tracker nestedOverlap ${opts.nestedOverlap} must be in [0, 1]`);
  }

  /** Feeds one analysed frame's detections; returns the confirmed tracks (coasting ones included, missed > 0). */
  update(detections: readonly Detection[], ts: number): Track[] {
    // A frame older than the last one (clock step back) is treated as simultaneous.
    const now = Math.max(ts, this.lastTs);
    this.lastTs = now;
    const predicted = this.tracks.map((t) => {
      const dt = (now - t.lastSeen) / 1000;
      return shiftBox(t.detectedBox, t.velocity.x * dt, t.velocity.y * dt);
    });

    const trackTaken = new Array<boolean>(this.tracks.length).fill(false);
    const detTaken = new Array<boolean>(detections.length).fill(false);
    const pairs: { t: number; d: number }[] = [];
    const assign = (candidates: { t: number; d: number; cost: number }[]): void => {
      candidates.sort((a, b) => a.cost - b.cost);
      for (const c of candidates) {
        if (trackTaken[c.t] || detTaken[c.d]) continue;
        trackTaken[c.t] = detTaken[c.d] = true;
        pairs.push(c);
      }
    };

    const byIou: { t: number; d: number; cost: number }[] = [];
    this.tracks.forEach((track, t) => {
      detections.forEach((det, d) => {
        if (det.kind !== track.kind) return;
        const overlap = iou(predicted[t]!, det.box);
        if (overlap >= this.iouThreshold) byIou.push({ t, d, cost: -overlap });
      });
    });
    assign(byIou);

    const byDistance: { t: number; d: number; cost: number }[] = [];
    this.tracks.forEach((track, t) => {
      if (trackTaken[t]) return;
      const p = predicted[t]!;
      const size = Math.max(p[2] - p[0], p[3] - p[1]);
      detections.forEach((det, d) => {
        if (detTaken[d] || det.kind !== track.kind) return;
        const ratio = (det.box[2] - det.box[0]) / Math.max(1e-6, p[2] - p[0]);
        if (ratio < 0.5 || ratio > 2) return;
        const gap = distance(centreOf(p), centreOf(det.box)) / Math.max(1e-6, size);
        if (gap <= DISTANCE_GATE) byDistance.push({ t, d, cost: gap });
      });
    });
    assign(byDistance);

    for (const { t, d } of pairs) this.observe(this.tracks[t]!, detections[d]!, now);
    this.tracks.forEach((track, t) => {
      if (trackTaken[t]) return;
      track.missed++;
      track.age++;
      track.box = predicted[t]!;
    });
    this.tracks = this.tracks.filter((t) => t.missed === 0 || now - t.lastSeen <= this.maxMissedMs);
    // Tentative tracks do not coast: an unconfirmed track that misses a frame was noise.
    this.tracks = this.tracks.filter((t) => t.id > 0 || t.missed === 0);
    // A detection nested with another (a part and its whole, a merge and one of its objects) starts no track.
    const nested = this.nestedOverlap > 0 ? nestedDetections(detections, this.nestedOverlap) : new Set<number>();
    detections.forEach((det, d) => {
      if (!detTaken[d] && !nested.has(d)) this.tracks.push(this.begin(det, now));
    });
    for (const t of this.tracks) {
      if (t.id === 0 && t.hits >= this.minHits) t.id = this.nextId++;
    }
    return this.tracks.filter((t) => t.id > 0).map(publicView);
  }

  private begin(det: Detection, ts: number): TrackState {
    const c = centreOf(det.box);
    return {
      id: 0,
      box: det.box,
      detectedBox: det.box,
      kind: det.kind,
      label: det.label,
      score: det.score,
      velocity: { x: 0, y: 0 },
      age: 1,
      hits: 1,
      missed: 0,
      firstSeen: ts,
      lastSeen: ts,
      history: [{ x: c.x, y: c.y, ts }],
    };
  }

  private observe(track: TrackState, det: Detection, ts: number): void {
    const before = centreOf(track.detectedBox);
    const after = centreOf(det.box);
    const dt = (ts - track.lastSeen) / 1000;
    if (dt > 0) {
      const vx = (after.x - before.x) / dt;
      const vy = (after.y - before.y) / dt;
      const gain = track.hits === 1 ? 1 : VELOCITY_GAIN;
      track.velocity = { x: gain * vx + (1 - gain) * track.velocity.x, y: gain * vy + (1 - gain) * track.velocity.y };
    }
    track.box = track.detectedBox = det.box;
    track.label = det.label;
    track.score = det.score;
    track.hits++;
    track.age++;
    track.missed = 0;
    track.lastSeen = ts;
    track.history.push({ x: after.x, y: after.y, ts });
    if (track.history.length > HISTORY_LIMIT) track.history.shift();
  }
}

/**
 * Indices of the detections nested with another one of the same kind: lying mostly (`minInside`
 * of the area) inside a larger box, or holding such a box. A small detector often answers one
 * vehicle with two boxes that NMS keeps because their IoU is low: the whole vehicle and a part of
 * it (a truck's cab or tail read as a car), or one tall box over two vehicles that follow closely
 * beside a box for one of them. Which box of such a pair is the object cannot be told from one
 * frame; the tracks can: the box that continues a track is kept, the other may not start one.
 */
export function nestedDetections(detections: readonly Detection[], minInside: number): Set<number> {
  const nested = new Set<number>();
  detections.forEach((outer, o) => {
    detections.forEach((inner, i) => {
      if (i !== o && inner.kind === outer.kind && boxArea(inner.box) < boxArea(outer.box) && insideShare(inner.box, outer.box) >= minInside) nested.add(i).add(o);
    });
  });
  return nested;
}

function publicView(t: TrackState): Track {
  return {
    id: t.id,
    box: [...t.box],
    kind: t.kind,
    label: t.label,
    score: t.score,
    velocity: { ...t.velocity },
    age: t.age,
    hits: t.hits,
    missed: t.missed,
    firstSeen: t.firstSeen,
    lastSeen: t.lastSeen,
    history: t.history.map((h) => ({ ...h })),
  };
}
