import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalReadings } from '../../src/readings/local-readings.js';

describe('raw readings kept on the gateway', () => {
  it('answers newest first by device and time range, and forgets rows older than keepHours', () => {
    let now = 10 * 3_600_000;
    const store = new LocalReadings(':memory:', 1, () => now);
    for (let i = 0; i < 1000; i++) store.add({ device: i % 2 ? 'a' : 'b', ts: now - (1000 - i) * 10_000, values: { x: i } });
    assert.deepEqual(store.query('a', { limit: 2 }).map((r) => r.values.x), [999, 997]);
    assert.deepEqual(store.query('b', { from: now - 50_000, limit: 100 }).map((r) => r.values.x), [998, 996]);
    assert.equal(store.query('nobody').length, 0);
    // 1000 rows span ~2.8 h; after the next prune only the last hour is left.
    now += 1;
    for (let i = 0; i < 500; i++) store.add({ device: 'c', ts: now, values: { x: i } });
    const oldest = store.query('a', { limit: 100_000 }).at(-1)!;
    assert.ok(oldest.ts >= now - 3_600_000, 'older rows were dropped');
    store.close();
  });
});
