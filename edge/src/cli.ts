#!/usr/bin/env node
/**
 * quanlink-edge: run the gateway agent from its config file, and edit that file without hand-editing JSON.
 *   run     --config FILE
 *   init    --config FILE --gateway-id ID --cloud-url URL [--password P] [--data-dir DIR]
 *   device add    --config FILE --id ID --profile P --host H --port N [--unit-id U] [--interval-ms N] [--name N]
 *                 (a guidance screen on MQTT: --mqtt-url URL [--topic-base T] instead of --host)
 *                 (a camera: --onvif HOST:PORT [--camera-user U] | --rtsp-url URL, with --model PATH [--lines FILE])
 *   device remove --config FILE --id ID
 *   camera discover [--timeout-ms N] [--probe HOST:PORT] [--json]
 *   profiles      list the device profiles this agent knows
 * Exit codes: 0 done, 1 failed at run time, 2 bad usage or invalid configuration.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import pino from 'pino';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { EdgeAgent, readingsPath } from './agent.js';
import { LocalReadings } from './readings/local-readings.js';
import { ConfigError, ConfigFile, type DeviceBinding, type EdgeConfig, type VideoConfig } from './config/index.js';
import { discover, OnvifError } from './video/onvif.js';
import { checkAnalyticsConfig } from './video/analytics/index.js';

const USAGE = `usage: quanlink-edge <command> [flags]

commands:
  run --config FILE                      run the agent (Ctrl-C stops it cleanly)
  init --config FILE --gateway-id ID --cloud-url mqtt://HOST:PORT
       [--password P] [--data-dir DIR]   write a new config file (owner-only permissions);
                                         the password may also come from QUANLINK_CLOUD_PASSWORD
  device add --config FILE --id ID --profile PROFILE
       (--host HOST --port PORT [--rtu-over-tcp] | --serial PATH [--baud N])
       [--unit-id N] [--interval-ms N] [--name NAME]
                                         Modbus TCP by default; --serial: RTU on an RS-485 line;
                                         --rtu-over-tcp: RTU through a serial-to-Ethernet converter
  device add --config FILE --id ID --profile PROFILE --mqtt-url mqtt://HOST:PORT
       [--topic-base T] [--mqtt-username U] [--default-multi MULTI] [--name NAME]
                                         a guidance screen that speaks MQTT (profile protocol mqtt);
                                         the password may come from QUANLINK_DEVICE_MQTT_PASSWORD.
                                         --default-multi: shown when no message is active (any screen)
  device add --config FILE --id ID --profile onvif-camera
       (--onvif HOST:PORT [--camera-user U] [--profile-token T] | --rtsp-url rtsp://HOST:PORT/PATH [--camera-user U])
       --model PATH [--decoder fastestdet|yolov5|yolov8] [--model-sha256 HEX]
       [--lines FILE] [--fps N] [--name NAME]
                                         a camera; its password comes only from QUANLINK_CAMERA_PASSWORD
                                         (never a flag). --lines: JSON {lines, zones, periodS} (or just the
                                         lines array), points normalised 0..1
  device remove --config FILE --id ID
  camera discover [--timeout-ms N] [--probe HOST:PORT] [--json]
                                         find ONVIF cameras (WS-Discovery multicast, or ask one HOST:PORT)
  readings --config FILE --device ID [--limit N]
                                         the newest raw readings kept on this gateway (JSON lines)
  profiles                               list known device profiles
`;

class UsageError extends Error {}

function need(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing --${name}`);
  return value;
}

function integer(values: Record<string, unknown>, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${String(value)}'`);
  return n;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const logger = pino({ name: 'quanlink-edge' });
  const agent = await EdgeAgent.open(need(values, 'config'), logger);
  await agent.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await agent.stop();
  return 0;
}

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      'gateway-id': { type: 'string' },
      'cloud-url': { type: 'string' },
      password: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const file = need(values, 'config');
  if (existsSync(file)) throw new UsageError(`${file} exists already; edit it with the device commands or remove it first`);
  const password = values.password ?? process.env.QUANLINK_CLOUD_PASSWORD;
  const config: EdgeConfig = {
    gateway: { id: need(values, 'gateway-id') },
    cloud: { url: need(values, 'cloud-url'), ...(password ? { password } : {}) },
    dataDir: values['data-dir'] ?? 'data',
    devices: [],
  };
  await ConfigFile.create(file, config);
  console.log(JSON.stringify({ created: file, gateway: config.gateway.id }));
  return 0;
}

async function device(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
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
    },
    strict: true,
  });
  const config = await ConfigFile.load(need(values, 'config'));
  const id = need(values, 'id');
  if (action === 'add') {
    const profile = need(values, 'profile');
    const known = await loadBuiltinProfiles();
    if (!known.has(profile) && !(config.data.profileDirs?.length ?? 0)) {
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
      ({ transport, video } = await cameraBinding(values));
    } else if (values['mqtt-url'] !== undefined) {
      const password = process.env.QUANLINK_DEVICE_MQTT_PASSWORD;
      transport = {
        kind: 'mqtt',
        url: values['mqtt-url'],
        ...(values['topic-base'] !== undefined ? { topicBase: values['topic-base'] } : {}),
        ...(values['mqtt-username'] !== undefined ? { username: values['mqtt-username'] } : {}),
        ...(password ? { password } : {}),
      };
    } else if (values.serial !== undefined) {
      if (unitId === undefined) throw new UsageError('--unit-id is required on a serial line');
      transport = { kind: 'modbus-rtu', path: values.serial, unitId, ...(baudRate !== undefined ? { baudRate } : {}) };
    } else if (values['rtu-over-tcp']) {
      if (unitId === undefined) throw new UsageError('--unit-id is required for RTU over TCP');
      transport = { kind: 'modbus-rtu-tcp', host: need(values, 'host'), port: integer(values, 'port') ?? 502, unitId, ...(baudRate !== undefined ? { baudRate } : {}) };
    } else {
      transport = { kind: 'modbus-tcp', host: need(values, 'host'), port: integer(values, 'port') ?? 502, ...(unitId !== undefined ? { unitId } : {}) };
    }
    await config.update((draft) => {
      if (draft.devices.some((d) => d.id === id)) throw new UsageError(`device '${id}' is already bound; remove it first`);
      draft.devices.push({
        id,
        profile,
        transport,
        ...(intervalMs !== undefined ? { pollIntervalMs: intervalMs } : {}),
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(values['default-multi'] !== undefined ? { sign: { defaultMulti: values['default-multi'] } } : {}),
        ...(video ? { video } : {}),
      });
    });
    console.log(JSON.stringify({ added: id, profile }));
    return 0;
  }
  if (action === 'remove') {
    await config.update((draft) => {
      const before = draft.devices.length;
      draft.devices = draft.devices.filter((d) => d.id !== id);
      if (draft.devices.length === before) throw new UsageError(`no device '${id}' in ${config.file}`);
    });
    console.log(JSON.stringify({ removed: id }));
    return 0;
  }
  throw new UsageError(`unknown device action '${action ?? ''}' (add | remove)`);
}

/** A camera's transport and video section from the device add flags; the password only from the environment. */
async function cameraBinding(values: Record<string, string | boolean | undefined>): Promise<{ transport: DeviceBinding['transport']; video: VideoConfig }> {
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

function hostPort(value: string, flag: string, defaultPort: number): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match) throw new UsageError(`--${flag} must be HOST or HOST:PORT, got '${value}'`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`--${flag}: port ${match[2]} is not 1..65535`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

async function camera(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'discover') throw new UsageError(`unknown camera action '${action ?? ''}' (discover)`);
  const { values } = parseArgs({ args: rest, options: { 'timeout-ms': { type: 'string' }, probe: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const timeoutMs = integer(values, 'timeout-ms') ?? 3000;
  if (timeoutMs < 100 || timeoutMs > 60_000) throw new UsageError(`--timeout-ms must be 100..60000, got ${timeoutMs}`);
  let found;
  try {
    found = await discover({ timeoutMs, ...(values.probe !== undefined ? { probe: hostPort(values.probe, 'probe', 3702) } : {}) });
  } catch (err) {
    if (err instanceof OnvifError) {
      console.error(`quanlink-edge: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (values.json) {
    console.log(JSON.stringify(found));
    return 0;
  }
  if (found.length === 0) {
    console.log('no ONVIF camera answered');
    return 0;
  }
  const rows = [['NAME', 'HARDWARE', 'XADDR', 'URN'], ...found.map((c) => [c.name || '-', c.hardware || '-', c.xaddrs.join(' '), c.urn])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

async function readings(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, device: { type: 'string' }, limit: { type: 'string' } }, strict: true });
  const config = await ConfigFile.load(need(values, 'config'));
  const device = need(values, 'device');
  if (!config.data.devices.some((d) => d.id === device)) throw new UsageError(`no device '${device}' in ${config.file}`);
  const store = new LocalReadings(readingsPath(config));
  try {
    for (const reading of store.query(device, { limit: integer(values, 'limit') ?? 10 })) console.log(JSON.stringify(reading));
  } finally {
    store.close();
  }
  return 0;
}

async function profiles(): Promise<number> {
  for (const profile of (await loadBuiltinProfiles()).values()) {
    console.log(`${profile.id}\t${profile.kind}\t${profile.manufacturer} ${profile.model}\t${profile.source}`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await run(rest);
      case 'init':
        return await init(rest);
      case 'device':
        return await device(rest);
      case 'profiles':
        return await profiles();
      case 'readings':
        return await readings(rest);
      case 'camera':
        return await camera(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`quanlink-edge: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`quanlink-edge: invalid configuration: ${err.message}`);
      return 2;
    }
    console.error(`quanlink-edge: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
