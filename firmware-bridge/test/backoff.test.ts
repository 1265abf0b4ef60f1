import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, DEFAULT_RECONNECT, RetrySchedule } from '../src/backoff.js';

const middle = () => 0.5; // no spread
const lowest = () => 0;
const highest = () => 0.999999;

describe('reconnect backoff', () => {
  it('doubles from 250 ms and stops growing at 30 s by default', () => {
    const delays = Array.from({ length: 10 }, (_, attempt) => backoffDelay(attempt, {}, middle));
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(backoffDelay(1000, {}, middle), DEFAULT_RECONNECT.maxDelayMs);
  });

  it('spreads each delay by ±jitter', () => {
    assert.equal(backoffDelay(2, {}, lowest), 750); // 1000 - 25 %
    assert.equal(backoffDelay(2, {}, highest), 1250); // 1000 + 25 %
    assert.equal(backoffDelay(2, { jitter: 0 }, highest), 1000);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3)));
    assert.ok(seen.size > 10, `50 random delays gave only ${seen.size} distinct values`);
    for (const d of seen) assert.ok(d >= 1500 && d <= 2500, `${d} outside 2000 ± 25 %`);
  });

  it('never exceeds maxDelayMs, jitter included', () => {
    assert.equal(backoffDelay(20, { maxDelayMs: 5000 }, highest), 5000);
    assert.equal(backoffDelay(20, { maxDelayMs: 5000 }, lowest), 3750);
  });

  it('follows the given initial delay and factor', () => {
    assert.deepEqual(
      [0, 1, 2].map((a) => backoffDelay(a, { initialDelayMs: 100, factor: 3, jitter: 0 })),
      [100, 300, 900],
    );
  });

  it('refuses settings that make no sense', () => {
    assert.throws(() => backoffDelay(0, { initialDelayMs: 0 }), /initialDelayMs must be > 0/);
    assert.throws(() => backoffDelay(0, { initialDelayMs: 500, maxDelayMs: 100 }), /maxDelayMs must be >= initialDelayMs/);
    assert.throws(() => backoffDelay(0, { factor: 0.5 }), /factor must be >= 1/);
    assert.throws(() => backoffDelay(0, { jitter: -0.1 }), /jitter must be in 0\.\.1/);
  });
});

describe('retry schedule of one connection', () => {
  it('runs the attempt after a growing delay, says how long until it, resets on success, and can be cancelled', async () => {
    const schedule = new RetrySchedule({ initialDelayMs: 20, maxDelayMs: 1000, factor: 2, jitter: 0 });
    let attempts = 0;
    assert.equal(schedule.retry(() => attempts++), 20);
    assert.ok(schedule.waitMs > 0 && schedule.waitMs <= 20);
    assert.equal(schedule.failures, 1);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(attempts, 1);
    assert.equal(schedule.retry(() => attempts++), 40, 'the second failure in a row waits twice as long');
    schedule.cancel();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(attempts, 1, 'a cancelled attempt never runs');
    schedule.lastProblem = 'refused';
    schedule.succeeded();
    assert.equal(schedule.failures, 0);
    assert.equal(schedule.lastProblem, '');
    assert.equal(schedule.retry(() => undefined), 20, 'after a success the delays start over');
    schedule.cancel();
  });
});
