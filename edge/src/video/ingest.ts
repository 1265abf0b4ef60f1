/**
 * Decodes one camera stream to raw RGB frames with ffmpeg (through fluent-ffmpeg): ffmpeg resamples
 * and scales to the configured rate and size (the fps filter, which unlike -r does not pad the end), writes rgb24 to a pipe, and we cut that byte stream
 * into exact frames. A watchdog restarts a stream that produced no frame for stallTimeoutMs, or
 * whose ffmpeg exited, with firmware-bridge's backoff. At most one ffmpeg runs per stream; it is
 * killed on stop. What ffmpeg says is scrubbed of credentials before it is logged or reported.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from 'pino';
import { RetrySchedule, type ReconnectOptions } from '@quanlink/firmware-bridge';
import { redact, withCredentials, withoutCredentials } from './credentials.js';

/** One decoded frame: rgb24, row-major, width*height*3 bytes. */
export interface RgbFrame {
  data: Buffer;
  width: number;
  height: number;
  ts: number;
}

export type IngestState = 'starting' | 'running' | 'stalled' | 'reconnecting' | 'error' | 'stopped';

/** Why a stream is not delivering, with a stable code (device.status) and a message for people. */
export interface StreamProblem {
  code: string;
  message: string;
}

export interface IngestOptions {
  /** Device id, for logs. */
  camera: string;
  /** rtsp://host:port/path (or a file or tcp:// URL in tests), without credentials. */
  url: string;
  username?: string;
  password?: string;
  width: number;
  height: number;
  fps: number;
  /** No frame for this long restarts ffmpeg. Default 5000 ms. */
  stallTimeoutMs?: number;
  /** A new ffmpeg may take this long for its first frame (connect, probe, first keyframe). Default stallTimeoutMs + 10 s. */
  firstFrameTimeoutMs?: number;
  /** Socket timeout ffmpeg applies to the network input. Default 5000 ms. */
  socketTimeoutMs?: number;
  /** Read a file input at its own frame rate (-re), as a camera would deliver it. */
  realtime?: boolean;
  /** Restart delays. Default 500 ms doubling to 30 s. */
  retry?: ReconnectOptions;
  logger: Logger;
  onFrame: (frame: RgbFrame) => void;
  onState?: (state: IngestState, problem?: StreamProblem) => void;
}

export interface IngestStats {
  state: IngestState;
  frames: number;
  /** ffmpeg processes started after the first. */
  restarts: number;
  lastFrameAt?: number;
  lastProblem?: StreamProblem;
}

/**
 * ffmpeg's filter graph for a stream: resample to `fps` (the fps filter, which unlike -r does not
 * pad the end) and stretch to the model's input size. The video benchmark decodes with this too.
 * Bilinear scaling takes about 15 % less ffmpeg CPU than the default bicubic and gave the same
 * counts on six seeds of the benchmark's road scene; fast_bilinear saves about 35 % but missed
 * 2 more of 208 crossings.
 */
export function decodeFilters(fps: number, width: number, height: number): string {
  return `fps=${fps},scale=${width}:${height}:flags=bilinear`;
}

/** Cuts a byte stream into frames of exactly `frameBytes`. */
export class FrameAssembler {
  private current: Buffer;
  private filled = 0;

  constructor(readonly frameBytes: number) {
    this.current = Buffer.allocUnsafe(frameBytes);
  }

  /** Frames completed by this chunk (each its own buffer). */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      chunk.copy(this.current, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        frames.push(this.current);
        this.current = Buffer.allocUnsafe(this.frameBytes);
        this.filled = 0;
      }
    }
    return frames;
  }

  /** Drops a partial frame (a new ffmpeg starts on a frame boundary). */
  reset(): void {
    this.filled = 0;
  }
}

/** Turns ffmpeg's last words into a clear reason. `where` is the URL without credentials. */
export function classifyFfmpegError(stderr: string, where: string, exitDetail: string): StreamProblem {
  if (/401 Unauthorized|authorization failed/i.test(stderr)) return { code: 'RtspUnauthorized', message: `RTSP 401 Unauthorized: wrong camera credentials (${where})` };
  if (/403 Forbidden/i.test(stderr)) return { code: 'RtspForbidden', message: `RTSP 403 Forbidden: the camera refuses this user (${where})` };
  if (/404 (Stream )?Not Found|Server returned 404/i.test(stderr)) return { code: 'RtspNotFound', message: `RTSP 404: stream not found at ${where}` };
  if (/Connection refused/i.test(stderr)) return { code: 'DeviceUnreachable', message: `camera unreachable: connection refused at ${where}` };
  if (/No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Cannot assign requested address/i.test(stderr)) {
    return { code: 'DeviceUnreachable', message: `camera unreachable: ${lastLine(stderr)}` };
  }
  if (/timed out|timeout/i.test(stderr)) return { code: 'DeviceTimeout', message: `camera timed out: no answer from ${where}` };
  // The stream was described but no packet came before ffmpeg gave up probing: stalled at the camera, worth retrying.
  if (/Output file #\d+ does not contain any stream|Could not find codec parameters/i.test(stderr)) {
    return { code: 'StreamNoData', message: `the camera described its stream but sent no video data (${where}); retrying` };
  }
  if (/Invalid data found|could not find codec|Decoder .* not found|does not contain any stream/i.test(stderr)) {
    return { code: 'StreamInvalid', message: `stream not decodable: ${lastLine(stderr)}` };
  }
  const last = lastLine(stderr);
  return { code: 'StreamEnded', message: last ? `${exitDetail}: ${last}` : exitDetail };
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^(Stream mapping|Press \[q\]|Output #|Input #|Metadata|Duration|Stream #)/.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 500);
}

/** Reasons that will not go away by retrying soon: reported as state `error` (retried slowly all the same). */
const PERMANENT = new Set(['RtspUnauthorized', 'RtspForbidden', 'RtspNotFound', 'StreamInvalid']);
const STDERR_LINES = 30;

export class StreamIngest {
  private readonly retry: RetrySchedule;
  private readonly assembler: FrameAssembler;
  private readonly stallTimeoutMs: number;
  private readonly firstFrameTimeoutMs: number;
  /** Frames from the running ffmpeg. */
  private framesThisRun = 0;
  private readonly where: string;
  private command: ffmpeg.FfmpegCommand | undefined;
  private process: ChildProcess | undefined;
  /** Resolves when the running ffmpeg has exited. */
  private exited: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private spawnedAt = 0;
  private stopped = true;
  private stderr: string[] = [];
  /** Why the current process is being killed by us (stall), so its exit is not misreported. */
  private killReason: StreamProblem | undefined;
  private readonly status: IngestStats = { state: 'stopped', frames: 0, restarts: 0 };
  private started = 0;

  constructor(private readonly opts: IngestOptions) {
    this.retry = new RetrySchedule({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2, ...opts.retry });
    this.assembler = new FrameAssembler(opts.width * opts.height * 3);
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 5000;
    this.firstFrameTimeoutMs = opts.firstFrameTimeoutMs ?? this.stallTimeoutMs + 10_000;
    this.where = withoutCredentials(opts.url);
  }

  get stats(): Readonly<IngestStats> {
    return { ...this.status };
  }

  /** Pid of the running ffmpeg (tests check that one at most runs, and that it is gone after stop). */
  get pid(): number | undefined {
    return this.process?.exitCode === null && this.process.signalCode === null ? this.process.pid : undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState('starting');
    this.spawn();
    const every = Math.max(100, Math.min(1000, this.stallTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkStall(), every);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    this.retry.cancel();
    this.kill();
    await this.exited;
    this.setState('stopped');
  }

  private spawn(): void {
    if (this.stopped || this.command) return;
    const { url, username, password, width, height, fps, logger, camera } = this.opts;
    if (this.started++ > 0) this.status.restarts++;
    this.assembler.reset();
    this.framesThisRun = 0;
    this.stderr = [];
    this.killReason = undefined;
    this.spawnedAt = Date.now();
    const input = withCredentials(url, username, password);
    const network = /^(rtsps?|tcp|http|https|udp):\/\//i.test(url);
    const timeoutUs = String((this.opts.socketTimeoutMs ?? 5000) * 1000);
    // A short probe: a camera's SDP already says what the stream is, and the default 5 s delays every (re)start.
    const inputOptions = ['-hide_banner', '-nostats', '-loglevel', 'warning', '-analyzeduration', '1000000'];
    if (/^rtsps?:/i.test(url)) inputOptions.push('-rtsp_transport', 'tcp');
    if (network) inputOptions.push('-timeout', timeoutUs);
    if (this.opts.realtime) inputOptions.push('-re');
    const command = ffmpeg(input)
      .inputOptions(inputOptions)
      .outputOptions(['-an', '-sn', '-vf', decodeFilters(fps, width, height), '-f', 'rawvideo', '-pix_fmt', 'rgb24']);
    this.command = command;
    let done: () => void = () => {};
    this.exited = new Promise((resolve) => (done = resolve));
    command.on('start', () => {
      // The command line holds the credentials: it is never logged.
      this.process = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      logger.debug({ camera, url: this.where, pid: this.process?.pid }, 'ffmpeg started');
      if (this.stopped) this.kill();
    });
    command.on('stderr', (line: string) => {
      this.stderr.push(line);
      if (this.stderr.length > STDERR_LINES) this.stderr.shift();
    });
    const finished = (err?: Error) => {
      if (this.command !== command) return;
      this.command = undefined;
      this.process = undefined;
      done();
      this.onExit(err);
    };
    command.on('error', (err: Error) => finished(err));
    command.on('end', () => finished());
    const output = command.pipe() as Readable;
    output.on('data', (chunk: Buffer) => {
      if (this.command !== command) return;
      for (const data of this.assembler.push(chunk)) this.onFrameData(data);
    });
    output.on('error', () => {
      /* ffmpeg's end is reported through the command's error event */
    });
  }

  private onFrameData(data: Buffer): void {
    const ts = Date.now();
    this.status.frames++;
    this.framesThisRun++;
    this.status.lastFrameAt = ts;
    if (this.status.state !== 'running') {
      this.retry.succeeded();
      delete this.status.lastProblem;
      this.setState('running');
    }
    try {
      this.opts.onFrame({ data, width: this.opts.width, height: this.opts.height, ts });
    } catch (err) {
      this.opts.logger.error({ camera: this.opts.camera, err, operation: 'frame handler' }, 'frame handler failed');
    }
  }

  private checkStall(): void {
    if (this.stopped || !this.command || this.killReason) return;
    const first = this.framesThisRun === 0;
    const since = first ? this.spawnedAt : this.status.lastFrameAt!;
    const limit = first ? this.firstFrameTimeoutMs : this.stallTimeoutMs;
    if (Date.now() - since < limit) return;
    const seconds = Math.round((Date.now() - since) / 100) / 10;
    const problem = first
      ? { code: 'StreamStalled', message: `no first frame ${seconds} s after connecting to ${this.where} (limit ${limit} ms): restarting` }
      : { code: 'StreamStalled', message: `no frame for ${seconds} s from ${this.where} (stall timeout ${limit} ms): restarting` };
    this.killReason = problem;
    this.opts.logger.warn({ camera: this.opts.camera, url: this.where, operation: 'watchdog' }, problem.message);
    this.setState('stalled', problem);
    this.kill();
  }

  private kill(): void {
    const proc = this.process;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  private onExit(err: Error | undefined): void {
    const { logger, camera, password, username } = this.opts;
    if (this.stopped) return;
    const stderr = redact(this.stderr.join('\n'), [password, username && password ? `${username}:${password}` : undefined]);
    // fluent-ffmpeg says e.g. 'ffmpeg exited with code 1: <stderr>'; the stderr part is classified on its own.
    const detail = err ? redact(err.message.split(':')[0] ?? 'ffmpeg failed', [password]) : `ffmpeg ended (end of stream at ${this.where})`;
    const problem = this.killReason ?? classifyFfmpegError(stderr, this.where, detail);
    this.status.lastProblem = problem;
    this.retry.lastProblem = problem.message;
    const delay = this.retry.retry(() => this.spawn());
    logger.warn({ camera, url: this.where, code: problem.code, stderr: stderr.slice(-2000), retryInMs: delay, operation: 'ingest' }, `stream down: ${problem.message}`);
    this.setState(PERMANENT.has(problem.code) ? 'error' : 'reconnecting', problem);
  }

  private setState(state: IngestState, problem?: StreamProblem): void {
    if (state === this.status.state && problem?.message === this.status.lastProblem?.message) return;
    this.status.state = state;
    if (problem) this.status.lastProblem = problem;
    this.opts.onState?.(state, problem);
  }
}
