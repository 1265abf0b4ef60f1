/**
 * Sim time against the clock of day: a card started at `startHour` sees sim second s at clock
 * second startHour * 3600 + s, and demand follows an hourly curve of that clock.
 */

export const SECONDS_PER_DAY = 86_400;

/**
 * Hourly demand factors of an urban weekday (hour 0 = 00:00-01:00): a night trough, an AM peak
 * at 07-09, a steady midday and a longer PM peak at 16-19. Scaled below to a daily mean of 1, so
 * ratePerLane stays the mean arrival rate over a whole day.
 */
const WEEKDAY_SHAPE = [
  0.25, 0.15, 0.1, 0.1, 0.15, 0.35, 0.9, 1.75, 1.9, 1.4, 1.15, 1.15, 1.15, 1.1, 1.15, 1.3, 1.6, 1.95, 1.7, 1.2, 0.9, 0.7, 0.55, 0.4,
] as const;

export type TimeOfDayProfile = 'flat' | 'weekday' | readonly number[];

/** Demand factor at a clock time, interpolated linearly between the middles of the hours. */
export class DemandCurve {
  private readonly hourly: readonly number[];
  /** The largest factor anywhere in the day (the bound for thinning arrivals). */
  readonly maxFactor: number;

  constructor(profile: TimeOfDayProfile) {
    if (profile === 'flat') this.hourly = new Array<number>(24).fill(1);
    else if (profile === 'weekday') this.hourly = normalised(WEEKDAY_SHAPE);
    else {
      if (!Array.isArray(profile) || profile.length !== 24 || !profile.every((f) => Number.isFinite(f) && f >= 0)) {
        throw new RangeError(`timeOfDay must be 'flat', 'weekday' or 24 hourly factors >= 0, got ${JSON.stringify(profile)}`);
      }
      this.hourly = [...profile];
    }
    this.maxFactor = Math.max(...this.hourly);
  }

  get flat(): boolean {
    return this.hourly.every((f) => f === this.hourly[0]);
  }

  factorAt(clockS: number): number {
    const hour = (((clockS / 3600 - 0.5) % 24) + 24) % 24; // hours since the middle of hour 0
    const i = Math.floor(hour);
    const a = this.hourly[i]!;
    const b = this.hourly[(i + 1) % 24]!;
    return a + (b - a) * (hour - i);
  }
}

function normalised(shape: readonly number[]): number[] {
  const mean = shape.reduce((a, b) => a + b, 0) / shape.length;
  return shape.map((f) => f / mean);
}

/** 'HH:MM:SS' of a clock second (days wrap). */
export function formatClock(clockS: number): string {
  const s = ((Math.floor(clockS) % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
