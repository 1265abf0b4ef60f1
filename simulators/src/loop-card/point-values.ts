/**
 * Where each profile point of a loop card gets its engineering value: found by the point's
 * quantity and lane, in the unit the point asks for.
 */
import type { Logger } from 'pino';
import type { DeviceProfile, ResolvedPoint } from '@quanlink/device-profiles';
import type { TrafficModel } from './traffic.js';

/** Multipliers from the card's native units (km/h, %, s) to the unit a profile point asks for. */
const UNIT_FACTORS: Record<string, Record<string, number>> = {
  speed: { 'km/h': 1, 'm/s': 1 / 3.6, mph: 1 / 1.609344 },
  occupancy: { '%': 1, percent: 1 },
  uptime: { s: 1, ms: 1000, min: 1 / 60, h: 1 / 3600 },
  'vehicle-count': { veh: 1, vehicle: 1, vehicles: 1 },
};

function unitFactor(profile: DeviceProfile, point: ResolvedPoint, quantity: string): number {
  if (point.unit === undefined) return 1;
  const factor = UNIT_FACTORS[quantity]?.[point.unit];
  if (factor === undefined) {
    const known = Object.keys(UNIT_FACTORS[quantity] ?? {}).join(', ');
    throw new RangeError(`loop card: profile ${profile.id}: point ${point.key}: unit '${point.unit}' for ${quantity} not supported (${known})`);
  }
  return factor;
}

/** How each profile point gets its engineering value from the traffic model, decided once at start. */
export function pointValueSources(
  profile: DeviceProfile,
  model: TrafficModel,
  initialCounts: Record<number, number>,
  logger: Logger,
): Map<ResolvedPoint, () => number> {
  const sources = new Map<ResolvedPoint, () => number>();
  for (const point of profile.points) {
    const quantity = point.quantity ?? '';
    const lane = point.lane;
    if (lane !== undefined && (lane < 1 || lane > model.laneCount)) {
      throw new RangeError(`loop card: profile ${profile.id}: point ${point.key}: lane ${lane} outside 1..${model.laneCount}`);
    }
    const needLane = (): number => {
      if (lane === undefined) throw new RangeError(`loop card: profile ${profile.id}: point ${point.key}: ${quantity} needs a lane`);
      return lane;
    };
    let source: () => number;
    switch (quantity) {
      case 'vehicle-count': {
        const f = unitFactor(profile, point, quantity);
        source =
          lane === undefined
            ? () => f * Array.from({ length: model.laneCount }, (_, i) => (initialCounts[i + 1] ?? 0) + model.counted(i + 1)).reduce((a, b) => a + b, 0)
            : () => f * ((initialCounts[lane] ?? 0) + model.counted(lane));
        break;
      }
      case 'occupancy': {
        const l = needLane();
        const f = unitFactor(profile, point, quantity);
        source = () => f * model.lastWindow(l).occupancyPct;
        break;
      }
      case 'speed': {
        const l = needLane();
        const f = unitFactor(profile, point, quantity);
        source = () => f * model.lastWindow(l).speedKmh;
        break;
      }
      case 'presence': {
        const l = needLane();
        source = () => (model.present(l) ? 1 : 0);
        break;
      }
      case 'uptime': {
        const f = unitFactor(profile, point, quantity);
        source = () => f * Math.floor(model.simTimeS);
        break;
      }
      case 'firmware-version':
        // 1.0 in the major * 256 + minor layout of quanlink-lc8
        source = () => 0x0100;
        break;
      default: {
        // Not modelled (e.g. a firmware version): a constant within the point's limits.
        const constant = Math.min(point.max ?? Infinity, Math.max(point.min ?? -Infinity, 0));
        logger.debug({ profile: profile.id, point: point.key, quantity: point.quantity, constant }, 'point not modelled, served as a constant');
        source = () => constant;
      }
    }
    sources.set(point, source);
  }
  return sources;
}
