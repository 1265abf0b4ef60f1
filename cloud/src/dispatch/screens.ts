/**
 * Guidance screens as the cloud knows them: devices of kind 'vms' from gateway births, with the
 * metadata operators give them (groups, road segment, corridor), and the resolution of a message's
 * targets to screens.
 */
import type { CloudStore } from '../store/types.js';
import type { MessageTargets, ScreenMeta } from './types.js';

export const SCREEN_KIND = 'vms';

export interface Screen {
  gatewayId: string;
  deviceId: string;
  /** 'gateway/device' */
  key: string;
  profile: string | null;
  /** The operator's name, else the birth's. */
  name: string | null;
  groups: string[];
  segment: string | null;
  corridor: string | null;
  location: ScreenMeta['location'];
}

export const screenKey = (gatewayId: string, deviceId: string): string => `${gatewayId}/${deviceId}`;

/** Every screen the latest births list. */
export async function listScreens(store: CloudStore): Promise<Screen[]> {
  const [devices, metas] = await Promise.all([store.listDevices({ kind: SCREEN_KIND }), store.dispatch.listScreenMeta()]);
  const metaOf = new Map(metas.map((meta) => [screenKey(meta.gatewayId, meta.deviceId), meta]));
  return devices
    .filter((device) => !device.removed)
    .map((device) => {
      const key = screenKey(device.gatewayId, device.deviceId);
      const meta = metaOf.get(key);
      return {
        gatewayId: device.gatewayId,
        deviceId: device.deviceId,
        key,
        profile: device.profile,
        name: meta?.name ?? device.name,
        groups: meta?.groups ?? [],
        segment: meta?.segment ?? null,
        corridor: meta?.corridor ?? null,
        location: meta?.location ?? null,
      };
    });
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** The screens the targets name, each once, by key. Throws TargetError naming every target that names no screen. */
export function resolveTargets(targets: MessageTargets, screens: readonly Screen[]): Screen[] {
  const problems: string[] = [];
  const chosen = new Map<string, Screen>();
  const add = (list: Screen[]) => list.forEach((screen) => chosen.set(screen.key, screen));
  const byKey = new Map(screens.map((screen) => [screen.key, screen]));
  const named =
    (targets.screens?.length ?? 0) + (targets.groups?.length ?? 0) + (targets.segments?.length ?? 0) + (targets.corridors?.length ?? 0);
  if (named === 0 && targets.all !== true) {
    throw new TargetError(['targets must name at least one of screens, groups, segments, corridors, or set all: true']);
  }

  for (const key of targets.screens ?? []) {
    const screen = byKey.get(key);
    if (screen) add([screen]);
    else problems.push(`screen '${key}' is not a known guidance screen (no device of kind '${SCREEN_KIND}' with that gateway/device id)`);
  }
  const byField = (field: 'segments' | 'corridors', label: string, of: (s: Screen) => string | null) => {
    for (const id of targets[field] ?? []) {
      const found = screens.filter((screen) => of(screen) === id);
      if (found.length === 0) problems.push(`${label} '${id}' has no screens`);
      add(found);
    }
  };
  for (const group of targets.groups ?? []) {
    const found = screens.filter((screen) => screen.groups.includes(group));
    if (found.length === 0) problems.push(`group '${group}' has no screens`);
    add(found);
  }
  byField('segments', 'segment', (s) => s.segment);
  byField('corridors', 'corridor', (s) => s.corridor);
  if (targets.all === true) {
    if (screens.length === 0) problems.push('all: there are no guidance screens');
    add([...screens]);
  }
  if (problems.length > 0) throw new TargetError(problems);
  return [...chosen.values()].sort((a, b) => a.key.localeCompare(b.key));
}
