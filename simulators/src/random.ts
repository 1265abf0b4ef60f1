/**
 * A small seeded PRNG (mulberry32) and the few distributions the simulators draw from.
 * Seeded so that a scenario replays the same vehicles, faults and noise on every run.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(min: number, max: number): number;
  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number;
  /** Normal (Box-Muller). */
  normal(mean: number, sd: number): number;
  chance(p: number): boolean;
  /** Poisson-distributed count with the given mean. */
  poisson(mean: number): number;
}

/** Mixes a seed and a stream number into a 32-bit seed, so sub-streams (one per lane) are independent. */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream | 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    exponential: (rate) => -Math.log(1 - next()) / rate,
    normal: (mean, sd) => {
      const u = 1 - next(); // (0, 1]: log(u) is finite
      const v = next();
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => next() < p,
    poisson: (mean) => {
      if (!(mean > 0)) return 0;
      // Knuth's product of uniforms, in chunks of mean 30 so that exp(-mean) never underflows.
      let count = 0;
      for (let left = mean; left > 0; left -= 30) {
        const limit = Math.exp(-Math.min(left, 30));
        let product = next();
        while (product > limit) {
          count++;
          product *= next();
        }
      }
      return count;
    },
  };
}
