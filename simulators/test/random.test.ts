import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRandom, deriveSeed } from '../src/random.js';

const draw = (seed: number, n: number): number[] => {
  const r = createRandom(seed);
  return Array.from({ length: n }, () => r.next());
};

describe('seeded random', () => {
  it('same seed gives the same sequence, another seed another one', () => {
    assert.deepEqual(draw(42, 100), draw(42, 100));
    assert.notDeepEqual(draw(42, 100), draw(43, 100));
  });
  it('next() stays in [0, 1) and is roughly uniform', () => {
    const xs = draw(7, 100_000);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
    const buckets = new Array(10).fill(0);
    for (const x of xs) buckets[Math.floor(x * 10)]++;
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 500, `bucket ${b}`);
  });
  it('exponential has mean 1/rate, normal has the asked mean and sd', () => {
    const r = createRandom(3);
    const n = 50_000;
    let expSum = 0;
    const normals: number[] = [];
    for (let i = 0; i < n; i++) {
      expSum += r.exponential(0.5);
      normals.push(r.normal(60, 8));
    }
    assert.ok(Math.abs(expSum / n - 2) < 0.05, `exp mean ${expSum / n}`);
    const mean = normals.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(normals.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean - 60) < 0.15, `normal mean ${mean}`);
    assert.ok(Math.abs(sd - 8) < 0.15, `normal sd ${sd}`);
  });
  it('derived seeds differ per stream and per seed, and are stable', () => {
    const seeds = new Set<number>();
    for (let seed = 0; seed < 20; seed++) for (let stream = 0; stream < 20; stream++) seeds.add(deriveSeed(seed, stream));
    assert.equal(seeds.size, 400);
    assert.equal(deriveSeed(1, 1), deriveSeed(1, 1));
  });
});
