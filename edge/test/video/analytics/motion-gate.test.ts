import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MotionGate, type RgbFrame } from '../../../src/video/analytics/index.js';

/** A 352x352 grey road with a little per-pixel noise (seeded) and optional dark boxes. */
function scene(seed: number, boxes: { x: number; y: number; w: number; h: number }[] = [], noise = 3): RgbFrame {
  const W = 352;
  const H = 352;
  const data = Buffer.alloc(W * H * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < W * H; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const v = 110 + ((s % (2 * noise + 1)) - noise);
    data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = v;
  }
  for (const b of boxes) {
    for (let y = b.y; y < b.y + b.h; y++) for (let x = b.x; x < b.x + b.w; x++) data.fill(30, (y * W + x) * 3, (y * W + x) * 3 + 3);
  }
  return { data, width: W, height: H, ts: seed };
}

describe('motion gate', () => {
  it('issue 5: a still, noisy scene is skipped except every Nth frame; the first frame is analysed', () => {
    const gate = new MotionGate({ everyNthFrameAnyway: 10 });
    const decisions = Array.from({ length: 30 }, (_, i) => gate.shouldAnalyse(scene(i + 1)));
    assert.equal(decisions[0], true);
    assert.deepEqual(decisions.map((d, i) => (d ? i : -1)).filter((i) => i >= 0), [0, 10, 20]);
    assert.deepEqual(gate.stats, { frames: 30, analysed: 3, skipped: 27 });
  });

  it('issue 5: a small vehicle (48x28 px) moving through the frame is analysed on every frame', () => {
    const gate = new MotionGate({ everyNthFrameAnyway: 0 });
    gate.shouldAnalyse(scene(1));
    let analysed = 0;
    for (let i = 0; i < 20; i++) if (gate.shouldAnalyse(scene(i + 2, [{ x: 20 + i * 12, y: 160, w: 48, h: 28 }]))) analysed++;
    assert.equal(analysed, 20);
  });

  it('issue 5: slow movement adds up against the last analysed frame instead of slipping through', () => {
    const gate = new MotionGate({ everyNthFrameAnyway: 0 });
    const results: boolean[] = [];
    for (let i = 0; i < 30; i++) results.push(gate.shouldAnalyse(scene(i + 1, [{ x: 100 + i, y: 100, w: 48, h: 28 }])));
    const analysed = results.filter(Boolean).length;
    assert.ok(analysed >= 3 && analysed < 30, `moving 1 px a frame: analysed ${analysed} of 30`);
  });

  it('issue 5: a change of frame size is always analysed; bad options are refused', () => {
    const gate = new MotionGate();
    assert.equal(gate.shouldAnalyse(scene(1)), true);
    assert.equal(gate.shouldAnalyse({ data: Buffer.alloc(64 * 36 * 3, 110), width: 64, height: 36, ts: 2 }), true);
    assert.throws(() => new MotionGate({ threshold: -1 }), /threshold -1/);
    assert.throws(() => new MotionGate({ everyNthFrameAnyway: 1.5 }), /everyNthFrameAnyway 1.5/);
    assert.throws(() => gate.shouldAnalyse({ data: Buffer.alloc(5), width: 64, height: 36, ts: 3 }), /needs 6912 bytes, got 5/);
  });
});
