/** Reconnection delays: exponential, capped, and jittered so that a gateway's drivers do not retry in step. */

export interface ReconnectOptions {
  /** Delay before the first retry. Default 250 ms. */
  initialDelayMs?: number;
  /** Longest delay between attempts. Default 30 s. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** Random spread as a fraction of the delay, 0..1: 0.25 gives ±25 %. Default 0.25. */
  jitter?: number;
}

export const DEFAULT_RECONNECT: Readonly<Required<ReconnectOptions>> = Object.freeze({
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.25,
});

/** Fills in defaults and checks ranges; throws RangeError naming the bad option. */
export function reconnectSettings(options: ReconnectOptions = {}): Required<ReconnectOptions> {
  const settings = { ...DEFAULT_RECONNECT, ...options };
  const { initialDelayMs, maxDelayMs, factor, jitter } = settings;
  if (!(initialDelayMs > 0)) throw new RangeError(`reconnect.initialDelayMs must be > 0, got ${initialDelayMs}`);
  if (!(maxDelayMs >= initialDelayMs)) throw new RangeError(`reconnect.maxDelayMs must be >= initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`);
  if (!(factor >= 1)) throw new RangeError(`reconnect.factor must be >= 1, got ${factor}`);
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`reconnect.jitter must be in 0..1, got ${jitter}`);
  return settings;
}

/**
 * Delay before retry number `attempt` (0 = the first retry): initialDelayMs * factor^attempt,
 * spread by ±jitter, never above maxDelayMs. `random` returns values in [0, 1).
 */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = reconnectSettings(options);
  const base = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, attempt));
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.round(Math.min(maxDelayMs, base * spread));
}

/**
 * The retry state of one connection (a TCP device, an RTU line): counts failures in a row, keeps
 * why the last attempt failed and when the next one is due, and runs it after the backoff delay.
 */
export class RetrySchedule {
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #nextAttemptAt = 0;
  /** Why the connection is not there; '' while it is. */
  lastProblem = '';

  constructor(private readonly options: ReconnectOptions | undefined) {}

  /** Failed attempts in a row. */
  get failures(): number {
    return this.#failures;
  }

  /** Milliseconds until the next attempt (0 when it is due or none is planned). */
  get waitMs(): number {
    return Math.max(0, this.#nextAttemptAt - Date.now());
  }

  /** Records a failure and runs `attempt` after the backoff; returns the delay. */
  retry(attempt: () => void): number {
    const delay = backoffDelay(this.#failures, this.options);
    this.#failures += 1;
    this.#nextAttemptAt = Date.now() + delay;
    clearTimeout(this.#timer);
    // Timers may fire a millisecond before Date.now() reaches the due time: once fired, nothing is waited for.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#nextAttemptAt = 0;
      attempt();
    }, delay);
    return delay;
  }

  succeeded(): void {
    this.#failures = 0;
    this.lastProblem = '';
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAttemptAt = 0;
  }
}
