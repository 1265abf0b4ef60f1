import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import {
  createOnnxDetector,
  FASTESTDET_SHA256,
  iou,
  kindOfLabel,
  ModelError,
  type Detector,
  type RgbFrame,
} from '../../../src/video/analytics/index.js';
import { detectorConformance } from './detector-conformance.js';
import { writeTinyOnnx } from './tiny-onnx.js';
import { SHARED_MODELS_DIR } from '@quanlink/simulators';

/** Where the FastestDet model and samples live (never copied into the repo). */
const MODELS = SHARED_MODELS_DIR;
const MODEL = join(MODELS, 'FastestDet.onnx');
const SAMPLES = join(MODELS, 'samples');

async function readRgb(path: string): Promise<RgbFrame> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, ts: 0 };
}

/** A crop pasted on flat grey 112, as the models README's compositing test. */
async function pasteOnGrey(crop: string, left: number, top: number, width = 640, height = 360): Promise<RgbFrame> {
  const data = await sharp({ create: { width, height, channels: 3, background: { r: 112, g: 112, b: 112 } } })
    .composite([{ input: join(SAMPLES, 'crops', crop), left, top }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return { data, width, height, ts: 0 };
}

async function resized(frame: RgbFrame, width: number, height: number): Promise<RgbFrame> {
  const data = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return { data, width, height, ts: frame.ts };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('ONNX detector, FastestDet on real images', () => {
  let det: Detector;
  before(async () => {
    det = await createOnnxDetector({ modelPath: MODEL, decoder: 'fastestdet', sha256: FASTESTDET_SHA256 });
  });
  after(async () => det.close());

  it('issue 5: the input is [1,3,352,352] and the labels are COCO 80', () => {
    assert.equal(det.inputWidth, 352);
    assert.equal(det.inputHeight, 352);
    assert.equal(det.labels.length, 80);
    assert.equal(det.labels[2], 'car');
  });

  it('issue 5: dog.jpg gives car, dog and bicycle; the car box matches the reference', async () => {
    const frame = await readRgb(join(SAMPLES, 'dog.jpg'));
    assert.equal(frame.width, 768);
    const dets = await det.detect(frame);
    const labels = dets.map((d) => d.label);
    for (const want of ['car', 'dog', 'bicycle']) assert.ok(labels.includes(want), `${want} in ${labels}`);
    const car = dets.filter((d) => d.label === 'car').sort((a, b) => iou(b.box, [454, 73, 708, 171]) - iou(a.box, [454, 73, 708, 171]))[0]!;
    assert.ok(iou(car.box, [454, 73, 708, 171]) >= 0.7, `car box ${car.box.map(Math.round)}`);
    assert.equal(car.kind, 'vehicle');
    assert.ok(Math.abs(car.score - 0.758) < 0.02, `car score ${car.score}`);
  });

  it('issue 5: a car crop pasted on grey is found where it was pasted; a person crop too', async () => {
    // scenetext01_car0: crop (370,407) of the photo, the car box [398,423,677,580] inside it.
    const frame = await pasteOnGrey('scenetext01_car0.png', 150, 100);
    const want: [number, number, number, number] = [150 + 28, 100 + 16, 150 + 28 + 279, 100 + 16 + 157];
    const dets = await det.detect(frame);
    assert.ok(dets.some((d) => d.kind === 'vehicle' && iou(d.box, want) >= 0.5), JSON.stringify(dets));
    // vtest_f200_person1: crop (702,244), the person box [706,254,744,352].
    const frame2 = await pasteOnGrey('vtest_f200_person1.png', 400, 150);
    const person: [number, number, number, number] = [404, 160, 442, 258];
    assert.ok((await det.detect(frame2)).some((d) => d.kind === 'person' && iou(d.box, person) >= 0.5));
  });

  it('issue 5: an empty grey road has no vehicle', async () => {
    const data = Buffer.alloc(352 * 352 * 3, 112);
    const dets = await det.detect({ data, width: 352, height: 352, ts: 0 });
    assert.deepEqual(dets.filter((d) => d.kind === 'vehicle'), []);
  });

  it('issue 5 benchmark reference: preprocess, inference and decode per frame at 352x352, 1 thread', async (t) => {
    const frame = await resized(await readRgb(join(SAMPLES, 'dog.jpg')), 352, 352);
    const pre: number[] = [];
    const inf: number[] = [];
    const dec: number[] = [];
    for (let i = 0; i < 50; i++) {
      await det.detect({ ...frame, ts: i });
      pre.push(det.lastTimings.preprocessMs);
      inf.push(det.lastTimings.inferenceMs);
      dec.push(det.lastTimings.decodeMs);
    }
    const m = { preprocessMs: median(pre), inferenceMs: median(inf), decodeMs: median(dec) };
    t.diagnostic(`median of 50 frames: preprocess ${m.preprocessMs.toFixed(3)} ms, inference ${m.inferenceMs.toFixed(3)} ms, decode ${m.decodeMs.toFixed(3)} ms`);
    // The pipeline's budget: everything around inference costs <= 25 % of it.
    assert.ok(m.preprocessMs + m.decodeMs <= 0.25 * m.inferenceMs, JSON.stringify(m));
  });
});

describe('ONNX detector: unusable models are clear errors', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'quanlink-model-')); });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function modelError(p: Promise<unknown>, code: ModelError['code'], message: RegExp | string): Promise<ModelError> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ModelError, `a ModelError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return err;
  }

  it('issue 5: a missing model file', async () => {
    const path = join(dir, 'nope.onnx');
    const err = await modelError(createOnnxDetector({ modelPath: path, decoder: 'fastestdet' }), 'ModelMissing', `model file missing: ${path}`);
    assert.equal(err.modelPath, path);
  });

  it('issue 5: a directory instead of a file', async () => {
    await modelError(createOnnxDetector({ modelPath: dir, decoder: 'fastestdet' }), 'ModelMissing', `model file is not a file: ${dir}`);
  });

  it('issue 5: a wrong sha256 is refused before loading', async () => {
    const expected = 'ab'.repeat(32);
    await modelError(
      createOnnxDetector({ modelPath: MODEL, decoder: 'fastestdet', sha256: expected }),
      'ModelChecksum',
      `sha256 of ${MODEL} is ${FASTESTDET_SHA256}, expected ${expected}`,
    );
  });

  it('issue 5: a file that is not ONNX', async () => {
    const path = join(dir, 'garbage.onnx');
    await writeFile(path, Buffer.from('this is not a model\n'.repeat(100)));
    await modelError(createOnnxDetector({ modelPath: path, decoder: 'fastestdet' }), 'ModelInvalid', new RegExp(`^model ${path} is not a loadable ONNX model: .+`));
  });

  it('issue 5: a model with the wrong input shape for the decoder', async () => {
    const path = await writeTinyOnnx(join(dir, 'yolo640.onnx'), { inputDims: [1, 3, 640, 640], outputDims: [1, 84, 8400 / 100] });
    await modelError(
      createOnnxDetector({ modelPath: path, decoder: 'fastestdet' }),
      'ModelShape',
      `model ${path}: input is [1,3,640,640], the fastestdet decoder expects [1,3,352,352]`,
    );
  });

  it('issue 5: a model whose output the decoder cannot read, or whose classes do not match the labels', async () => {
    const path = await writeTinyOnnx(join(dir, 'v8.onnx'), { inputDims: [1, 3, 64, 64], outputDims: [1, 84, 10] });
    await modelError(createOnnxDetector({ modelPath: path, decoder: 'yolov5' }), 'ModelShape', `model ${path}: output [1,84,10] has 5 classes but 80 labels are configured (built-in COCO)`);
    const flat = await writeTinyOnnx(join(dir, 'flat.onnx'), { inputDims: [1, 3, 64, 64], outputDims: [1, 84] });
    await modelError(createOnnxDetector({ modelPath: flat, decoder: 'yolov8' }), 'ModelShape', `model ${flat}: output is [1,84], the yolov8 decoder expects [1,4+classes,candidates]`);
    const dynamic = await writeTinyOnnx(join(dir, 'dyn.onnx'), { inputDims: [1, 3, 'height', 'width'], outputDims: [1, 84, 10] });
    await modelError(createOnnxDetector({ modelPath: dynamic, decoder: 'yolov8' }), 'ModelShape', /input is \[1,3,height,width\], the yolov8 decoder expects a fixed \[1,3,height,width\]/);
  });

  it('issue 5: a missing labels file', async () => {
    const labels = join(dir, 'none.names');
    await modelError(createOnnxDetector({ modelPath: MODEL, decoder: 'fastestdet', labelsPath: labels }), 'ModelMissing', `labels file missing: ${labels}`);
  });
});

/** A constant YOLO-style output of 3 candidates: two cars (one overlapping, lower score) and a person, input 64x64. */
function yoloCandidates(): { cx: number; cy: number; w: number; h: number; cls: number; p: number }[] {
  return [
    { cx: 20, cy: 20, w: 16, h: 10, cls: 2, p: 0.9 },
    { cx: 21, cy: 20, w: 16, h: 10, cls: 7, p: 0.7 },
    { cx: 48, cy: 40, w: 8, h: 20, cls: 0, p: 0.8 },
  ];
}

function yolov8Output(classes: number): Float32Array {
  const c = yoloCandidates();
  const n = c.length;
  const out = new Float32Array((4 + classes) * n);
  c.forEach((k, i) => {
    out[i] = k.cx; out[n + i] = k.cy; out[2 * n + i] = k.w; out[3 * n + i] = k.h;
    out[(4 + k.cls) * n + i] = k.p;
  });
  return out;
}

function yolov5Output(classes: number): Float32Array {
  const c = yoloCandidates();
  const out = new Float32Array(c.length * (5 + classes));
  c.forEach((k, i) => {
    const r = i * (5 + classes);
    out.set([k.cx, k.cy, k.w, k.h, 1], r);
    out[r + 5 + k.cls] = k.p;
  });
  return out;
}

describe('ONNX detector: a user-supplied YOLO model end to end (constant-output ONNX)', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'quanlink-yolo-')); });
  after(async () => rm(dir, { recursive: true, force: true }));
  const frame128: RgbFrame = { data: Buffer.alloc(128 * 96 * 3, 90), width: 128, height: 96, ts: 0 };

  for (const decoder of ['yolov5', 'yolov8'] as const) {
    it(`issue 5: ${decoder} boxes come back in frame pixels after NMS, with a labels file`, async () => {
      const labelsPath = join(dir, `${decoder}.names`);
      await writeFile(labelsPath, 'person\nbicycle\ncar\nmotorcycle\nairplane\nbus\ntrain\ntruck\n\n');
      const output = decoder === 'yolov8' ? yolov8Output(8) : yolov5Output(8);
      const outputDims = decoder === 'yolov8' ? [1, 12, 3] : [1, 3, 13];
      const modelPath = await writeTinyOnnx(join(dir, `${decoder}.onnx`), { inputDims: [1, 3, 64, 64], outputDims, output });
      const det = await createOnnxDetector({ modelPath, decoder, labelsPath });
      try {
        assert.deepEqual([det.inputWidth, det.inputHeight, det.labels.length], [64, 64, 8]);
        const dets = await det.detect(frame128);
        assert.deepEqual(
          dets.map((d) => ({ label: d.label, kind: d.kind, score: Math.round(d.score * 100) / 100, box: d.box })),
          [
            { label: 'car', kind: 'vehicle', score: 0.9, box: [24, 22.5, 56, 37.5] },
            { label: 'person', kind: 'person', score: 0.8, box: [88, 45, 104, 75] },
          ],
        );
        const perClass = await createOnnxDetector({ modelPath, decoder, labelsPath, classAgnosticNms: false, scoreThreshold: 0.6 });
        assert.deepEqual((await perClass.detect(frame128)).map((d) => d.label), ['car', 'person', 'truck'], 'per-class NMS keeps the truck');
        await perClass.close();
      } finally {
        await det.close();
      }
    });
  }
});

detectorConformance({
  name: 'FastestDet (onnxruntime)',
  create: () => createOnnxDetector({ modelPath: MODEL, decoder: 'fastestdet' }),
  frameWithObjects: async () => resized(await readRgb(join(SAMPLES, 'dog.jpg')), 352, 352),
});

const confDir = join(tmpdir(), `quanlink-conformance-${process.pid}`);
detectorConformance({
  name: 'YOLOv8-style export (onnxruntime)',
  create: async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(confDir, { recursive: true });
    const modelPath = await writeTinyOnnx(join(confDir, 'v8-80.onnx'), { inputDims: [1, 3, 64, 64], outputDims: [1, 84, 3], output: yolov8Output(80) });
    return createOnnxDetector({ modelPath, decoder: 'yolov8' });
  },
  frameWithObjects: async () => ({ data: Buffer.alloc(64 * 64 * 3, 50), width: 64, height: 64, ts: 0 }),
});
after(async () => rm(confDir, { recursive: true, force: true }));

it('issue 5: kinds of labels', () => {
  assert.deepEqual(['car', 'bus', 'truck', 'motorbike', 'motorcycle', 'person', 'bicycle', 'dog', 'Car '].map(kindOfLabel), [
    'vehicle', 'vehicle', 'vehicle', 'vehicle', 'vehicle', 'person', 'bicycle', 'other', 'vehicle',
  ]);
});
