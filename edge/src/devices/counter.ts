/**
 * Vehicles between two readings of a cumulative counter that wraps at 2^bits.
 * A counter that went backwards by less than half its range is taken as a card restart
 * (it has counted `current` vehicles since); by more, as a wrap.
 */
export interface CounterStep {
  delta: number;
  reset: boolean;
}

export function counterStep(previous: number, current: number, bits: number): CounterStep {
  if (current >= previous) return { delta: current - previous, reset: false };
  const range = 2 ** bits;
  const wrapped = current + range - previous;
  return wrapped < range / 2 ? { delta: wrapped, reset: false } : { delta: current, reset: true };
}
