/**
 * Road-scene scenarios: events at given sim times that make the camera see something an analytics
 * rule should flag. Free flow is the empty list; the named presets are one event each.
 *
 *   queue            lane `lane` is held at a stop line from atS for durationS; vehicles stop
 *                    behind each other, then drive on when it is released.
 *   stopped-vehicle  the first vehicle entering lane `lane` at or after atS stops with its centre
 *                    at stopY for durationS, then drives on (no new vehicles enter that lane meanwhile).
 *   wrong-way        once lane `lane` is empty after atS, one vehicle drives along it against its
 *                    direction (no new vehicles enter that lane meanwhile).
 *   pedestrian       a person walks from the right edge onto the verge, into the restricted zone,
 *                    stands there dwellS, and walks back out.
 */

export interface QueueEvent {
  kind: 'queue';
  lane: number;
  atS: number;
  durationS: number;
  /** Normalised y of the stop line; default 0.9 in a lane towards the camera, 0.1 in one going away. */
  stopLineY?: number;
}

export interface StoppedVehicleEvent {
  kind: 'stopped-vehicle';
  lane: number;
  atS: number;
  durationS: number;
  /** Normalised y where the vehicle's centre comes to rest; default 0.8 towards the camera, 0.2 away. */
  stopY?: number;
}

export interface WrongWayEvent {
  kind: 'wrong-way';
  lane: number;
  atS: number;
}

export interface PedestrianEvent {
  kind: 'pedestrian';
  atS: number;
  /** Sim seconds the person stands in the zone; default 8. */
  dwellS?: number;
}

export type SceneScenarioEvent = QueueEvent | StoppedVehicleEvent | WrongWayEvent | PedestrianEvent;

export const SCENE_SCENARIOS = ['free-flow', 'queue', 'stopped-vehicle', 'wrong-way', 'pedestrian'] as const;
export type SceneScenarioName = (typeof SCENE_SCENARIOS)[number];

/** The named scenarios as event lists (lanes chosen so that they exist on the default 3-lane road). */
export function scenarioPreset(name: SceneScenarioName): SceneScenarioEvent[] {
  switch (name) {
    case 'free-flow':
      return [];
    case 'queue':
      return [{ kind: 'queue', lane: 1, atS: 4, durationS: 30 }];
    case 'stopped-vehicle':
      return [{ kind: 'stopped-vehicle', lane: 2, atS: 3, durationS: 15 }];
    case 'wrong-way':
      return [{ kind: 'wrong-way', lane: 1, atS: 4 }];
    case 'pedestrian':
      return [{ kind: 'pedestrian', atS: 2, dwellS: 8 }];
  }
}

const FIELDS: Record<SceneScenarioEvent['kind'], readonly string[]> = {
  queue: ['kind', 'lane', 'atS', 'durationS', 'stopLineY'],
  'stopped-vehicle': ['kind', 'lane', 'atS', 'durationS', 'stopY'],
  'wrong-way': ['kind', 'lane', 'atS'],
  pedestrian: ['kind', 'atS', 'dwellS'],
};

/** A scenario name or event list, checked; throws a RangeError naming the event and field. */
export function checkSceneScenario(scenario: unknown, laneCount: number): SceneScenarioEvent[] {
  if (typeof scenario === 'string') {
    if (!(SCENE_SCENARIOS as readonly string[]).includes(scenario)) throw new RangeError(`scenario must be one of ${SCENE_SCENARIOS.join(', ')} or a list of events, got '${scenario}'`);
    const events = scenarioPreset(scenario as SceneScenarioName);
    return checkSceneScenario(events, laneCount);
  }
  if (!Array.isArray(scenario)) throw new RangeError(`scenario must be a name or an array of events, got ${typeof scenario}`);
  return scenario.map((event: unknown, i) => {
    const at = `scenario[${i}]`;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new RangeError(`${at} must be an object, got ${JSON.stringify(event)}`);
    const e = event as Record<string, unknown>;
    const kind = e['kind'];
    if (typeof kind !== 'string' || !(kind in FIELDS)) throw new RangeError(`${at}.kind must be one of ${Object.keys(FIELDS).join(', ')}, got ${JSON.stringify(kind)}`);
    const known = FIELDS[kind as SceneScenarioEvent['kind']];
    const unknown = Object.keys(e).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new RangeError(`${at} (${kind}): unknown field ${unknown.join(', ')} (known: ${known.join(', ')})`);
    const number = (field: string, ok: (n: number) => boolean, what: string, optional = false): void => {
      const value = e[field];
      if (optional && value === undefined) return;
      if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) throw new RangeError(`${at}.${field} must be ${what}, got ${JSON.stringify(value)}`);
    };
    number('atS', (n) => n >= 0, 'a number >= 0');
    if (known.includes('lane')) number('lane', (n) => Number.isInteger(n) && n >= 1 && n <= laneCount, `a lane 1..${laneCount}`);
    if (known.includes('durationS')) number('durationS', (n) => n > 0 && n <= 3600, 'a number of seconds in (0, 3600]');
    number('stopLineY', (n) => n > 0.05 && n < 0.95, 'a normalised y in (0.05, 0.95)', true);
    number('stopY', (n) => n > 0.1 && n < 0.9, 'a normalised y in (0.1, 0.9)', true);
    number('dwellS', (n) => n >= 0 && n <= 3600, 'a number of seconds 0..3600', true);
    return { ...(e as unknown as SceneScenarioEvent) };
  });
}
