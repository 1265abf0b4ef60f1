import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counterStep } from '../../src/devices/counter.js';

describe('counterStep (cumulative vehicle counters)', () => {
  it('counts the difference while the counter grows', () => {
    assert.deepEqual(counterStep(100, 107, 32), { delta: 7, reset: false });
    assert.deepEqual(counterStep(100, 100, 32), { delta: 0, reset: false });
  });

  it('counts across the wrap at 2^bits', () => {
    assert.deepEqual(counterStep(2 ** 32 - 3, 4, 32), { delta: 7, reset: false });
    assert.deepEqual(counterStep(65_530, 2, 16), { delta: 8, reset: false });
  });

  it('takes a large step back as a card restart: counts what the card counted since', () => {
    assert.deepEqual(counterStep(500_000, 3, 32), { delta: 3, reset: true });
    assert.deepEqual(counterStep(20_000, 0, 16), { delta: 0, reset: true });
  });
});
