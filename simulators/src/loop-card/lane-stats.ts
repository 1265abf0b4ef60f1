/**
 * Volume, occupancy, speeds and length classes of one lane over a stretch of sim time (NTCIP 1209
 * sensor zone data), either as the road had them or as a loop channel with faults measured them.
 */
import type { LaneFaultKind } from './faults.js';
import { LENGTH_CLASSES, type ClassCounts, type Vehicle } from './traffic.js';

export interface LaneStats {
  /** Vehicles whose front reached the loop in the stretch. */
  volume: number;
  /** Percent of the stretch the loop was occupied, 0..100. */
  occupancyPct: number;
  /** Arithmetic mean of the spot speeds of those vehicles; null when none. */
  timeMeanSpeedKmh: number | null;
  /** Harmonic mean of the spot speeds (the space-mean speed); null when none. */
  spaceMeanSpeedKmh: number | null;
  classes: ClassCounts;
}

/** A lane fault as it was in force over [fromS, toS) of sim time (toS Infinity while it lasts). */
export interface LaneFaultSpan {
  kind: LaneFaultKind;
  fromS: number;
  toS: number;
  flagged: boolean;
  /** Chatter only. */
  pulsesPerS: number;
  pulseS: number;
}

/** The fault a vehicle arriving at `atS` met: a fault set at time f applies to arrivals after f. */
export function faultAt(history: readonly LaneFaultSpan[], atS: number): LaneFaultSpan | undefined {
  for (const span of history) if (span.fromS < atS && atS <= span.toS) return span;
  return undefined;
}

/** Chatter pulses fire at fromS + (j - 0.5) / pulsesPerS, j = 1, 2, ... while the span lasts: those before `atS`. */
export function pulsesBefore(span: LaneFaultSpan, atS: number): number {
  if (span.kind !== 'chatter') return 0;
  const until = Math.min(atS, span.toS);
  if (!(until > span.fromS)) return 0;
  const pulseAt = (j: number): number => span.fromS + (j - 0.5) / span.pulsesPerS;
  // The closed form, then nudged so that it agrees with the pulse times as floats compute them.
  let j = Math.max(0, Math.ceil((until - span.fromS) * span.pulsesPerS + 0.5) - 1);
  while (j > 0 && pulseAt(j) >= until) j--;
  while (pulseAt(j + 1) < until) j++;
  return j;
}

const overlap = (a0: number, a1: number, b0: number, b1: number): number => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

/**
 * Stats over [fromS, toS) of a lane's vehicles (those over the loop at some time in it). With a
 * fault history, what the channel measured: vehicles arriving under a locked-on or dead fault are
 * not counted and their time on the loop does not count as occupied; a locked-on loop is occupied
 * throughout; chatter adds its pulses to the counts (as short vehicles) and to the occupied time.
 */
export function laneStats(vehicles: readonly Vehicle[], fromS: number, toS: number, history: readonly LaneFaultSpan[] = []): LaneStats {
  const classes: ClassCounts = { short: 0, medium: 0, long: 0 };
  let occupiedS = 0;
  let volume = 0;
  let speedSum = 0;
  let inverseSpeedSum = 0;
  let speeds = 0;
  const blind = history.filter((s) => s.kind !== 'chatter' && s.fromS < toS && s.toS > fromS);
  for (const v of vehicles) {
    const fault = history.length > 0 ? faultAt(history, v.arrivalS) : undefined;
    const seen = fault === undefined || fault.kind === 'chatter';
    if (seen && v.arrivalS >= fromS && v.arrivalS < toS) {
      volume++;
      classes[v.lengthClass]++;
      speedSum += v.speedKmh;
      inverseSpeedSum += 1 / v.speedKmh;
      speeds++;
    }
    let on = overlap(v.arrivalS, v.clearS, fromS, toS);
    for (const span of blind) on -= overlap(v.arrivalS, v.clearS, Math.max(fromS, span.fromS), Math.min(toS, span.toS));
    occupiedS += Math.max(0, on);
  }
  for (const span of history) {
    const lo = Math.max(fromS, span.fromS);
    const hi = Math.min(toS, span.toS);
    if (!(hi > lo)) continue;
    if (span.kind === 'locked-on') occupiedS += hi - lo;
    if (span.kind === 'chatter') {
      const pulses = pulsesBefore(span, hi) - pulsesBefore(span, lo);
      volume += pulses;
      classes.short += pulses;
      occupiedS += pulses * span.pulseS;
    }
  }
  return {
    volume,
    occupancyPct: Math.min(100, (occupiedS / (toS - fromS)) * 100),
    timeMeanSpeedKmh: speeds === 0 ? null : speedSum / speeds,
    spaceMeanSpeedKmh: speeds === 0 ? null : speeds / inverseSpeedSum,
    classes,
  };
}

export const emptyStats = (): LaneStats => ({
  volume: 0,
  occupancyPct: 0,
  timeMeanSpeedKmh: null,
  spaceMeanSpeedKmh: null,
  classes: Object.fromEntries(LENGTH_CLASSES.map((c) => [c, 0])) as ClassCounts,
});
