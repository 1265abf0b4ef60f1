/**
 * One H.264 encoder: the Debian ffmpeg (libx264) as a child process, fed raw RGB24 frames from a
 * FrameSource on stdin at a fixed rate, its Annex B output on stdout cut into access units.
 *
 * Pacing runs on a monotonic clock; a slot whose frame cannot be produced or written in time
 * (a slow source, an encoder that has not drained its input) is skipped, never queued, so the
 * stream stays live. Access units come out one frame late: a picture is known complete only when
 * the next one starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { AccessUnitAssembler, AnnexBReader, type AccessUnit } from './h264.js';

/** Anything that gives raw RGB24 frames (width*height*3 bytes) on demand, e.g. the road scene. */
export interface FrameSource {
  readonly width: number;
  readonly height: number;
  frame(): Buffer | Promise<Buffer>;
}

export interface EncodedFrame extends AccessUnit {
  /** performance.now() when the frame was asked of the source. */
  captureMs: number;
}

export interface H264EncoderOptions {
  source: FrameSource;
  fps: number;
  gop: number;
  bitrateKbps?: number;
  ffmpegPath?: string;
  logger: Logger;
  /** Names the device in logs. */
  device: string;
  onFrame: (frame: EncodedFrame) => void;
  /** The child ended without stop() being asked (crash, missing ffmpeg). */
  onUnexpectedExit: (detail: string) => void;
}

export function ffmpegEncoderArgs(o: { width: number; height: number; fps: number; gop: number; bitrateKbps?: number }): string[] {
  const rate = o.bitrateKbps ? ['-b:v', `${o.bitrateKbps}k`, '-maxrate', `${o.bitrateKbps}k`, '-bufsize', `${o.bitrateKbps}k`] : [];
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', String(o.fps), '-i', 'pipe:0',
    '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-threads', '1',
    '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(o.gop), '-keyint_min', String(o.gop), '-bf', '0',
    // SPS/PPS before every IDR so a client can join at any keyframe; an AUD starts every
    // picture; no scene-cut keyframes, so the GOP is as fixed as a camera's.
    '-x264-params', 'repeat-headers=1:aud=1:scenecut=0',
    ...rate,
    '-fps_mode', 'passthrough', '-flush_packets', '1', '-f', 'h264', 'pipe:1',
  ];
}

export class H264Encoder {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private startMs = 0;
  private lastSlot = -1;
  private producing = false;
  /** Capture times of frames written and not yet out of the encoder, oldest first. */
  private readonly inFlight: number[] = [];
  private stderrTail = '';
  private badFrameLogged = false;
  private readonly frameBytes: number;
  framesFed = 0;
  framesSkipped = 0;

  constructor(private readonly opts: H264EncoderOptions) {
    this.frameBytes = opts.source.width * opts.source.height * 3;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    if (this.child) return;
    const { source, fps, gop, bitrateKbps, logger, device } = this.opts;
    const args = ffmpegEncoderArgs({ width: source.width, height: source.height, fps, gop, ...(bitrateKbps !== undefined && { bitrateKbps }) });
    const child = spawn(this.opts.ffmpegPath ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.stopping = false;
    const au = new AccessUnitAssembler((unit) => this.opts.onFrame({ ...unit, captureMs: this.inFlight.shift() ?? performance.now() }));
    const annexB = new AnnexBReader((nal) => au.push(nal));
    child.stdout!.on('data', (chunk: Buffer) => annexB.push(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-2000);
    });
    // EPIPE when the child dies under a write; its exit is reported below.
    child.stdin!.on('error', (err) => logger.debug({ device, operation: 'encode', err: err.message }, 'encoder stdin error'));
    let settled = false;
    this.exited = new Promise<void>((resolve) => {
      const finish = (detail: string) => {
        if (settled) return;
        settled = true;
        this.child = undefined;
        this.clearTimer();
        this.inFlight.length = 0;
        resolve();
        if (this.stopping) logger.debug({ device, operation: 'encode', pid: child.pid }, 'encoder stopped');
        else {
          logger.error({ device, operation: 'encode', pid: child.pid, detail, stderr: this.stderrTail.trim() }, 'encoder ended unexpectedly');
          this.opts.onUnexpectedExit(detail);
        }
      };
      child.on('error', (err) => finish(`ffmpeg could not run: ${err.message}`));
      child.on('exit', (code, signal) => finish(`ffmpeg exited with ${signal ?? `code ${code}`}`));
    });
    logger.debug({ device, operation: 'encode', pid: child.pid, args: args.join(' ') }, 'encoder started');
    this.startMs = performance.now();
    this.lastSlot = -1;
    this.tick();
  }

  /** Ends the input so ffmpeg exits; kills it if it has not after a moment. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    this.clearTimer();
    child.stdin!.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await this.exited;
    clearTimeout(killer);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.child || this.stopping) return;
    const period = 1000 / this.opts.fps;
    const now = performance.now();
    const slot = Math.floor((now - this.startMs) / period);
    if (slot > this.lastSlot) {
      this.framesSkipped += Math.max(0, slot - this.lastSlot - 1);
      this.lastSlot = slot;
      this.produce(now);
    }
    this.timer = setTimeout(() => this.tick(), Math.max(1, this.startMs + (this.lastSlot + 1) * period - performance.now()));
  }

  private produce(captureMs: number): void {
    const stdin = this.child?.stdin;
    if (!stdin || this.producing || stdin.writableNeedDrain) {
      this.framesSkipped++;
      return;
    }
    this.producing = true;
    const { source, logger, device } = this.opts;
    Promise.resolve()
      .then(() => source.frame())
      .then(
        (frame) => {
          if (!Buffer.isBuffer(frame) || frame.length !== this.frameBytes) {
            if (!this.badFrameLogged) {
              logger.error({ device, operation: 'frame', got: Buffer.isBuffer(frame) ? frame.length : typeof frame, expected: this.frameBytes }, `frame source gave a frame of the wrong size (want ${source.width}x${source.height} rgb24); skipping such frames`);
              this.badFrameLogged = true;
            }
            this.framesSkipped++;
            return;
          }
          if (this.child?.stdin !== stdin || this.stopping) return;
          this.inFlight.push(captureMs);
          this.framesFed++;
          stdin.write(frame);
        },
        (err: unknown) => {
          this.framesSkipped++;
          logger.warn({ device, operation: 'frame', err: err instanceof Error ? err.message : String(err) }, 'frame source failed; frame skipped');
        },
      )
      .finally(() => {
        this.producing = false;
      });
  }
}
