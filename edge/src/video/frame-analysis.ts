/**
 * What one camera does with each decoded frame: motion gate -> detector -> tracker -> scene
 * analytics -> events (crossings and alerts with a JPEG snapshot, under a rate limit) handed to
 * `write` (the outbox). CameraPipeline runs it on the frames of its stream; the video benchmark
 * runs the very same code on a clip, so what it measures is what a camera costs.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { NewEvent, SnapshotRef } from '@quanlink/contracts';
import type { VideoConfig } from '../config/index.js';
import { MotionGate, SceneAnalytics, Tracker, type AnalyticsConfig, type AnalyticsEvent, type Detector, type RgbFrame } from './analytics/index.js';
import { renderSnapshot, SnapshotRateLimit, snapshotRef, type SnapshotOverlay, type SnapshotStore } from './snapshots.js';

export const FRAME_DEFAULTS = { fps: 10, thumbnailMaxBytes: 32_768, snapshotsPerSecond: 2 } as const;

/** Analytics events that get a snapshot. */
const SNAPSHOT_TYPES = new Set(['video.crossing', 'video.alert']);

/** Where one frame's time went, ms. preprocess/inference/decode (of the model output) are the detector's; 0 on a frame the gate skipped. */
export interface FrameTimings {
  gateMs: number;
  preprocessMs: number;
  inferenceMs: number;
  decodeMs: number;
  /** Tracker and scene analytics. */
  trackingMs: number;
  /** Snapshots and the outbox write. */
  eventsMs: number;
}

export interface FrameResult {
  /** False when the motion gate skipped the frame (no inference). */
  analysed: boolean;
  timings: FrameTimings;
  /** Snapshots rendered and stored for this frame, and those the rate limit refused. */
  snapshots: { taken: number; limited: number };
}

export interface FrameAnalysisOptions {
  camera: string;
  /** fps (the tracker must outlive the gate's longest skip), motionGate, snapshots. */
  video: Pick<VideoConfig, 'fps' | 'motionGate' | 'snapshots'>;
  analytics: AnalyticsConfig;
  detector: Detector;
  /** Size of the decoded frames (lines and zones are normalised to it). */
  frameSize: { width: number; height: number };
  store: SnapshotStore;
  /** Stores the events (the outbox); must not throw. */
  write: (events: NewEvent[]) => void;
  logger: Logger;
  /** Clock of the snapshot rate limit and store. */
  now: () => number;
}

export class FrameAnalysis {
  readonly gate: MotionGate;
  readonly tracker: Tracker;
  readonly scene: SceneAnalytics;
  private readonly limiter: SnapshotRateLimit;
  private readonly thumbnailMaxBytes: number;

  constructor(private readonly opts: FrameAnalysisOptions) {
    const { video, frameSize } = opts;
    this.gate = new MotionGate({ ...video.motionGate });
    // Tracks must outlive the motion gate's longest skip, so a stopped vehicle keeps its id.
    const fps = video.fps ?? FRAME_DEFAULTS.fps;
    const forcedEveryMs = ((video.motionGate?.everyNthFrameAnyway ?? 5) / fps) * 1000;
    this.tracker = new Tracker({ maxMissedMs: Math.max(1500, 2 * forcedEveryMs) });
    this.scene = new SceneAnalytics(opts.analytics, frameSize);
    this.limiter = new SnapshotRateLimit(video.snapshots?.maxPerSecond ?? FRAME_DEFAULTS.snapshotsPerSecond);
    this.thumbnailMaxBytes = video.snapshots?.thumbnailMaxBytes ?? FRAME_DEFAULTS.thumbnailMaxBytes;
  }

  async analyse(frame: RgbFrame): Promise<FrameResult> {
    const snapshots = { taken: 0, limited: 0 };
    const t0 = performance.now();
    const analyse = this.gate.shouldAnalyse(frame);
    const t1 = performance.now();
    if (!analyse) {
      this.opts.write(this.scene.skippedFrame(frame.ts).map((e) => this.toEvent(e)));
      const timings = { gateMs: t1 - t0, preprocessMs: 0, inferenceMs: 0, decodeMs: 0, trackingMs: 0, eventsMs: performance.now() - t1 };
      return { analysed: false, timings, snapshots };
    }
    const detections = await this.opts.detector.detect(frame);
    const t2 = performance.now();
    const tracks = this.tracker.update(detections, frame.ts);
    const found = this.scene.update(tracks, frame.ts);
    const t3 = performance.now();
    const events: NewEvent[] = [];
    for (const e of found) events.push(SNAPSHOT_TYPES.has(e.type) ? await this.withSnapshot(e, frame, snapshots) : this.toEvent(e));
    this.opts.write(events);
    const timings = { gateMs: t1 - t0, ...this.opts.detector.lastTimings, trackingMs: t3 - t2, eventsMs: performance.now() - t3 };
    return { analysed: true, timings, snapshots };
  }

  /** Closes periods when no frames come (call about once a second). */
  tick(now: number): void {
    this.opts.write(this.scene.tick(now).map((e) => this.toEvent(e)));
  }

  private toEvent(e: AnalyticsEvent): NewEvent {
    return { ts: e.ts, type: e.type, device: this.opts.camera, data: e.data } as NewEvent;
  }

  /** A crossing or alert with its snapshot, unless the rate limit says no or rendering fails (the event goes without). */
  private async withSnapshot(e: AnalyticsEvent, frame: RgbFrame, count: FrameResult['snapshots']): Promise<NewEvent> {
    const event = this.toEvent(e);
    if (e.type === 'video.alert' && e.data.state === 'clear') return event;
    if (!this.limiter.allow(this.opts.now())) {
      count.limited++;
      return event;
    }
    try {
      const rendered = await renderSnapshot(frame, this.overlayOf(e), { thumbnailMaxBytes: this.thumbnailMaxBytes });
      const id = await this.opts.store.put(rendered.jpeg, this.opts.now());
      count.taken++;
      (event.data as { snapshot?: SnapshotRef }).snapshot = snapshotRef(id, rendered);
    } catch (err) {
      this.opts.logger.warn({ device: this.opts.camera, err: (err as Error).message, operation: 'snapshot' }, 'snapshot failed; event sent without one');
    }
    return event;
  }

  private overlayOf(e: AnalyticsEvent): SnapshotOverlay {
    const { width, height } = this.opts.frameSize;
    const { lines, zones } = this.opts.analytics;
    const px = (p: { x: number; y: number }) => ({ x: p.x * width, y: p.y * height });
    const overlay: SnapshotOverlay = { boxes: [] };
    if (e.type === 'video.crossing') {
      overlay.boxes.push({ box: e.data.box, label: `${e.data.label} #${e.data.trackId} ${e.data.direction}` });
      const line = lines.find((l) => l.id === e.data.line);
      if (line) overlay.line = [px(line.from), px(line.to)];
    } else if (e.type === 'video.alert') {
      if (e.data.box) overlay.boxes.push({ box: e.data.box, label: `${e.data.alert}${e.data.trackId !== undefined ? ` #${e.data.trackId}` : ''}` });
      const zone = zones.find((z) => z.id === e.data.where);
      const line = lines.find((l) => l.id === e.data.where);
      if (zone) overlay.polygon = zone.polygon.map(px);
      else if (line) overlay.line = [px(line.from), px(line.to)];
    }
    return overlay;
  }
}
