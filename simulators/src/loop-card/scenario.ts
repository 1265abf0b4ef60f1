/**
 * Declarative traffic scenarios: events at given sim times that change how the road behaves.
 *
 * An incident (a crash, a breakdown, road works) makes the traffic on some lanes crawl at
 * `speedKmh` from `atS` for `durationS`, then recover linearly to the lane's free speed over
 * `recoveryS`. Vehicles then stay on the loop longer and, when the slowed lane cannot carry the
 * demand, queue behind each other at the minimum gap: occupancy rises and flow drops to the
 * lane's reduced capacity, as on a real congested road. The queue discharges after recovery.
 */

export interface IncidentEvent {
  kind: 'incident';
  /** Sim second at which the speeds drop. */
  atS: number;
  durationS: number;
  /** Lanes affected (1-based); default every lane. */
  lanes?: number[];
  /** Mean speed during the incident, km/h. */
  speedKmh: number;
  /** Default 3 km/h. */
  speedSdKmh?: number;
  /** Sim seconds over which speeds return to normal after durationS. Default 60. */
  recoveryS?: number;
}

export type ScenarioEvent = IncidentEvent;

const DEFAULT_INCIDENT_SD_KMH = 3;
const DEFAULT_RECOVERY_S = 60;

export interface SpeedDistribution {
  meanKmh: number;
  sdKmh: number;
}

/** Throws a RangeError naming the event and field when the scenario is not one the model can play. */
export function checkScenario(events: unknown, laneCount: number): ScenarioEvent[] {
  if (!Array.isArray(events)) throw new RangeError(`scenario must be an array of events, got ${typeof events}`);
  return events.map((event: unknown, i) => {
    const at = `scenario[${i}]`;
    if (typeof event !== 'object' || event === null) throw new RangeError(`${at} must be an object, got ${JSON.stringify(event)}`);
    const e = event as Record<string, unknown>;
    if (e['kind'] !== 'incident') throw new RangeError(`${at}.kind must be 'incident', got ${JSON.stringify(e['kind'])}`);
    const known = ['kind', 'atS', 'durationS', 'lanes', 'speedKmh', 'speedSdKmh', 'recoveryS'];
    const unknown = Object.keys(e).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new RangeError(`${at}: unknown field ${unknown.join(', ')} (known: ${known.join(', ')})`);
    const number = (field: string, ok: (n: number) => boolean, what: string, optional = false): void => {
      const value = e[field];
      if (optional && value === undefined) return;
      if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) throw new RangeError(`${at}.${field} must be ${what}, got ${JSON.stringify(value)}`);
    };
    number('atS', (n) => n >= 0, 'a number >= 0');
    number('durationS', (n) => n > 0, 'a number > 0');
    number('speedKmh', (n) => n >= 1 && n <= 200, 'a number 1..200');
    number('speedSdKmh', (n) => n >= 0, 'a number >= 0', true);
    number('recoveryS', (n) => n >= 0, 'a number >= 0', true);
    const lanes = e['lanes'];
    if (lanes !== undefined) {
      const ok = Array.isArray(lanes) && lanes.length > 0 && lanes.every((l) => Number.isInteger(l) && l >= 1 && l <= laneCount);
      if (!ok) throw new RangeError(`${at}.lanes must be a non-empty list of lanes 1..${laneCount}, got ${JSON.stringify(lanes)}`);
    }
    return { ...(e as unknown as IncidentEvent) };
  });
}

/** A scenario file: a JSON array of events, or an object with a `scenario` array. */
export function parseScenarioJson(text: string, source: string, laneCount: number): ScenarioEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const events = Array.isArray(parsed) ? parsed : (parsed as { scenario?: unknown } | null)?.scenario;
  try {
    return checkScenario(events, laneCount);
  } catch (err) {
    throw new RangeError(`${source}: ${(err as Error).message}`);
  }
}

/** The speed distribution a lane's traffic follows at a sim time, with the scenario applied. */
export class SpeedRegime {
  constructor(
    private readonly free: readonly SpeedDistribution[],
    private readonly events: readonly ScenarioEvent[],
  ) {}

  at(lane: number, simS: number): SpeedDistribution {
    const free = this.free[lane - 1]!;
    let slowest = free;
    for (const e of this.events) {
      if (e.lanes && !e.lanes.includes(lane)) continue;
      const endS = e.atS + e.durationS;
      const recoveryS = e.recoveryS ?? DEFAULT_RECOVERY_S;
      if (simS < e.atS || simS >= endS + recoveryS) continue;
      const incident = { meanKmh: e.speedKmh, sdKmh: e.speedSdKmh ?? DEFAULT_INCIDENT_SD_KMH };
      const recovered = simS < endS ? 0 : (simS - endS) / recoveryS;
      const regime = {
        meanKmh: incident.meanKmh + (free.meanKmh - incident.meanKmh) * recovered,
        sdKmh: incident.sdKmh + (free.sdKmh - incident.sdKmh) * recovered,
      };
      if (regime.meanKmh < slowest.meanKmh) slowest = regime;
    }
    return slowest;
  }
}
