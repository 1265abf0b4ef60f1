/**
 * A device binding from command-line flags, and adding it to the config file: the one piece of
 * code behind `device add`, `bind` and `test` of an unbound device. Passwords come only from the
 * environment (QUANLINK_DEVICE_MQTT_PASSWORD, QUANLINK_CAMERA_PASSWORD), never from a flag.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { DeviceProfile } from '@quanlink/device-profiles';
import type { ConfigFile, DeviceBinding, VideoConfig } from '../config/index.js';
import { checkAnalyticsConfig } from '../video/analytics/index.js';
import { hostPort, integer, need, UsageError, type FlagValues } from './usage.js';

/** The flags that say which device, over which transport, with which profile. */
export const DEVICE_FLAGS = {
  id: { type: 'string' },
  profile: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'unit-id': { type: 'string' },
  'interval-ms': { type: 'string' },
  name: { type: 'string' },
  serial: { type: 'string' },
  baud: { type: 'string' },
  'rtu-over-tcp': { type: 'boolean' },
  'mqtt-url': { type: 'string' },
  'topic-base': { type: 'string' },
  'mqtt-username': { type: 'string' },
  'default-multi': { type: 'string' },
  onvif: { type: 'string' },
  'rtsp-url': { type: 'string' },
  'camera-user': { type: 'string' },
  'profile-token': { type: 'string' },
  model: { type: 'string' },
  decoder: { type: 'string' },
  'model-sha256': { type: 'string' },
  lines: { type: 'string' },
  fps: { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** True when the flags name a transport (so `test` can run on a device that is not bound yet). */
export function hasTransportFlags(values: FlagValues): boolean {
  return ['host', 'serial', 'mqtt-url', 'onvif', 'rtsp-url'].some((flag) => values[flag] !== undefined);
}

export interface BindingFromFlagsOptions {
  /** Profiles this gateway knows (builtin, profileDirs). */
  known: ReadonlyMap<string, DeviceProfile>;
  /** The config has profile folders: a profile id not known here may be found there when the agent starts. */
  mayBeInProfileDirs: boolean;
  /** A camera binding needs a model to run; a one-off test does not. */
  cameraNeedsModel?: boolean;
}

/** Builds the binding the flags describe; throws UsageError naming the flag that is wrong. */
export async function bindingFromFlags(values: FlagValues, options: BindingFromFlagsOptions): Promise<DeviceBinding> {
  const { known } = options;
  const id = need(values, 'id');
  const profile = need(values, 'profile');
  if (!known.has(profile) && !options.mayBeInProfileDirs) {
    throw new UsageError(`unknown profile '${profile}' (known: ${[...known.keys()].join(', ')})`);
  }
  const unitId = integer(values, 'unit-id');
  const intervalMs = integer(values, 'interval-ms');
  const baudRate = integer(values, 'baud');
  const profileProtocol = known.get(profile)?.protocol;
  if (values['default-multi'] !== undefined && known.has(profile) && known.get(profile)!.kind !== 'vms') {
    throw new UsageError(`--default-multi is for guidance screens; profile '${profile}' is a ${known.get(profile)!.kind}`);
  }
  if (profileProtocol === 'mqtt' && values['mqtt-url'] === undefined) throw new UsageError(`profile '${profile}' speaks MQTT: give --mqtt-url`);
  if (profileProtocol === 'modbus' && values['mqtt-url'] !== undefined) throw new UsageError(`profile '${profile}' speaks Modbus: give --host/--port or --serial, not --mqtt-url`);
  const cameraProfile = known.get(profile)?.kind === 'camera';
  const cameraFlags = values.onvif !== undefined || values['rtsp-url'] !== undefined;
  if (cameraProfile && !cameraFlags) throw new UsageError(`profile '${profile}' is a camera: give --onvif HOST:PORT or --rtsp-url URL`);
  if (cameraFlags && known.has(profile) && !cameraProfile) throw new UsageError(`--onvif and --rtsp-url are for cameras; profile '${profile}' is a ${known.get(profile)!.kind}`);
  let transport: DeviceBinding['transport'];
  let video: VideoConfig | undefined;
  if (cameraFlags) {
    ({ transport, video } = await cameraBinding(values, options.cameraNeedsModel ?? true));
  } else if (values['mqtt-url'] !== undefined) {
    const password = process.env.QUANLINK_DEVICE_MQTT_PASSWORD;
    transport = {
      kind: 'mqtt',
      url: String(values['mqtt-url']),
      ...(values['topic-base'] !== undefined ? { topicBase: String(values['topic-base']) } : {}),
      ...(values['mqtt-username'] !== undefined ? { username: String(values['mqtt-username']) } : {}),
      ...(password ? { password } : {}),
    };
  } else if (values.serial !== undefined) {
    if (unitId === undefined) throw new UsageError('--unit-id is required on a serial line');
    transport = { kind: 'modbus-rtu', path: String(values.serial), unitId, ...(baudRate !== undefined ? { baudRate } : {}) };
  } else if (values['rtu-over-tcp']) {
    if (unitId === undefined) throw new UsageError('--unit-id is required for RTU over TCP');
    transport = { kind: 'modbus-rtu-tcp', host: need(values, 'host'), port: integer(values, 'port') ?? 502, unitId, ...(baudRate !== undefined ? { baudRate } : {}) };
  } else {
    transport = { kind: 'modbus-tcp', host: need(values, 'host'), port: integer(values, 'port') ?? 502, ...(unitId !== undefined ? { unitId } : {}) };
  }
  return {
    id,
    profile,
    transport,
    ...(intervalMs !== undefined ? { pollIntervalMs: intervalMs } : {}),
    ...(values.name !== undefined ? { name: String(values.name) } : {}),
    ...(values['default-multi'] !== undefined ? { sign: { defaultMulti: String(values['default-multi']) } } : {}),
    ...(video ? { video } : {}),
  };
}

/** Adds the binding to the config file (validated with the whole file; refused when the id is taken). */
export async function addBinding(config: ConfigFile, binding: DeviceBinding): Promise<void> {
  await config.update((draft) => {
    if (draft.devices.some((d) => d.id === binding.id)) throw new UsageError(`device '${binding.id}' is already bound; remove it first`);
    draft.devices.push(binding);
  });
}

/** A camera's transport and video section from the flags; the password only from the environment. */
async function cameraBinding(values: FlagValues, needsModel: boolean): Promise<{ transport: DeviceBinding['transport']; video?: VideoConfig }> {
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const username = str('camera-user');
  const password = process.env.QUANLINK_CAMERA_PASSWORD || undefined;
  const credentials = { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
  let transport: DeviceBinding['transport'];
  if (str('onvif') !== undefined) {
    if (str('rtsp-url') !== undefined) throw new UsageError('give --onvif or --rtsp-url, not both');
    const { host, port } = hostPort(str('onvif')!, 'onvif', 80);
    transport = { kind: 'onvif', host, port, ...credentials, ...(str('profile-token') !== undefined ? { profileToken: str('profile-token')! } : {}) };
  } else {
    const url = str('rtsp-url')!;
    if (/^[a-z]+:\/\/[^/]*@/i.test(url)) throw new UsageError('--rtsp-url must not carry a user or password: use --camera-user and QUANLINK_CAMERA_PASSWORD');
    transport = { kind: 'rtsp', url, ...credentials };
  }
  const decoder = str('decoder') ?? 'fastestdet';
  if (decoder !== 'fastestdet' && decoder !== 'yolov5' && decoder !== 'yolov8') throw new UsageError(`--decoder must be fastestdet, yolov5 or yolov8, got '${decoder}'`);
  if (!needsModel && str('model') === undefined) return { transport };
  const model = need(values, 'model');
  let analytics: VideoConfig['analytics'] = { lines: [], zones: [], periodS: 60 };
  if (str('lines') !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(str('lines')!, 'utf8'));
    } catch (err) {
      throw new UsageError(`--lines ${str('lines')}: ${(err as Error).message}`);
    }
    analytics = (Array.isArray(parsed) ? { lines: parsed, zones: [], periodS: 60 } : parsed) as VideoConfig['analytics'];
    const problems = checkAnalyticsConfig(analytics);
    if (problems.length > 0) throw new UsageError(`--lines ${str('lines')}: ${problems.join('; ')}`);
  }
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  if (fps !== undefined && !(fps > 0)) throw new UsageError(`--fps must be a positive number, got '${String(values.fps)}'`);
  const video: VideoConfig = {
    // Relative to where the command runs, not to the config file: stored absolute so it means the same later.
    model: { path: resolve(model), decoder, ...(str('model-sha256') !== undefined ? { sha256: str('model-sha256')! } : {}) },
    analytics,
    ...(fps !== undefined ? { fps } : {}),
  };
  return { transport, video };
}
