/**
 * A sliding-window rate limiter in memory, per key (a username, a client address, an enrolment
 * token...): at most `limit` hits per `windowMs`. Used against password guessing on login and
 * token guessing on enrolment. In memory on purpose: after a restart an attacker gets one fresh
 * window, which costs less than a database write per failed attempt.
 */
export interface RateLimiterOptions {
  limit: number;
  windowMs: number;
  /** Clock (epoch ms); Date.now when absent. */
  now?: () => number;
}

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the next hit is allowed again (0 when allowed). */
  retryAfterS: number;
}

export class RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly now: () => number;
  /** Times of the hits within the window, oldest first, per key. */
  private readonly hits = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(options: RateLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`rate limit must be a positive integer, got ${options.limit}`);
    if (!(options.windowMs > 0)) throw new RangeError(`rate limit window must be > 0 ms, got ${options.windowMs}`);
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.now = options.now ?? Date.now;
  }

  /** Counts one hit for `key` unless its budget is spent; a refused hit is not counted. */
  hit(key: string): RateDecision {
    const now = this.now();
    this.sweep(now);
    const decision = this.decide(key, now);
    if (decision.allowed) {
      const times = this.hits.get(key);
      if (times) times.push(now);
      else this.hits.set(key, [now]);
    }
    return decision;
  }

  /** Whether a hit would be allowed now, without counting one. */
  check(key: string): RateDecision {
    return this.decide(key, this.now());
  }

  /** Forgets the key's hits (e.g. a successful login clears the failures of that username). */
  reset(key: string): void {
    this.hits.delete(key);
  }

  private decide(key: string, now: number): RateDecision {
    const times = this.hits.get(key);
    if (!times) return { allowed: true, retryAfterS: 0 };
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    if (times.length === 0) this.hits.delete(key);
    if (times.length < this.limit) return { allowed: true, retryAfterS: 0 };
    // The oldest hit within the window leaves it first.
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000)) };
  }

  /** Drops keys whose hits all left the window, at most once per window, so memory follows recent traffic only. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, times] of this.hits) {
      if (times[times.length - 1]! <= now - this.windowMs) this.hits.delete(key);
    }
  }
}
