/**
 * The embedded detector: an ONNX model run by onnxruntime-node on the CPU, with an output decoder
 * chosen by configuration (FastestDet, or a user's YOLOv5/YOLOv8-style export). Every way a model
 * can be unusable (missing, wrong checksum, not ONNX, wrong shapes) is a ModelError with a message
 * that names the file, never a crash.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { DECODERS, formatDims, nms, type DecodeContext } from './decoders.js';
import { COCO_LABELS, kindOfLabel, readLabels } from './labels.js';
import { frameToInput } from './preprocess.js';
import type { Detection, Detector, DetectorOptions, DetectorTimings, RgbFrame } from './types.js';

/** sha256 of FastestDet.onnx (dog-qiuqiu/FastestDet, example/onnx-runtime/FastestDet.onnx). */
export const FASTESTDET_SHA256 = '31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880';

export type ModelErrorCode = 'ModelMissing' | 'ModelChecksum' | 'ModelInvalid' | 'ModelShape';

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(readonly code: ModelErrorCode, readonly modelPath: string, message: string) {
    super(message);
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function checkFile(path: string, what: string, modelPath: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ModelError('ModelMissing', modelPath, `${what} is not a file: ${path}`);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError('ModelMissing', modelPath, `${what} missing: ${path}`);
  }
}

export async function createOnnxDetector(opts: DetectorOptions): Promise<Detector> {
  const path = opts.modelPath;
  const spec = DECODERS[opts.decoder];
  if (!spec) throw new ModelError('ModelInvalid', path, `model ${path}: unknown decoder '${String(opts.decoder)}' (fastestdet, yolov5 or yolov8)`);
  await checkFile(path, 'model file', path);
  if (opts.sha256 !== undefined) {
    const expected = opts.sha256.trim().toLowerCase();
    const actual = await sha256Of(path);
    if (actual !== expected) throw new ModelError('ModelChecksum', path, `sha256 of ${path} is ${actual}, expected ${expected}`);
  }
  let labels: readonly string[] = COCO_LABELS;
  if (opts.labelsPath !== undefined) {
    await checkFile(opts.labelsPath, 'labels file', path);
    labels = await readLabels(opts.labelsPath);
    if (labels.length === 0) throw new ModelError('ModelInvalid', path, `labels file ${opts.labelsPath} has no labels`);
  }

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ModelError('ModelInvalid', path, `model ${path} is not a loadable ONNX model: ${why}`);
  }

  try {
    const shapeProblem = (msg: string): ModelError => new ModelError('ModelShape', path, `model ${path}: ${msg}`);
    if (session.inputNames.length !== 1 || session.outputNames.length < 1) {
      throw shapeProblem(`has ${session.inputNames.length} inputs and ${session.outputNames.length} outputs, a detector needs one image input and an output`);
    }
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    if (!input?.isTensor || !output?.isTensor) throw shapeProblem('input and output must be tensors');
    if (input.type !== 'float32' || output.type !== 'float32') throw shapeProblem(`input is ${input.type} and output ${output.type}, float32 expected`);
    const inDims = input.shape;
    const fixed = spec.fixedInput;
    if (fixed && (inDims.length !== 4 || fixed.some((d, i) => inDims[i] !== d))) {
      throw shapeProblem(`input is ${formatDims(inDims)}, the ${opts.decoder} decoder expects ${formatDims(fixed)}`);
    }
    if (inDims.length !== 4 || inDims[0] !== 1 || inDims[1] !== 3 || typeof inDims[2] !== 'number' || typeof inDims[3] !== 'number') {
      throw shapeProblem(`input is ${formatDims(inDims)}, the ${opts.decoder} decoder expects a fixed [1,3,height,width] (export the model with a fixed input size)`);
    }
    const inputHeight = inDims[2];
    const inputWidth = inDims[3];
    const classes = spec.classesFromOutput(output.shape, inputWidth, inputHeight);
    if (typeof classes === 'string') throw shapeProblem(classes);
    if (classes !== labels.length) {
      throw shapeProblem(`output ${formatDims(output.shape)} has ${classes} classes but ${labels.length} labels are configured${opts.labelsPath ? ` (${opts.labelsPath})` : ' (built-in COCO)'}`);
    }
    return new OnnxDetector(session, opts, labels, inputWidth, inputHeight, classes);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
}

class OnnxDetector implements Detector {
  lastTimings: DetectorTimings = { preprocessMs: 0, inferenceMs: 0, decodeMs: 0 };
  private readonly input: Float32Array;
  private readonly tensor: ort.Tensor;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly order: 'bgr' | 'rgb';
  private readonly kinds: ReturnType<typeof kindOfLabel>[];
  /** detect() calls run one at a time: they share the input buffer. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly opts: DetectorOptions,
    readonly labels: readonly string[],
    readonly inputWidth: number,
    readonly inputHeight: number,
    private readonly classes: number,
  ) {
    this.input = new Float32Array(3 * inputWidth * inputHeight);
    this.tensor = new ort.Tensor('float32', this.input, [1, 3, inputHeight, inputWidth]);
    this.inputName = session.inputNames[0]!;
    this.outputName = session.outputNames[0]!;
    this.order = opts.channelOrder ?? DECODERS[opts.decoder].defaultOrder;
    this.kinds = labels.map(kindOfLabel);
  }

  detect(frame: RgbFrame): Promise<Detection[]> {
    const run = this.queue.then(() => this.detectNow(frame));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async detectNow(frame: RgbFrame): Promise<Detection[]> {
    if (this.closed) throw new Error(`detector for ${this.opts.modelPath} is closed`);
    const t0 = performance.now();
    await frameToInput(frame, this.inputWidth, this.inputHeight, this.input, this.order);
    const t1 = performance.now();
    const results = await this.session.run({ [this.inputName]: this.tensor });
    const t2 = performance.now();
    const out = results[this.outputName]!;
    const ctx: DecodeContext = {
      inputWidth: this.inputWidth,
      inputHeight: this.inputHeight,
      frameWidth: frame.width,
      frameHeight: frame.height,
      scoreThreshold: this.opts.scoreThreshold ?? 0.5,
      classes: this.classes,
    };
    const raw = DECODERS[this.opts.decoder].decode(out.data as Float32Array, out.dims, ctx);
    const kept = nms(raw, this.opts.nmsIou ?? 0.45, this.opts.classAgnosticNms ?? true);
    const detections = kept.map((d): Detection => ({
      box: d.box,
      score: d.score,
      classId: d.classId,
      label: this.labels[d.classId]!,
      kind: this.kinds[d.classId]!,
    }));
    for (const t of Object.values(results)) t.dispose?.();
    this.lastTimings = { preprocessMs: t1 - t0, inferenceMs: t2 - t1, decodeMs: performance.now() - t2 };
    return detections;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.session.release();
  }
}
