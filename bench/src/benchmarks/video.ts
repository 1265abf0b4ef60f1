/**
 * video: frames one camera's analysis gets through per second on one core, at the model's input
 * size (FastestDet, 352x352), from H.264 to events in the outbox, against bare onnxruntime
 * inference on the same frames in the same run.
 *
 * A clip of the camera simulator's road scene (fixed seed, 10 fps, ground truth kept) is encoded
 * as the simulated camera encodes its stream, then decoded with the edge's ffmpeg filters (timed:
 * the decode share), and every decoded frame goes through the edge's own FrameAnalysis, the code
 * CameraPipeline runs (motion gate -> detector -> tracker -> scene analytics -> snapshots ->
 * SQLite outbox), with the detector's per-stage times.
 *   value     frames/s with every frame inferred (the gate runs but may not skip): decode + analysis
 *   baseline  session.run alone on the same frames, inputs prepared outside the timing
 * Also: the same clip with the gate as configured (default) and the counts' precision and recall
 * against the scene's truth; a quiet clip (empty road) for the inference the gate saves.
 * This process and its ffmpeg children are pinned to one CPU (taskset) unless --cpu off.
 *   npm run bench -- video [--frames N] [--quiet-frames N] [--seed N] [--cpu N|off]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import pino from 'pino';
import type { NewEvent } from '@quanlink/contracts';
import {
  FASTESTDET_SHA256,
  decodeFilters,
  FrameAnalysis,
  SnapshotStore,
  SqliteOutbox,
  checkAnalyticsConfig,
  createOnnxDetector,
  packedToPlanar,
  type AnalyticsConfig,
  type Detector,
  type FrameTimings,
} from '@quanlink/edge';
import { FASTESTDET_MODEL_PATH, scoreCrossings, type ScoredCrossing } from '@quanlink/simulators';
import { percentile, progress, round, type BenchResult } from '../result.js';
import { decodeClip, hasTaskset, makeClip, type Clip, type DecodedClip } from '../parts/video-clip.js';

const FPS = 10;
const MATCH_MS = 1500;
const WARMUP_RUNS = 10;
const STAGES = ['gateMs', 'preprocessMs', 'inferenceMs', 'decodeMs', 'trackingMs', 'eventsMs'] as const satisfies readonly (keyof FrameTimings)[];

/** CPU time of this process and of its waited-for children (ffmpeg), ms, from /proc (Linux). */
function cpuMs(): { self: number; children: number } {
  const self = process.cpuUsage();
  let children = NaN;
  try {
    // Fields after the command name: ... utime(14) stime(15) cutime(16) cstime(17), in clock ticks (100 Hz).
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    children = (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    // not Linux: children's CPU time unknown
  }
  return { self: (self.user + self.system) / 1000, children };
}

interface AnalysisRun {
  frames: number;
  analysed: number;
  skipped: number;
  wallMs: number;
  cpuMs: number;
  /** Per analysed frame (detector stages) or per frame (gate, events). */
  timings: FrameTimings[];
  crossings: ScoredCrossing[];
  events: number;
  snapshots: { taken: number; limited: number };
}

/** Every decoded frame through the edge's FrameAnalysis, timestamps at the clip's frame rate; events into a SQLite outbox on disk. */
async function analyseClip(name: string, clip: Clip, decoded: DecodedClip, detector: Detector, motionGate: { everyNthFrameAnyway?: number }, dir: string): Promise<AnalysisRun> {
  const logger = pino({ level: 'silent' });
  const analytics: AnalyticsConfig = { lines: clip.lines.map((l) => ({ id: l.id, lane: l.lane, from: l.from, to: l.to })), zones: [], periodS: 60 };
  const problems = checkAnalyticsConfig(analytics);
  if (problems.length > 0) throw new Error(`analytics config from the scene's lines: ${problems.join('; ')}`);
  const outbox = new SqliteOutbox(join(dir, `outbox-${name}.db`));
  const store = await SnapshotStore.open(join(dir, `snapshots-${name}`), 200 * 1024 * 1024, logger);
  const run: AnalysisRun = { frames: 0, analysed: 0, skipped: 0, wallMs: 0, cpuMs: 0, timings: [], crossings: [], events: 0, snapshots: { taken: 0, limited: 0 } };
  let frameTs = clip.startMs;
  const analysis = new FrameAnalysis({
    camera: 'cam-1',
    video: { fps: clip.fps, motionGate },
    analytics,
    detector,
    frameSize: { width: decoded.width, height: decoded.height },
    store,
    // As CameraPipeline.write: nothing to store, no transaction.
    write: (events: NewEvent[]) => {
      if (events.length === 0) return;
      run.events += outbox.append(events).length;
      for (const e of events) if (e.type === 'video.crossing' && e.data.lane !== undefined) run.crossings.push({ lane: e.data.lane, direction: e.data.direction, at: e.ts });
    },
    logger,
    // Snapshot rate limit on the video's clock: as many snapshots as the live camera would take.
    now: () => frameTs,
  });
  try {
    const cpu0 = cpuMs().self;
    for (const [i, data] of decoded.frames.entries()) {
      frameTs = clip.startMs + (i * 1000) / clip.fps;
      const t0 = performance.now();
      const result = await analysis.analyse({ data, width: decoded.width, height: decoded.height, ts: frameTs });
      run.wallMs += performance.now() - t0;
      run.frames++;
      if (result.analysed) run.analysed++;
      else run.skipped++;
      run.timings.push(result.timings);
      run.snapshots.taken += result.snapshots.taken;
      run.snapshots.limited += result.snapshots.limited;
      if (i % 100 === 99) progress(`  ${name}: ${i + 1}/${decoded.frames.length} frames, ${round((run.frames / run.wallMs) * 1000, 1)} frames/s analysis alone`);
    }
    run.cpuMs = cpuMs().self - cpu0;
  } finally {
    outbox.close();
  }
  return run;
}

/** session.run alone on each frame's model input (filled before the clock starts), one intra-op thread, the detector's session options. */
async function bareInference(modelPath: string, frames: Buffer[], width: number, height: number): Promise<{ wallMs: number; perFrame: number[] }> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  try {
    const input = new Float32Array(3 * width * height);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) };
    const runOnce = async (frame: Buffer): Promise<number> => {
      packedToPlanar(frame, width * height, input, 'bgr');
      const t0 = performance.now();
      const out = await session.run(feeds);
      const ms = performance.now() - t0;
      for (const t of Object.values(out)) t.dispose?.();
      return ms;
    };
    for (let i = 0; i < WARMUP_RUNS; i++) await runOnce(frames[i % frames.length]!);
    const perFrame: number[] = [];
    for (const frame of frames) perFrame.push(await runOnce(frame));
    return { wallMs: perFrame.reduce((a, b) => a + b, 0), perFrame };
  } finally {
    await session.release();
  }
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const p50 = (xs: readonly number[]) => round(percentile([...xs].sort((a, b) => a - b), 50), 3);
const share = (part: number, whole: number) => round(part / whole, 3);

/** Where the time of one run went: per stage totals as shares of decode + analysis, and p50s. */
function breakdown(run: AnalysisRun, decodeMs: number) {
  const totalMs = decodeMs + run.wallMs;
  const analysedTimings = run.timings.filter((t) => t.inferenceMs > 0);
  const stageTotal = (k: (typeof STAGES)[number]) => sum(run.timings.map((t) => t[k]));
  const other = run.wallMs - sum(STAGES.map(stageTotal));
  return {
    fps: round((run.frames / totalMs) * 1000, 1),
    /** Without the video decode: what the analysis alone gets through. */
    analysis_only_fps: round((run.frames / run.wallMs) * 1000, 1),
    frames: run.frames,
    analysed: run.analysed,
    skipped_by_gate: run.skipped,
    skipped_share: share(run.skipped, run.frames),
    total_ms: round(totalMs, 1),
    analysis_wall_ms: round(run.wallMs, 1),
    analysis_cpu_ms: round(run.cpuMs, 1),
    share: {
      decode: share(decodeMs, totalMs),
      motion_gate: share(stageTotal('gateMs'), totalMs),
      preprocess: share(stageTotal('preprocessMs'), totalMs),
      inference: share(stageTotal('inferenceMs'), totalMs),
      output_decode_nms: share(stageTotal('decodeMs'), totalMs),
      tracking_analytics: share(stageTotal('trackingMs'), totalMs),
      events_snapshots_outbox: share(stageTotal('eventsMs'), totalMs),
      other: share(other, totalMs),
    },
    p50_ms: {
      decode: round(decodeMs / run.frames, 3),
      motion_gate: p50(run.timings.map((t) => t.gateMs)),
      preprocess: p50(analysedTimings.map((t) => t.preprocessMs)),
      inference: p50(analysedTimings.map((t) => t.inferenceMs)),
      output_decode_nms: p50(analysedTimings.map((t) => t.decodeMs)),
      tracking_analytics: p50(analysedTimings.map((t) => t.trackingMs)),
      events_snapshots_outbox: p50(run.timings.map((t) => t.eventsMs)),
    },
    events: run.events,
    snapshots: run.snapshots,
  };
}

function accuracy(run: AnalysisRun, clip: Clip) {
  const truth: ScoredCrossing[] = clip.crossings.filter((c) => c.kind === 'vehicle').map((c) => ({ lane: c.lane, direction: c.direction, at: c.atMs }));
  const score = scoreCrossings(run.crossings, truth, MATCH_MS);
  const lanes = Object.fromEntries(
    Object.entries(score.lanes).map(([lane, s]) => [lane, { counted: s.counted, truth: s.truth, matched: s.matched, count_error: s.truth > 0 ? round((s.counted - s.truth) / s.truth, 3) : null }]),
  );
  return { precision: round(score.precision, 3), recall: round(score.recall, 3), counted: score.counted, truth: score.truth, matched: score.matched, lanes };
}

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      frames: { type: 'string', default: '600' },
      'quiet-frames': { type: 'string', default: '300' },
      seed: { type: 'string', default: '7' },
      cpu: { type: 'string', default: '0' },
    },
  });
  const frames = Number(values.frames);
  const quietFrames = Number(values['quiet-frames']);
  const seed = Number(values.seed);
  for (const [name, n, min] of [['frames', frames, 50], ['quiet-frames', quietFrames, 20]] as const) {
    if (!Number.isInteger(n) || n < min || n > 36_000) throw new Error(`--${name} must be an integer ${min}..36000, got '${String(values[name])}'`);
  }
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  const cpu = values.cpu === 'off' ? undefined : Number(values.cpu);
  if (cpu !== undefined && !(Number.isInteger(cpu) && cpu >= 0)) throw new Error(`--cpu must be a CPU number or off, got '${values.cpu}'`);
  const modelPath = FASTESTDET_MODEL_PATH;
  if (!existsSync(modelPath)) throw new Error(`video bench: model not found at ${modelPath} (FastestDet.onnx; set QUANLINK_MODELS_DIR, see README "Cameras")`);

  // One core: this process (all its threads, onnxruntime's included) and the ffmpeg it starts.
  let pinnedTo = 'not pinned (--cpu off)';
  if (cpu !== undefined) {
    if (!hasTaskset()) pinnedTo = 'not pinned (no taskset)';
    else {
      const r = spawnSync('taskset', ['-a', '-c', '-p', String(cpu), String(process.pid)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`taskset could not pin this process to CPU ${cpu}: ${r.stderr.trim()}`);
      pinnedTo = `CPU ${cpu} (this process and ffmpeg, taskset)`;
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'quanlink-bench-video-'));
  let detector: Detector | undefined;
  try {
    progress(`clip: ${frames} frames of the road scene (seed ${seed}, 3 lanes) at ${FPS} fps, H.264 by ffmpeg`);
    const busy = await makeClip(join(dir, 'busy.mp4'), frames, FPS, { seed }, cpu);
    progress(`quiet clip: ${quietFrames} frames of the empty road`);
    const quiet = await makeClip(join(dir, 'quiet.mp4'), quietFrames, FPS, { seed, flowVph: 0 }, cpu);

    detector = await createOnnxDetector({ modelPath, decoder: 'fastestdet', sha256: FASTESTDET_SHA256, threads: 1 });
    const { inputWidth: width, inputHeight: height } = detector;
    progress(`decode: ${busy.width}x${busy.height} H.264 -> ${width}x${height} rgb24, one ffmpeg thread`);
    const cpuBefore = cpuMs().children;
    const decoded = await decodeClip(busy, width, height, cpu);
    const decodeCpuMs = cpuMs().children - cpuBefore;
    for (let i = 0; i < WARMUP_RUNS; i++) await detector.detect({ data: decoded.frames[i % frames]!, width, height, ts: 0 });

    progress('bare onnxruntime session.run on the same frames (1/2)');
    const bare1 = await bareInference(modelPath, decoded.frames, width, height);
    progress('pipeline, every frame inferred');
    const every = await analyseClip('every-frame', busy, decoded, detector, { everyNthFrameAnyway: 1 }, dir);
    progress('pipeline, motion gate as configured by default');
    const gated = await analyseClip('gated', busy, decoded, detector, {}, dir);
    progress('bare onnxruntime session.run on the same frames (2/2)');
    const bare2 = await bareInference(modelPath, decoded.frames, width, height);

    progress('quiet scene through the motion gate');
    const quietDecoded = await decodeClip(quiet, width, height, cpu);
    const still = await analyseClip('quiet', quiet, quietDecoded, detector, {}, dir);

    // The faster of the two bare runs: load from elsewhere on the machine cannot flatter the ratio.
    const bare = bare1.wallMs <= bare2.wallMs ? bare1 : bare2;
    const bareFps = (frames / bare.wallMs) * 1000;
    const everyFrame = breakdown(every, decoded.wallMs);
    const withGate = breakdown(gated, decoded.wallMs);
    const value = everyFrame.fps;
    const sha256 = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
    return {
      name: 'video',
      unit: 'frames/s per camera on one core (352x352, every frame inferred), H.264 decode to events in the outbox',
      value,
      baseline: { what: `bare onnxruntime-node session.run, 1 intra-op thread, on the same ${frames} frames (inputs prepared outside the timing)`, value: round(bareFps, 1) },
      ratio: round(value / bareFps, 3),
      aim: { ratio: 0.8, value: 25 },
      details: {
        model: { file: modelPath, sha256, sha256_verified: sha256 === FASTESTDET_SHA256, input: `${width}x${height}`, decoder: 'fastestdet', threads: 1 },
        clip: { frames, fps: FPS, seconds: frames / FPS, source: `RoadScene seed ${seed}, ${busy.width}x${busy.height}, 3 lanes, 720 veh/h/lane`, encoded: 'libx264 ultrafast zerolatency baseline, GOP 2 s, mp4' },
        pinned: pinnedTo,
        decode: { wall_ms: round(decoded.wallMs, 1), cpu_ms: Number.isNaN(decodeCpuMs) ? null : round(decodeCpuMs, 1), ms_per_frame: round(decoded.wallMs / frames, 3), how: `ffmpeg -threads 1 -vf ${decodeFilters(FPS, width, height)} -f rawvideo -pix_fmt rgb24 pipe:1 (StreamIngest's filters)` },
        every_frame: everyFrame,
        with_motion_gate: withGate,
        bare_inference: {
          fps: round(bareFps, 1),
          p50_ms: p50(bare.perFrame),
          runs_fps: [round((frames / bare1.wallMs) * 1000, 1), round((frames / bare2.wallMs) * 1000, 1)],
          note: 'run before and after the pipeline; the faster is the baseline',
        },
        ratio_with_motion_gate: round(withGate.fps / bareFps, 3),
        ratio_without_video_decode: round(everyFrame.analysis_only_fps / bareFps, 3),
        quiet_scene: {
          frames: still.frames,
          inference_saved: share(still.skipped, still.frames),
          analysed: still.analysed,
          fps: breakdown(still, quietDecoded.wallMs).fps,
          note: 'empty road, same encode and decode; the gate still analyses every 5th frame (everyNthFrameAnyway)',
        },
        counts: {
          match: `a counted crossing matches a true one of the same lane and direction within ±${MATCH_MS / 1000} s, one to one`,
          with_motion_gate: accuracy(gated, busy),
          every_frame: accuracy(every, busy),
        },
        precision: accuracy(gated, busy).precision,
        recall: accuracy(gated, busy).recall,
        what_is_timed:
          'decode: ffmpeg wall time for the whole clip, per frame; analysis: FrameAnalysis.analyse per frame (as CameraPipeline runs it): motion gate, detector (preprocess, session.run, output decode + NMS), tracker + scene analytics, snapshots (overlay drawn into the pixels, sharp JPEG and thumbnail, disk store, rate limit on video time) and the SQLite outbox append (WAL, synchronous FULL)',
      },
      at: new Date().toISOString(),
      command: `npm run bench -- video${args.length ? ' ' + args.join(' ') : ''}`,
    };
  } finally {
    await detector?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
