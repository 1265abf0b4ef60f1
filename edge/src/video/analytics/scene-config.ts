/**
 * A camera's analytics configuration: counting lines and zones in normalised frame coordinates, and
 * the period length. checkAnalyticsConfig lists every problem with its path, so a bad config is
 * refused with messages a person can act on.
 */
import { OBJECT_KINDS, type ObjectKind } from '@quanlink/contracts';

/** Normalised 0..1 of the frame width (x) and height (y); (0,0) is the top left. */
export interface Point { x: number; y: number }

/**
 * A counting line from `from` to `to`. Direction: 'forward' is a crossing from the left of the
 * directed line from->to to its right, "left" and "right" as seen when walking from `from` to `to`
 * on the image (y grows downwards). So a line drawn left to right (from x=0.1 to x=0.9) counts
 * objects moving down the image as forward; drawn top to bottom, forward is moving right to left.
 */
export interface CountingLine {
  id: string;
  /** Lane number (1..999) for per-lane volumes in traffic.period. */
  lane?: number;
  from: Point;
  to: Point;
  /** Default ['vehicle']. */
  kinds?: ObjectKind[];
}

export const ZONE_PURPOSES = ['occupancy', 'queue', 'stopped-vehicle', 'restricted', 'wrong-way'] as const;
export type ZonePurpose = (typeof ZONE_PURPOSES)[number];

export interface ZoneConfig {
  id: string;
  /** At least 3 points. */
  polygon: Point[];
  /** Objects the zone watches; default ['person'] for 'restricted', ['vehicle'] for the rest. */
  kinds?: ObjectKind[];
  /** What the zone is watched for. */
  purpose: ZonePurpose[];
  /** For wrong-way (required) and queue length: the lane's driving direction. */
  direction?: { from: Point; to: Point };
  /** Stopped-vehicle alert after this long without moving, s. Default 10. */
  stoppedAfterS?: number;
  /** In a queue zone, a vehicle slower than this counts as queued, px/s. Default: half its box width per second. */
  queueSpeedPxPerS?: number;
  /** Calibration for queue length in metres (along the direction, or the zone's longer side). */
  metresPerPx?: number;
  /** Raise a 'queue' alert when this many vehicles queue; cleared when fewer for 2 s. */
  queueAlertVehicles?: number;
  /** Which point of an object must be inside the zone: its box centre (default) or bottom centre (ground contact). */
  anchor?: 'centre' | 'bottom';
}

export interface AnalyticsConfig {
  lines: CountingLine[];
  zones: ZoneConfig[];
  /** Period length for video.zone and traffic.period, s (1..3600); periods are clock-aligned. */
  periodS: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LINE_KEYS = new Set(['id', 'lane', 'from', 'to', 'kinds']);
const ZONE_KEYS = new Set(['id', 'polygon', 'kinds', 'purpose', 'direction', 'stoppedAfterS', 'queueSpeedPxPerS', 'metresPerPx', 'queueAlertVehicles', 'anchor']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems with the config, each prefixed with its path (e.g. 'lines[2].from.x: must be 0..1'); empty when fine. */
export function checkAnalyticsConfig(cfg: unknown): string[] {
  const problems: string[] = [];
  const say = (path: string, msg: string): void => { problems.push(`${path}: ${msg}`); };
  if (!isObject(cfg)) return ['config: must be an object with lines, zones and periodS'];
  for (const key of Object.keys(cfg)) if (!['lines', 'zones', 'periodS'].includes(key)) say(key, 'unknown field');

  if (!Number.isInteger(cfg.periodS) || (cfg.periodS as number) < 1 || (cfg.periodS as number) > 3600) say('periodS', 'must be an integer 1..3600');

  const ids = new Map<string, string>();
  const checkId = (path: string, id: unknown): void => {
    if (typeof id !== 'string' || !NAME.test(id)) return say(`${path}.id`, 'must be 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit');
    const first = ids.get(id);
    if (first) return say(`${path}.id`, `'${id}' is already used by ${first}`);
    ids.set(id, path);
  };
  const checkPoint = (path: string, p: unknown): boolean => {
    if (!isObject(p)) { say(path, 'must be a point {x, y}'); return false; }
    let ok = true;
    for (const axis of ['x', 'y'] as const) {
      const v = p[axis];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) { say(`${path}.${axis}`, 'must be 0..1'); ok = false; }
    }
    for (const key of Object.keys(p)) if (key !== 'x' && key !== 'y') say(`${path}.${key}`, 'unknown field');
    return ok;
  };
  const checkSegment = (path: string, from: unknown, to: unknown): void => {
    const a = checkPoint(`${path}.from`, from);
    const b = checkPoint(`${path}.to`, to);
    if (a && b && isObject(from) && isObject(to) && from.x === to.x && from.y === to.y) say(`${path}.to`, 'must differ from from (a line needs length)');
  };
  const checkKinds = (path: string, kinds: unknown): void => {
    if (kinds === undefined) return;
    if (!Array.isArray(kinds) || kinds.length === 0) return say(path, `must be a non-empty list of ${OBJECT_KINDS.join(', ')}`);
    kinds.forEach((k, i) => {
      if (!OBJECT_KINDS.includes(k as ObjectKind)) say(`${path}[${i}]`, `'${String(k)}' is not one of ${OBJECT_KINDS.join(', ')}`);
    });
  };
  const checkPositive = (path: string, v: unknown): void => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) say(path, 'must be a number > 0');
  };

  if (!Array.isArray(cfg.lines)) say('lines', 'must be a list (may be empty)');
  else cfg.lines.forEach((line, i) => {
    const path = `lines[${i}]`;
    if (!isObject(line)) return say(path, 'must be an object');
    for (const key of Object.keys(line)) if (!LINE_KEYS.has(key)) say(`${path}.${key}`, 'unknown field');
    checkId(path, line.id);
    if (line.lane !== undefined && (!Number.isInteger(line.lane) || (line.lane as number) < 1 || (line.lane as number) > 999)) say(`${path}.lane`, 'must be an integer 1..999');
    checkSegment(path, line.from, line.to);
    checkKinds(`${path}.kinds`, line.kinds);
  });

  if (!Array.isArray(cfg.zones)) say('zones', 'must be a list (may be empty)');
  else cfg.zones.forEach((zone, i) => {
    const path = `zones[${i}]`;
    if (!isObject(zone)) return say(path, 'must be an object');
    for (const key of Object.keys(zone)) if (!ZONE_KEYS.has(key)) say(`${path}.${key}`, 'unknown field');
    checkId(path, zone.id);
    if (!Array.isArray(zone.polygon) || zone.polygon.length < 3) say(`${path}.polygon`, 'must have at least 3 points');
    else zone.polygon.forEach((p, j) => checkPoint(`${path}.polygon[${j}]`, p));
    checkKinds(`${path}.kinds`, zone.kinds);
    const purposes = zone.purpose;
    if (!Array.isArray(purposes) || purposes.length === 0) say(`${path}.purpose`, `must be a non-empty list of ${ZONE_PURPOSES.join(', ')}`);
    else {
      purposes.forEach((p, j) => {
        if (!ZONE_PURPOSES.includes(p as ZonePurpose)) say(`${path}.purpose[${j}]`, `'${String(p)}' is not one of ${ZONE_PURPOSES.join(', ')}`);
        else if (purposes.indexOf(p) !== j) say(`${path}.purpose[${j}]`, `'${String(p)}' is listed twice`);
      });
      if (purposes.includes('wrong-way') && zone.direction === undefined) say(`${path}.direction`, "is required for purpose 'wrong-way'");
    }
    if (zone.direction !== undefined) {
      if (!isObject(zone.direction)) say(`${path}.direction`, 'must be {from, to}');
      else checkSegment(`${path}.direction`, zone.direction.from, zone.direction.to);
    }
    checkPositive(`${path}.stoppedAfterS`, zone.stoppedAfterS);
    checkPositive(`${path}.queueSpeedPxPerS`, zone.queueSpeedPxPerS);
    checkPositive(`${path}.metresPerPx`, zone.metresPerPx);
    if (zone.queueAlertVehicles !== undefined && (!Number.isInteger(zone.queueAlertVehicles) || (zone.queueAlertVehicles as number) < 1)) say(`${path}.queueAlertVehicles`, 'must be an integer >= 1');
    if (zone.anchor !== undefined && zone.anchor !== 'centre' && zone.anchor !== 'bottom') say(`${path}.anchor`, "must be 'centre' or 'bottom'");
  });
  return problems;
}
