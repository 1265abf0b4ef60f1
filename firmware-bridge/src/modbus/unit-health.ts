/**
 * Which units on a shared bus are answering. A unit that lets several requests in a row time out
 * is set aside for a while (its requests fail at once instead of each costing the bus a full
 * timeout); when the while is over, its next request goes out as a probe. The pause grows while
 * probes go unanswered and ends with the first answer.
 */
import { backoffDelay, reconnectSettings, type ReconnectOptions } from '../backoff.js';

export interface UnitBackoffOptions extends ReconnectOptions {
  /** Timeouts in a row that set a unit aside. Default 3. */
  afterTimeouts?: number;
}

/** Short by default: a card that was only briefly off comes back within seconds. */
export const DEFAULT_UNIT_BACKOFF: Readonly<Required<UnitBackoffOptions>> = Object.freeze({
  afterTimeouts: 3,
  initialDelayMs: 1000,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.25,
});

export type UnitState = 'answering' | 'backoff';

interface Unit {
  timeoutsInRow: number;
  /** Set while the unit is in backoff: unanswered probes so far, and when the next may go. */
  backoff?: { probes: number; retryAt: number };
}

export type UnitChange = { unitId: number; state: UnitState; timeoutsInRow: number; retryInMs?: number };

export class UnitHealth {
  readonly #settings: Required<UnitBackoffOptions>;
  readonly #units = new Map<number, Unit>();

  constructor(options: UnitBackoffOptions = {}) {
    const settings = { ...DEFAULT_UNIT_BACKOFF, ...options };
    reconnectSettings(settings);
    if (!Number.isInteger(settings.afterTimeouts) || settings.afterTimeouts < 1) {
      throw new RangeError(`unitBackoff.afterTimeouts must be an integer >= 1, got ${settings.afterTimeouts}`);
    }
    this.#settings = settings;
  }

  state(unitId: number): UnitState {
    return this.#units.get(unitId)?.backoff ? 'backoff' : 'answering';
  }

  inBackoff(): number[] {
    return [...this.#units].filter(([, unit]) => unit.backoff).map(([unitId]) => unitId).sort((a, b) => a - b);
  }

  /** Why a request for the unit must not go on the wire now, or undefined when it may. */
  refusal(unitId: number, now = Date.now()): string | undefined {
    const unit = this.#units.get(unitId);
    if (!unit?.backoff || now >= unit.backoff.retryAt) return undefined;
    return `did not answer the last ${unit.timeoutsInRow} requests; next try in ${unit.backoff.retryAt - now} ms`;
  }

  /** The unit sent a frame (any frame): returns the change when it leaves backoff. */
  answered(unitId: number): UnitChange | undefined {
    const unit = this.#units.get(unitId);
    if (!unit) return undefined;
    const wasInBackoff = unit.backoff !== undefined;
    this.#units.delete(unitId);
    return wasInBackoff ? { unitId, state: 'answering', timeoutsInRow: 0 } : undefined;
  }

  /** The unit let a request time out: returns the change when it enters backoff or a probe failed. */
  timedOut(unitId: number, now = Date.now()): UnitChange | undefined {
    const unit = this.#units.get(unitId) ?? { timeoutsInRow: 0 };
    this.#units.set(unitId, unit);
    unit.timeoutsInRow += 1;
    if (!unit.backoff && unit.timeoutsInRow < this.#settings.afterTimeouts) return undefined;
    const probes = unit.backoff ? unit.backoff.probes + 1 : 0;
    const retryInMs = backoffDelay(probes, this.#settings);
    unit.backoff = { probes, retryAt: now + retryInMs };
    return { unitId, state: 'backoff', timeoutsInRow: unit.timeoutsInRow, retryInMs };
  }
}
