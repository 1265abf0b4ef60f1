/**
 * Where each profile point of a loop card gets its engineering value: found by the point's
 * quantity and lane, in the unit the point asks for. Quantities served:
 *   vehicle-count, vehicle-count-short|medium|long  counted vehicles (lane, or the card's total)
 *   occupancy, speed                                 the card's last aggregation window (lane)
 *   presence, dual-loop-speed, loop-fault            channel outputs (lane): 0/1, 0/1, flag bits
 *   uptime, firmware-version                         device-level
 * Any other quantity is served as a constant within the point's limits.
 */
import type { Logger } from 'pino';
import type { DeviceProfile, ResolvedPoint } from '@quanlink/device-profiles';
import type { LoopDetector } from './detector.js';
import { LENGTH_CLASSES, type LengthClass } from './traffic.js';

/** Multipliers from the card's native units (km/h, %, s, vehicles) to the unit a profile point asks for. */
const UNIT_FACTORS: Record<string, Record<string, number>> = {
  speed: { 'km/h': 1, 'm/s': 1 / 3.6, mph: 1 / 1.609344 },
  occupancy: { '%': 1, percent: 1, '‰': 10, permille: 10 },
  uptime: { s: 1, ms: 1000, min: 1 / 60, h: 1 / 3600 },
  'vehicle-count': { veh: 1, vehicle: 1, vehicles: 1 },
};

const CLASS_QUANTITY = /^vehicle-count-(short|medium|long)$/;

function unitFactor(profile: DeviceProfile, point: ResolvedPoint, quantity: string): number {
  if (point.unit === undefined) return 1;
  const factor = UNIT_FACTORS[quantity]?.[point.unit];
  if (factor === undefined) {
    const known = Object.keys(UNIT_FACTORS[quantity] ?? {}).join(', ');
    throw new RangeError(`loop card: profile ${profile.id}: point ${point.key}: unit '${point.unit}' for ${quantity} not supported (${known})`);
  }
  return factor;
}

/** How each profile point gets its engineering value from the card's channels, decided once at start. */
export function pointValueSources(
  profile: DeviceProfile,
  detector: LoopDetector,
  initialCounts: Record<number, number>,
  logger: Logger,
): Map<ResolvedPoint, () => number> {
  const lanes = Array.from({ length: detector.laneCount }, (_, i) => i + 1);
  const sources = new Map<ResolvedPoint, () => number>();
  for (const point of profile.points) {
    const quantity = point.quantity ?? '';
    const lane = point.lane;
    if (lane !== undefined && (lane < 1 || lane > detector.laneCount)) {
      throw new RangeError(`loop card: profile ${profile.id}: point ${point.key}: lane ${lane} outside 1..${detector.laneCount}`);
    }
    const needLane = (): number => {
      if (lane === undefined) throw new RangeError(`loop card: profile ${profile.id}: point ${point.key}: ${quantity} needs a lane`);
      return lane;
    };
    /** One lane's value, or the sum over the lanes for a device-level point. */
    const laneOrTotal = (perLane: (l: number) => number): (() => number) =>
      lane === undefined ? () => lanes.reduce((sum, l) => sum + perLane(l), 0) : () => perLane(lane);
    const lengthClass = CLASS_QUANTITY.exec(quantity)?.[1] as LengthClass | undefined;
    let source: () => number;
    if (quantity === 'vehicle-count') {
      const f = unitFactor(profile, point, quantity);
      const count = laneOrTotal((l) => (initialCounts[l] ?? 0) + detector.reportedCount(l));
      source = () => f * count();
    } else if (lengthClass && LENGTH_CLASSES.includes(lengthClass)) {
      const f = unitFactor(profile, point, 'vehicle-count');
      const count = laneOrTotal((l) => detector.reportedClasses(l)[lengthClass]);
      source = () => f * count();
    } else {
      switch (quantity) {
        case 'occupancy': {
          const l = needLane();
          const f = unitFactor(profile, point, quantity);
          source = () => f * detector.lastWindow(l).occupancyPct;
          break;
        }
        case 'speed': {
          const l = needLane();
          const f = unitFactor(profile, point, quantity);
          source = () => f * (detector.lastWindow(l).timeMeanSpeedKmh ?? 0);
          break;
        }
        case 'presence': {
          const l = needLane();
          source = () => (detector.present(l) ? 1 : 0);
          break;
        }
        case 'dual-loop-speed': {
          const l = needLane();
          source = () => (detector.dualLoopSpeed(l) ? 1 : 0);
          break;
        }
        case 'loop-fault': {
          const l = needLane();
          source = () => detector.loopFaultBits(l);
          break;
        }
        case 'uptime': {
          const f = unitFactor(profile, point, quantity);
          source = () => f * Math.floor(detector.model.simTimeS);
          break;
        }
        case 'firmware-version':
          // 1.0 in the major * 256 + minor layout of quanlink-lc8
          source = () => 0x0100;
          break;
        default: {
          const constant = Math.min(point.max ?? Infinity, Math.max(point.min ?? -Infinity, 0));
          logger.debug({ profile: profile.id, point: point.key, quantity: point.quantity, constant }, 'point not modelled, served as a constant');
          source = () => constant;
        }
      }
    }
    sources.set(point, source);
  }
  return sources;
}
