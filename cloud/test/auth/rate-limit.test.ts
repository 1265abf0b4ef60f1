import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from '../../src/auth/rate-limit.js';

function limiterAt(limit: number, windowMs: number) {
  const clock = { t: 1_000_000 };
  return { clock, limiter: new RateLimiter({ limit, windowMs, now: () => clock.t }) };
}

test('issue 6: the limiter allows `limit` hits per window, then refuses with the seconds until the oldest hit leaves', () => {
  const { clock, limiter } = limiterAt(3, 60_000);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.hit('k'), { allowed: true, retryAfterS: 0 });
    clock.t += 1000;
  }
  // Hits at t0, t0+1s, t0+2s; now t0+3s: the oldest leaves the window at t0+60s.
  assert.deepEqual(limiter.hit('k'), { allowed: false, retryAfterS: 57 });
  assert.deepEqual(limiter.check('k'), { allowed: false, retryAfterS: 57 });
  assert.deepEqual(limiter.hit('other'), { allowed: true, retryAfterS: 0 }, 'keys are independent');
  clock.t += 57_000;
  assert.equal(limiter.check('k').allowed, true, 'the oldest hit left the window');
  assert.equal(limiter.hit('k').allowed, true);
  assert.equal(limiter.hit('k').allowed, false, 'refused hits were not counted, the two later ones still are');
});

test('issue 6: check() does not count; reset() forgets a key', () => {
  const { limiter } = limiterAt(2, 60_000);
  for (let i = 0; i < 10; i++) assert.equal(limiter.check('k').allowed, true);
  limiter.hit('k');
  limiter.hit('k');
  assert.equal(limiter.check('k').allowed, false);
  limiter.reset('k');
  assert.equal(limiter.check('k').allowed, true);
});

test('issue 6: retryAfterS is at least 1 while refused, and bad limits are refused at construction', () => {
  const { clock, limiter } = limiterAt(1, 1000);
  limiter.hit('k');
  clock.t += 999;
  assert.deepEqual(limiter.check('k'), { allowed: false, retryAfterS: 1 });
  assert.throws(() => new RateLimiter({ limit: 0, windowMs: 1000 }), /positive integer/);
  assert.throws(() => new RateLimiter({ limit: 1.5, windowMs: 1000 }), /positive integer/);
  assert.throws(() => new RateLimiter({ limit: 1, windowMs: 0 }), /window must be > 0/);
});
