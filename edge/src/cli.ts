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
 *   discover | bind | test | status   the technician's tools (technician/commands.ts)
 * Exit codes: 0 done, 1 failed at run time, 2 bad usage or invalid configuration.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import pino from 'pino';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { EdgeAgent, readingsPath } from './agent.js';
import { LocalReadings } from './readings/local-readings.js';
import { ConfigError, ConfigFile, type EdgeConfig } from './config/index.js';
import { discover, OnvifError } from './video/onvif.js';
import { hostPort, integer, need, UsageError } from './technician/usage.js';
import { addBinding, bindingFromFlags, DEVICE_FLAGS } from './technician/device-flags.js';
import { TECHNICIAN_COMMANDS, TECHNICIAN_USAGE } from './technician/commands.js';
import { formatTable } from './technician/table.js';
import { superviseCommand, UPDATE_USAGE, updateCommand } from './update/cli-commands.js';
import { ENROL_USAGE, enrolCommand } from './enrolment/cli-command.js';
import { untilStopSignal } from './stop-signal.js';

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
${TECHNICIAN_USAGE}${UPDATE_USAGE}${ENROL_USAGE}`;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const logger = pino({ name: 'quanlink-edge' });
  const agent = await EdgeAgent.open(need(values, 'config'), logger);
  await agent.start();
  await untilStopSignal(logger);
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
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, ...DEVICE_FLAGS }, strict: true });
  const config = await ConfigFile.load(need(values, 'config'));
  const id = need(values, 'id');
  if (action === 'add') {
    const known = await loadBuiltinProfiles();
    const binding = await bindingFromFlags(values, { known, mayBeInProfileDirs: (config.data.profileDirs?.length ?? 0) > 0 });
    await addBinding(config, binding);
    console.log(JSON.stringify({ added: id, profile: binding.profile }));
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
  console.log(formatTable(['NAME', 'HARDWARE', 'XADDR', 'URN'], found.map((c) => [c.name, c.hardware, c.xaddrs.join(' '), c.urn])));
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
      case 'discover':
      case 'bind':
      case 'test':
      case 'status':
        return await TECHNICIAN_COMMANDS[command](rest);
      case 'supervise':
        return await superviseCommand(rest, (message) => new UsageError(message));
      case 'update':
        return await updateCommand(rest, (message) => new UsageError(message));
      case 'enrol':
        return await enrolCommand(rest, (message) => new UsageError(message));
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
