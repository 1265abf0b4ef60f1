import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFastestDet, decodeYolov5, decodeYolov8, nms, packedToPlanar, type DecodeContext } from '../../../src/video/analytics/index.js';

const round = (b: readonly number[]): number[] => b.map((v) => Math.round(v * 10) / 10);
const atanh = (v: number): number => 0.5 * Math.log((1 + v) / (1 - v));
const logit = (p: number): number => Math.log(p / (1 - p));

describe('output decoders on hand-built tensors', () => {
  it('issue 5: FastestDet: cell offsets by tanh, sizes by sigmoid, score obj^0.6*cls^0.4, boxes in frame pixels', () => {
    const G = 22;
    const C = 80;
    const plane = G * G;
    const out = new Float32Array((5 + C) * plane);
    // Cell (h=5, w=10): centre offset +0.5 cell in x, -0.25 in y; size 0.2 x 0.1 of the image; car 0.8, obj 0.9.
    const cell = 5 * G + 10;
    out[cell] = 0.9;
    out[plane + cell] = atanh(0.5);
    out[2 * plane + cell] = atanh(-0.25);
    out[3 * plane + cell] = logit(0.2);
    out[4 * plane + cell] = logit(0.1);
    out[(5 + 2) * plane + cell] = 0.8;
    out[(5 + 7) * plane + cell] = 0.2;
    // A cell whose objectness is too low to pass, even with a certain class.
    out[0] = 0.3;
    out[5 * plane] = 1;
    const ctx: DecodeContext = { inputWidth: 352, inputHeight: 352, frameWidth: 704, frameHeight: 352, scoreThreshold: 0.5, classes: C };
    const dets = decodeFastestDet(out, [1, 85, G, G], ctx);
    assert.equal(dets.length, 1);
    const d = dets[0]!;
    assert.equal(d.classId, 2);
    assert.ok(Math.abs(d.score - Math.pow(0.9, 0.6) * Math.pow(0.8, 0.4)) < 1e-6);
    const cx = (10.5 / G) * 704;
    const cy = (4.75 / G) * 352;
    assert.deepEqual(round(d.box), round([cx - 0.1 * 704, cy - 0.05 * 352, cx + 0.1 * 704, cy + 0.05 * 352]));
  });

  it('issue 5: YOLOv5 rows [cx,cy,w,h,obj,classes]: score = obj * class, boxes scaled input -> frame and clamped', () => {
    const C = 3;
    const rows = [
      [320, 320, 100, 50, 0.9, 0.1, 0.9, 0.0], // class 1, 0.81
      [10, 10, 40, 40, 0.8, 0.7, 0.0, 0.0], //   class 0, 0.56, clamped at the top left
      [100, 100, 10, 10, 0.4, 1.0, 0.0, 0.0], // obj too low
      [200, 200, 10, 10, 0.9, 0.3, 0.3, 0.3], // class score too low
    ];
    const out = Float32Array.from(rows.flat());
    const ctx: DecodeContext = { inputWidth: 640, inputHeight: 640, frameWidth: 1280, frameHeight: 720, scoreThreshold: 0.5, classes: C };
    const dets = decodeYolov5(out, [1, rows.length, 5 + C], ctx);
    assert.deepEqual(dets.map((d) => [d.classId, Math.round(d.score * 100) / 100, round(d.box)]), [
      [1, 0.81, [540, 331.9, 740, 388.1]],
      [0, 0.56, [0, 0, 60, 33.8]],
    ]);
  });

  it('issue 5: YOLOv8 columns [cx,cy,w,h,classes] (transposed, no objectness)', () => {
    const C = 2;
    const n = 3;
    const cols = [
      [64, 32, 20, 10, 0.2, 0.95],
      [10, 10, 4, 4, 0.49, 0.1], // below threshold
      [100, 60, 8, 16, 0.6, 0.1],
    ];
    const out = new Float32Array((4 + C) * n);
    cols.forEach((col, i) => col.forEach((v, k) => { out[k * n + i] = v; }));
    const ctx: DecodeContext = { inputWidth: 128, inputHeight: 128, frameWidth: 128, frameHeight: 128, scoreThreshold: 0.5, classes: C };
    const dets = decodeYolov8(out, [1, 4 + C, n], ctx);
    assert.deepEqual(dets.map((d) => [d.classId, Math.round(d.score * 100) / 100, round(d.box)]), [
      [1, 0.95, [54, 27, 74, 37]],
      [0, 0.6, [96, 52, 104, 68]],
    ]);
  });

  it('issue 5: NMS keeps the best of overlapping boxes; per class unless class-agnostic', () => {
    const dets = [
      { box: [0, 0, 10, 10] as [number, number, number, number], score: 0.6, classId: 7 },
      { box: [1, 0, 11, 10] as [number, number, number, number], score: 0.9, classId: 2 },
      { box: [50, 50, 60, 60] as [number, number, number, number], score: 0.5, classId: 2 },
    ];
    assert.deepEqual(nms(dets, 0.45, true).map((d) => d.score), [0.9, 0.5]);
    assert.deepEqual(nms(dets, 0.45, false).map((d) => d.score), [0.9, 0.6, 0.5]);
  });

  it('issue 5: preprocessing: packed RGB -> planar BGR (or RGB) / 255', () => {
    const rgb = Uint8Array.from([255, 0, 51, 0, 102, 255]);
    const out = new Float32Array(6);
    packedToPlanar(rgb, 2, out, 'bgr');
    assert.deepEqual(round(Array.from(out, (v) => v * 255)), [51, 255, 0, 102, 255, 0]);
    packedToPlanar(rgb, 2, out, 'rgb');
    assert.deepEqual(round(Array.from(out, (v) => v * 255)), [255, 0, 0, 102, 51, 255]);
  });

  it('issue 5: preprocessing reads four pixels at a time where it can, with the same result for any length and alignment', () => {
    const pixels = 11; // two groups of four and a remainder of three
    const backing = new Uint8Array(pixels * 3 + 1).map((_, i) => (i * 37 + 11) & 255);
    for (const rgb of [backing.subarray(0, pixels * 3), backing.subarray(1)]) {
      for (const order of ['bgr', 'rgb'] as const) {
        const out = new Float32Array(pixels * 3);
        packedToPlanar(rgb, pixels, out, order);
        const expected = new Float32Array(pixels * 3);
        for (let p = 0; p < pixels; p++) {
          const [r, g, b] = [rgb[p * 3]!, rgb[p * 3 + 1]!, rgb[p * 3 + 2]!];
          expected[(order === 'bgr' ? 2 : 0) * pixels + p] = r / 255;
          expected[pixels + p] = g / 255;
          expected[(order === 'bgr' ? 0 : 2) * pixels + p] = b / 255;
        }
        assert.deepEqual(out, expected, `offset ${rgb.byteOffset}, ${order}`);
      }
    }
  });
});
