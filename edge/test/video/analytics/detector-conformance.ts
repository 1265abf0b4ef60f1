/**
 * The shared conformance suite every Detector implementation passes (DESIGN: every pluggable part
 * has one). It checks the contract of the interface, not detection quality: boxes inside the frame,
 * labels and kinds consistent, timings reported, bad frames refused without breaking the detector,
 * concurrent calls safe, close final.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kindOfLabel, type Detection, type Detector, type RgbFrame } from '../../../src/video/analytics/index.js';

export interface ConformanceSubject {
  name: string;
  create(): Promise<Detector>;
  /** A frame on which the detector finds at least one object. */
  frameWithObjects(): Promise<RgbFrame>;
}

function checkDetections(detector: Detector, frame: RgbFrame, dets: readonly Detection[]): void {
  for (const d of dets) {
    const [x1, y1, x2, y2] = d.box;
    assert.ok(x1 >= 0 && y1 >= 0 && x2 <= frame.width && y2 <= frame.height, `box ${d.box} inside ${frame.width}x${frame.height}`);
    assert.ok(x1 <= x2 && y1 <= y2, `box ${d.box} is ordered`);
    assert.ok(d.score >= 0 && d.score <= 1, `score ${d.score} in 0..1`);
    assert.equal(d.label, detector.labels[d.classId], 'label is labels[classId]');
    assert.equal(d.kind, kindOfLabel(d.label), 'kind follows the label');
  }
  const t = detector.lastTimings;
  for (const v of [t.preprocessMs, t.inferenceMs, t.decodeMs]) assert.ok(Number.isFinite(v) && v >= 0, `timing ${v}`);
}

/** Resizes packed rgb24 by nearest neighbour (test helper: no sharp needed to make odd sizes). */
function resizeNearest(f: RgbFrame, width: number, height: number): RgbFrame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (Math.floor((y * f.height) / height) * f.width + Math.floor((x * f.width) / width)) * 3;
      f.data.copy(data, (y * width + x) * 3, s, s + 3);
    }
  }
  return { data, width, height, ts: f.ts };
}

export function detectorConformance(subject: ConformanceSubject): void {
  describe(`detector conformance: ${subject.name}`, () => {
    let detector: Detector;
    let frame: RgbFrame;
    before(async () => {
      detector = await subject.create();
      frame = await subject.frameWithObjects();
    });
    after(async () => detector.close());

    it('issue 5: finds objects, with boxes inside the frame, labels and kinds consistent, timings reported', async () => {
      assert.ok(detector.inputWidth > 0 && detector.inputHeight > 0);
      assert.ok(detector.labels.length > 0);
      const dets = await detector.detect(frame);
      assert.ok(dets.length > 0, 'the sample frame has objects');
      checkDetections(detector, frame, dets);
    });

    it('issue 5: frames of another size than the input are resized and boxes scale with the frame', async () => {
      const big = resizeNearest(frame, frame.width * 2, frame.height * 2);
      const a = await detector.detect(frame);
      const b = await detector.detect(big);
      checkDetections(detector, big, b);
      assert.ok(b.length > 0);
      const widest = (ds: readonly Detection[]) => Math.max(...ds.map((d) => d.box[2] - d.box[0]));
      const ratio = widest(b) / widest(a);
      assert.ok(ratio > 1.6 && ratio < 2.4, `boxes scale with the frame (x${ratio.toFixed(2)})`);
    });

    it('issue 5: a malformed frame is refused with a clear error and the detector keeps working', async () => {
      await assert.rejects(detector.detect({ data: Buffer.alloc(10), width: 100, height: 100, ts: 0 }), /100x100 rgb24 needs 30000 bytes, got 10/);
      await assert.rejects(detector.detect({ data: Buffer.alloc(0), width: 0, height: 0, ts: 0 }), /frame size 0x0/);
      assert.ok((await detector.detect(frame)).length > 0);
    });

    it('issue 5: concurrent detect calls give the same results as one at a time', async () => {
      const blank: RgbFrame = { data: Buffer.alloc(frame.data.length, 0), width: frame.width, height: frame.height, ts: 1 };
      const alone = await detector.detect(frame);
      const [x, , y] = await Promise.all([detector.detect(frame), detector.detect(blank), detector.detect(frame)]);
      assert.deepEqual(x, alone);
      assert.deepEqual(y, alone);
    });

    it('issue 5: detect after close is refused; close twice is harmless', async () => {
      const other = await subject.create();
      await other.close();
      await other.close();
      await assert.rejects(other.detect(frame), /closed/);
    });
  });
}
