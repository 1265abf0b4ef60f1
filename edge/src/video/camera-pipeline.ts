/**
 * One camera's analytics, as an agent extension: stream (ONVIF GetStreamUri, or the configured RTSP
 * URL) -> ffmpeg ingest -> motion gate -> detector -> tracker -> scene analytics -> events in the
 * outbox (never sent directly), with JPEG snapshots for crossings and alerts.
 *
 * Failures are states, never crashes: a missing or invalid model, a bad analytics config, wrong
 * credentials or an unreachable camera put this camera in state `error` or `reconnecting` with the
 * reason (status and a camera.pipeline event), and the rest of the gateway keeps running. When the
 * analysis is slower than the frame rate, frames are dropped (one waits at most) and counted.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CameraInfo, ErrorInfo, NewEvent, PipelineState } from '@quanlink/contracts';
import { RetrySchedule, type ReconnectOptions } from '@quanlink/firmware-bridge';
import type { DeviceBinding, VideoConfig } from '../config/index.js';
import type { DeviceHealth, EventBus, Extension } from '../events/bus.js';
import { HealthTracker } from '../devices/health.js';
import type { Outbox, StateUpdates } from '../outbox/index.js';
import { checkAnalyticsConfig, createOnnxDetector, type AnalyticsConfig, type Detector, type DetectorOptions } from './analytics/index.js';
import { FRAME_DEFAULTS, FrameAnalysis } from './frame-analysis.js';
import { StreamIngest, type IngestOptions, type IngestState, type RgbFrame, type StreamProblem } from './ingest.js';
import { deviceServiceUrl, OnvifCamera, OnvifError } from './onvif.js';
import { SnapshotStore } from './snapshots.js';

export const VIDEO_DEFAULTS = { ...FRAME_DEFAULTS, budgetMb: 200, stallTimeoutMs: 5000 } as const;

export interface CameraStatus {
  device: string;
  kind: 'camera';
  state: PipelineState;
  /** Why, when not running. */
  reason?: string;
  health: DeviceHealth | 'unknown';
  lastError?: ErrorInfo;
  /** Where frames come from, without credentials. */
  stream?: string;
  frameSize?: { width: number; height: number };
  /** Decoded frames, frames the detector saw, skipped by the motion gate, dropped because analysis was busy. */
  frames: number;
  analysed: number;
  skippedByMotion: number;
  dropped: number;
  /** Analysed frames per second over the last 5 s. */
  analysedFps: number;
  /** Mean over the last analysed frames, ms. */
  timings?: { preprocessMs: number; inferenceMs: number; decodeMs: number; trackingMs: number; eventsMs: number };
  restarts: number;
  events: number;
  snapshots: { stored: number; bytes: number; taken: number; limited: number };
  camera?: CameraInfo;
}

export interface CameraPipelineOptions {
  binding: DeviceBinding & { video: VideoConfig };
  /** Resolves paths of the config (model, labels) relative to the config file. */
  resolvePath: (path: string) => string;
  /** Snapshots go to dataDir/snapshots/<camera>. */
  dataDir: string;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  /** The detector; default createOnnxDetector (tests pass a fake). */
  createDetector?: (opts: DetectorOptions) => Promise<Detector>;
  /** Ingest overrides (tests: short retries). */
  ingest?: Partial<Pick<IngestOptions, 'retry' | 'socketTimeoutMs' | 'realtime'>>;
  /** Delays between attempts to reach the camera over ONVIF. Default 1 s doubling to 60 s. */
  onvifRetry?: ReconnectOptions;
  /** Told when ONVIF says what the camera is (the agent sends a new birth). */
  onCameraInfo?: (info: CameraInfo) => void;
  now?: () => number;
}

const TIMING_WINDOW = 30;
const FPS_WINDOW_MS = 5000;

export class CameraPipeline implements Extension {
  readonly name: string;
  private readonly camera: string;
  private readonly video: VideoConfig;
  private readonly now: () => number;
  private readonly health: HealthTracker;
  private readonly onvifRetry: RetrySchedule;
  private readonly status: CameraStatus;
  private detector: Detector | undefined;
  /** Gate, detector, tracker, analytics and snapshots of each frame (set up once the model loads). */
  private analysis: FrameAnalysis | undefined;
  private store: SnapshotStore | undefined;
  private ingest: StreamIngest | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private startup: Promise<void> | undefined;
  /** Ends the wait for the next ONVIF attempt (on stop). */
  private wake: (() => void) | undefined;
  /** The frame being analysed, and the newest one waiting (older waiting frames are dropped). */
  private busy: Promise<void> | undefined;
  private waiting: RgbFrame | undefined;
  private readonly analysedAt: number[] = [];
  private readonly timingLog: NonNullable<CameraStatus['timings']>[] = [];

  constructor(private readonly opts: CameraPipelineOptions) {
    this.camera = opts.binding.id;
    this.name = `camera:${this.camera}`;
    this.video = opts.binding.video;
    this.now = opts.now ?? Date.now;
    this.health = new HealthTracker(this.camera, opts.bus, opts.logger);
    this.onvifRetry = new RetrySchedule({ initialDelayMs: 1000, maxDelayMs: 60_000, factor: 2, jitter: 0.2, ...opts.onvifRetry });
    const saved = opts.outbox.getState<CameraInfo>(this.key('info'));
    this.status = {
      device: this.camera,
      kind: 'camera',
      state: 'stopped',
      health: 'unknown',
      frames: 0,
      analysed: 0,
      skippedByMotion: 0,
      dropped: 0,
      analysedFps: 0,
      restarts: 0,
      events: 0,
      snapshots: { stored: 0, bytes: 0, taken: 0, limited: 0 },
      ...(saved ? { camera: saved } : {}),
    };
  }

  /** What ONVIF said about the camera (last known, kept across restarts), for the birth. */
  get cameraInfo(): CameraInfo | undefined {
    return this.status.camera;
  }

  get currentStatus(): Readonly<CameraStatus> {
    const cutoff = this.now() - FPS_WINDOW_MS;
    while (this.analysedAt.length > 0 && this.analysedAt[0]! < cutoff) this.analysedAt.shift();
    const { health } = this;
    const status: CameraStatus = { ...this.status, health: health.health, analysedFps: Math.round((this.analysedAt.length / (FPS_WINDOW_MS / 1000)) * 10) / 10 };
    if (health.lastError) status.lastError = health.lastError;
    if (this.ingest) status.restarts = this.ingest.stats.restarts;
    if (this.store) Object.assign(status.snapshots, { stored: this.store.stats.count, bytes: this.store.stats.bytes });
    if (this.timingLog.length > 0) {
      const mean = (k: keyof NonNullable<CameraStatus['timings']>) => Math.round((this.timingLog.reduce((s, t) => s + t[k], 0) / this.timingLog.length) * 100) / 100;
      status.timings = { preprocessMs: mean('preprocessMs'), inferenceMs: mean('inferenceMs'), decodeMs: mean('decodeMs'), trackingMs: mean('trackingMs'), eventsMs: mean('eventsMs') };
    }
    return status;
  }

  /** The full JPEG of one of this camera's snapshots. */
  async snapshot(id: string): Promise<Buffer | undefined> {
    return this.store?.get(id);
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState('starting');
    // Setting up (model, camera) takes time and may fail: the gateway's start does not wait for it.
    this.startup = this.setUp().catch((err) => {
      this.opts.logger.error({ device: this.camera, err, operation: 'camera setup' }, 'camera pipeline setup failed');
      this.setState('error', `setup failed: ${(err as Error).message}`);
    });
  }

  /** Resolves once the pipeline is running its stream or has settled in an error (tests). */
  async ready(): Promise<void> {
    await this.startup;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.onvifRetry.cancel();
    this.wake?.();
    clearInterval(this.tickTimer);
    await this.startup;
    await this.ingest?.stop();
    this.waiting = undefined;
    await this.busy;
    await this.detector?.close().catch(() => undefined);
    this.setState('stopped');
  }

  private key(kind: string): string {
    return `camera/${this.camera}/${kind}`;
  }

  private async setUp(): Promise<void> {
    const { video } = this;
    const problems = checkAnalyticsConfig(video.analytics);
    if (problems.length > 0) return this.setState('error', `analytics config of camera ${this.camera}: ${problems.slice(0, 5).join('; ')}`);
    const analytics = video.analytics as unknown as AnalyticsConfig;

    const model = video.model;
    const create = this.opts.createDetector ?? createOnnxDetector;
    try {
      this.detector = await create({
        modelPath: this.opts.resolvePath(model.path),
        decoder: model.decoder,
        ...(model.labelsPath !== undefined ? { labelsPath: this.opts.resolvePath(model.labelsPath) } : {}),
        ...(model.sha256 !== undefined ? { sha256: model.sha256 } : {}),
        ...(model.scoreThreshold !== undefined ? { scoreThreshold: model.scoreThreshold } : {}),
        ...(model.nmsIou !== undefined ? { nmsIou: model.nmsIou } : {}),
        ...(model.threads !== undefined ? { threads: model.threads } : {}),
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      return this.setState('error', `${code ? `${code}: ` : ''}${(err as Error).message}`);
    }
    if (this.stopped) return;
    const width = video.width ?? this.detector.inputWidth;
    const height = video.height ?? this.detector.inputHeight;
    this.status.frameSize = { width, height };
    const fps = video.fps ?? VIDEO_DEFAULTS.fps;
    this.store = await SnapshotStore.open(join(this.opts.dataDir, 'snapshots', this.camera), (video.snapshots?.budgetMb ?? VIDEO_DEFAULTS.budgetMb) * 1024 * 1024, this.opts.logger);
    const analysis = new FrameAnalysis({
      camera: this.camera,
      video,
      analytics,
      detector: this.detector,
      frameSize: { width, height },
      store: this.store,
      write: (events) => void this.write(events),
      logger: this.opts.logger,
      now: this.now,
    });
    this.analysis = analysis;
    this.tickTimer = setInterval(() => analysis.tick(this.now()), 1000);

    const url = await this.streamUrl();
    if (url === undefined || this.stopped) return;
    this.status.stream = url;
    const { transport } = this.opts.binding;
    const { username, password } = transport.kind === 'onvif' || transport.kind === 'rtsp' ? transport : { username: undefined, password: undefined };
    this.ingest = new StreamIngest({
      camera: this.camera,
      url,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      width,
      height,
      fps,
      stallTimeoutMs: video.stallTimeoutMs ?? VIDEO_DEFAULTS.stallTimeoutMs,
      ...(transport.kind === 'rtsp' || transport.kind === 'onvif' ? { socketTimeoutMs: transport.timeoutMs ?? 5000 } : {}),
      ...this.opts.ingest,
      logger: this.opts.logger,
      onFrame: (frame) => this.onFrame(frame),
      onState: (state, problem) => this.onIngestState(state, problem),
    });
    this.ingest.start();
  }

  /** The stream to decode: the RTSP URL, or the one ONVIF gives for the chosen profile (retried until it answers). */
  private async streamUrl(): Promise<string | undefined> {
    const { transport } = this.opts.binding;
    if (transport.kind === 'rtsp') return transport.url;
    if (transport.kind !== 'onvif') {
      this.setState('error', `camera ${this.camera}: transport ${transport.kind} cannot carry video (use onvif or rtsp)`);
      return undefined;
    }
    const xaddr = deviceServiceUrl(transport.host, transport.port);
    while (!this.stopped) {
      try {
        const camera = await OnvifCamera.connect({
          xaddr,
          ...(transport.username !== undefined ? { username: transport.username } : {}),
          ...(transport.password !== undefined ? { password: transport.password } : {}),
          timeoutMs: transport.timeoutMs ?? 5000,
        });
        const uri = await camera.streamUri(transport.profileToken);
        const info = camera.cameraInfo(transport.profileToken ?? camera.profiles()[0]!.token);
        this.onvifRetry.succeeded();
        this.status.camera = info;
        this.write([], { [this.key('info')]: info });
        this.opts.logger.info({ device: this.camera, manufacturer: info.manufacturer, model: info.model, stream: uri }, 'camera found over ONVIF');
        this.opts.onCameraInfo?.(info);
        return uri;
      } catch (err) {
        const e = err instanceof OnvifError ? err : new OnvifError('Fault', 'Connect', (err as Error).message);
        const code = e.code === 'Unreachable' ? 'DeviceUnreachable' : e.code === 'Timeout' ? 'DeviceTimeout' : `Onvif${e.code}`;
        this.observeHealth({ code, message: e.message, operation: e.operation });
        this.setState(e.code === 'Unreachable' || e.code === 'Timeout' ? 'reconnecting' : 'error', e.message);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.onvifRetry.retry(resolve);
        });
      }
    }
    return undefined;
  }

  private onIngestState(state: IngestState, problem?: StreamProblem): void {
    if (this.stopped && state !== 'stopped') return;
    if (state === 'running') this.observeHealth(undefined);
    else if (problem) this.observeHealth({ code: problem.code, message: problem.message, operation: 'ingest' });
    if (state !== 'stopped') this.setState(state, problem?.message);
  }

  private onFrame(frame: RgbFrame): void {
    this.status.frames++;
    if (this.busy) {
      if (this.waiting) this.status.dropped++;
      this.waiting = frame;
      return;
    }
    this.busy = this.drain(frame).finally(() => (this.busy = undefined));
  }

  private async drain(first: RgbFrame): Promise<void> {
    let frame: RgbFrame | undefined = first;
    while (frame && !this.stopped) {
      try {
        await this.analyse(frame);
      } catch (err) {
        this.opts.logger.error({ device: this.camera, err, operation: 'analyse frame' }, 'frame analysis failed');
      }
      frame = this.waiting;
      this.waiting = undefined;
    }
  }

  private async analyse(frame: RgbFrame): Promise<void> {
    const { analysed, timings, snapshots } = await this.analysis!.analyse(frame);
    this.status.snapshots.taken += snapshots.taken;
    this.status.snapshots.limited += snapshots.limited;
    if (!analysed) {
      this.status.skippedByMotion++;
      return;
    }
    this.status.analysed++;
    this.analysedAt.push(this.now());
    this.timingLog.push(timings);
    if (this.timingLog.length > TIMING_WINDOW) this.timingLog.shift();
  }

  /** Appends to the outbox and tells the link; a failure is logged, never thrown into the frame loop. */
  private write(events: NewEvent[], state?: StateUpdates): boolean {
    if (events.length === 0 && !state) return true;
    try {
      const stored = this.opts.outbox.append(events, state);
      this.status.events += stored.length;
      if (stored.length > 0) this.opts.bus.emit('outbox.appended', { lastSeq: stored[stored.length - 1]!.seq });
      return true;
    } catch (err) {
      this.opts.logger.error({ device: this.camera, err, operation: 'outbox append' }, 'could not store camera events');
      return false;
    }
  }

  private observeHealth(failure: ErrorInfo | undefined): void {
    const change = this.health.change(failure);
    if (!change) return;
    if (this.write([{ ts: this.now(), type: 'device.status', device: this.camera, data: HealthTracker.eventData(change) }])) this.health.commit(change);
  }

  /** Records a state change and writes its camera.pipeline event (on change only). */
  private setState(state: PipelineState, reason?: string): void {
    if (state === this.status.state && reason === this.status.reason) return;
    this.status.state = state;
    if (reason !== undefined && state !== 'running') this.status.reason = reason.slice(0, 1000);
    else delete this.status.reason;
    const data = {
      state,
      ...(this.status.reason !== undefined ? { reason: this.status.reason } : {}),
      analysedFps: this.currentStatus.analysedFps,
      restarts: this.ingest?.stats.restarts ?? 0,
    };
    const log = state === 'error' ? 'error' : state === 'running' || state === 'starting' || state === 'stopped' ? 'info' : 'warn';
    this.opts.logger[log]({ device: this.camera, state, reason: this.status.reason, operation: 'camera pipeline' }, `camera ${state}${this.status.reason ? `: ${this.status.reason}` : ''}`);
    this.write([{ ts: this.now(), type: 'camera.pipeline', device: this.camera, data }]);
  }
}
