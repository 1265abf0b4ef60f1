/**
 * Clips for the video benchmark: the camera simulator's road scene rendered on a manual clock
 * (frame i shows sim time i / fps), H.264-encoded by ffmpeg as the simulated camera encodes its
 * stream, kept in an .mp4 with its timestamps; and decoded back the way the edge's StreamIngest
 * decodes a stream (fps and scale filters, rgb24 on a pipe), timed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { FrameAssembler, decodeFilters } from '@quanlink/edge';
import { RoadScene, type RoadSceneOptions, type SceneLine, type TruthCrossing } from '@quanlink/simulators';

/** Epoch ms of the first frame: fixed, so two runs give the same timestamps. */
export const CLIP_EPOCH_MS = Date.UTC(2026, 0, 5, 8, 0, 0);

export interface Clip {
  file: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
  /** Epoch ms of frame i is startMs + i * 1000 / fps. */
  startMs: number;
  lines: SceneLine[];
  crossings: TruthCrossing[];
}

/** `taskset -c CPU` in front of a command when taskset exists and a CPU is given. */
export function pinned(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  return cpu !== undefined && hasTaskset() ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

let tasksetFound: boolean | undefined;
export function hasTaskset(): boolean {
  tasksetFound ??= spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
  return tasksetFound;
}

/** Runs ffmpeg to its end; throws with its last words when it fails. `stdin` is fed by `feed`. */
async function ffmpeg(args: string[], cpu: number | undefined, feed?: (stdin: NodeJS.WritableStream) => Promise<void>, onData?: (chunk: Buffer) => void): Promise<void> {
  const [command, argv] = pinned(cpu, 'ffmpeg', args);
  const child = spawn(command, argv, { stdio: [feed ? 'pipe' : 'ignore', onData ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  if (onData) child.stdout!.on('data', onData);
  const exited = once(child, 'close') as Promise<[number | null, string | null]>;
  try {
    if (feed) {
      child.stdin!.on('error', () => undefined); // reported by the exit code below
      await feed(child.stdin!);
      child.stdin!.end();
    }
    const [code, signal] = await exited;
    if (code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Renders `frames` frames of a road scene into an .mp4 (H.264 as the simulated camera sends it: ultrafast, zerolatency, baseline, GOP 2 s, no B-frames). */
export async function makeClip(file: string, frames: number, fps: number, scene: Omit<RoadSceneOptions, 'now'>, cpu?: number): Promise<Clip> {
  let clock = CLIP_EPOCH_MS;
  const road = new RoadScene({ ...scene, now: () => clock });
  await road.ready();
  const { width, height } = road;
  const gop = 2 * fps;
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-threads', '1',
    '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(gop), '-keyint_min', String(gop), '-bf', '0',
    '-x264-params', 'scenecut=0', '-f', 'mp4', file,
  ];
  await ffmpeg(args, cpu, async (stdin) => {
    for (let i = 0; i < frames; i++) {
      clock = CLIP_EPOCH_MS + (i * 1000) / fps;
      if (!stdin.write(await road.frame())) await once(stdin, 'drain');
    }
  });
  return { file, frames, fps, width, height, startMs: CLIP_EPOCH_MS, lines: road.lines(), crossings: road.truth().crossings };
}

export interface DecodedClip {
  frames: Buffer[];
  width: number;
  height: number;
  /** Wall time of the whole decode (ffmpeg start to its exit), ms. */
  wallMs: number;
}

/**
 * Decodes the clip to rgb24 frames of width x height with the filters StreamIngest uses
 * (decodeFilters), one ffmpeg thread, on `cpu` when given.
 */
export async function decodeClip(clip: Clip, width: number, height: number, cpu?: number): Promise<DecodedClip> {
  // The edge's own frame cutter, as StreamIngest uses it.
  const assembler = new FrameAssembler(width * height * 3);
  const frames: Buffer[] = [];
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-threads', '1', '-i', clip.file,
    '-an', '-sn', '-threads', '1', '-filter_threads', '1', '-vf', decodeFilters(clip.fps, width, height), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const started = performance.now();
  await ffmpeg(args, cpu, undefined, (chunk) => frames.push(...assembler.push(chunk)));
  const wallMs = performance.now() - started;
  if (frames.length !== clip.frames) throw new Error(`decoding ${clip.file} gave ${frames.length} frames, ${clip.frames} were encoded`);
  return { frames, width, height, wallMs };
}
