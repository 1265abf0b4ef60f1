/**
 * The technician's commands of quanlink-edge: discover, bind, test, status. Each parses its flags,
 * prints a table (or --json for scripts) on stdout and progress on stderr, and returns its exit code:
 *   discover  0 found something, 3 found nothing, 1 error
 *   bind      0 bound, 1 the device failed its test (nothing changed)
 *   test      0 every check passed, 1 some failed
 *   status    0 agent running, every device ok and the cloud link up; 4 running but not all healthy; 1 agent not running
 * Bad usage is a UsageError (exit 2, from cli.ts).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DeviceProfile } from '@quanlink/device-profiles';
import { ConfigFile, type DeviceBinding, type Transport } from '../config/index.js';
import { describeEndpoint } from '../devices/drivers.js';
import { discover as onvifDiscover, OnvifError, type DiscoveredCamera } from '../video/onvif.js';
import { addBinding, bindingFromFlags, DEVICE_FLAGS, hasTransportFlags } from './device-flags.js';
import { testDevice, type DeviceTestReport } from './device-test.js';
import { DEFAULT_LOCAL_API_PORT, deviceRows, type LocalStatus } from './local-api.js';
import { describeTarget, scanModbus, type FoundUnit, type ScanResult, type ScanTarget } from './modbus-scan.js';
import { knownProfiles } from './profiles.js';
import { Progress } from './progress.js';
import { formatTable } from './table.js';
import { hostPort, integer, intRange, need, UsageError } from './usage.js';

export const TECHNICIAN_USAGE = `
technician tools (exit codes: 0 ok, 1 failed, 2 bad usage; discover 3 = found nothing; status 4 = not all healthy):
  discover [--modbus HOST:PORT[-PORT][,...] [--rtu-over-tcp]] [--serial PATH [--baud N]] [--units N-M]
       [--onvif] [--onvif-probe HOST:PORT] [--timeout-ms N] [--concurrency N] [--config FILE] [--json]
                                         find devices: Modbus units probed (default units 1-247, ${300} ms each)
                                         and identified against the profiles; ONVIF cameras by WS-Discovery
                                         (the default when no Modbus target is given)
  bind --config FILE --id ID --profile PROFILE <transport flags as device add> [--no-test] [--json]
                                         device add, after a test that the device answers and matches the profile
  test --config FILE --device ID [--out FILE] [--message MULTI] [--show] [--json]
  test [--config FILE] --profile PROFILE <transport flags as device add> [--out FILE] ...
                                         read once through the profile: a loop card's lane values; a screen's
                                         state and a preview PNG of --message to --out (--show also displays it);
                                         a camera's snapshot JPEG to --out and the detector run once
  status --config FILE [--json] [--watch] [--interval-ms N]
                                         every device's health and the cloud link, from the running agent's
                                         local status API (config localApi.port, default ${DEFAULT_LOCAL_API_PORT})
`;

const DEFAULT_PROBE_TIMEOUT_MS = 300;

// ---------------------------------------------------------------------------------------------- discover

function scanTargets(values: Record<string, string | boolean | undefined>): ScanTarget[] {
  const targets: ScanTarget[] = [];
  const baudRate = integer(values, 'baud');
  const modbus = values.modbus;
  if (typeof modbus === 'string') {
    for (const item of modbus.split(',').map((s) => s.trim()).filter(Boolean)) {
      const range = /^(.*):(\d{1,5})-(\d{1,5})$/.exec(item);
      const ports = range ? intRange(`${range[2]}-${range[3]}`, 'modbus', 1, 65535) : undefined;
      const { host, port } = hostPort(range ? `${range[1]}:${range[2]}` : item, 'modbus', 502);
      if (ports && ports.to - ports.from >= 1024) throw new UsageError(`--modbus ${item}: at most 1024 ports in one range`);
      for (let p = ports?.from ?? port; p <= (ports?.to ?? port); p++) {
        targets.push(values['rtu-over-tcp'] ? { kind: 'modbus-rtu-tcp', host, port: p, ...(baudRate !== undefined ? { baudRate } : {}) } : { kind: 'modbus-tcp', host, port: p });
      }
    }
    if (targets.length === 0) throw new UsageError('--modbus needs HOST:PORT');
  } else if (values['rtu-over-tcp']) throw new UsageError('--rtu-over-tcp goes with --modbus HOST:PORT (the converter)');
  if (typeof values.serial === 'string') targets.push({ kind: 'modbus-rtu', path: values.serial, ...(baudRate !== undefined ? { baudRate } : {}) });
  else if (baudRate !== undefined && !values['rtu-over-tcp']) throw new UsageError('--baud goes with --serial PATH or --rtu-over-tcp');
  return targets;
}

/** The flags of `bind` (and `device add`) that reach this transport. */
export function transportFlags(transport: Transport): string[] {
  switch (transport.kind) {
    case 'modbus-tcp':
      return ['--host', transport.host, '--port', String(transport.port), ...(transport.unitId !== undefined ? ['--unit-id', String(transport.unitId)] : [])];
    case 'modbus-rtu-tcp':
      return ['--rtu-over-tcp', '--host', transport.host, '--port', String(transport.port), '--unit-id', String(transport.unitId), ...(transport.baudRate ? ['--baud', String(transport.baudRate)] : [])];
    case 'modbus-rtu':
      return ['--serial', transport.path, '--unit-id', String(transport.unitId), ...(transport.baudRate ? ['--baud', String(transport.baudRate)] : [])];
    case 'onvif':
      return ['--onvif', `${transport.host.includes(':') ? `[${transport.host}]` : transport.host}:${transport.port}`];
    case 'rtsp':
      return ['--rtsp-url', transport.url];
    case 'mqtt':
      return ['--mqtt-url', transport.url, ...(transport.topicBase ? ['--topic-base', transport.topicBase] : [])];
  }
}

/** A camera's ONVIF host:port from its first device service address. */
function cameraTransport(camera: DiscoveredCamera): Transport | undefined {
  try {
    const url = new URL(camera.xaddrs[0] ?? '');
    return { kind: 'onvif', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
  } catch {
    return undefined;
  }
}

export async function discoverCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      modbus: { type: 'string' },
      'rtu-over-tcp': { type: 'boolean' },
      serial: { type: 'string' },
      baud: { type: 'string' },
      units: { type: 'string' },
      onvif: { type: 'boolean' },
      'onvif-probe': { type: 'string' },
      'onvif-wait-ms': { type: 'string' },
      'timeout-ms': { type: 'string' },
      concurrency: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const targets = scanTargets(values);
  const units = intRange(values.units ?? '1-247', 'units', 0, 255);
  const timeoutMs = integer(values, 'timeout-ms') ?? DEFAULT_PROBE_TIMEOUT_MS;
  if (timeoutMs < 20 || timeoutMs > 10_000) throw new UsageError(`--timeout-ms must be 20..10000, got ${timeoutMs}`);
  const concurrency = integer(values, 'concurrency') ?? 4;
  if (concurrency < 1 || concurrency > 32) throw new UsageError(`--concurrency must be 1..32, got ${concurrency}`);
  const onvifWaitMs = integer(values, 'onvif-wait-ms') ?? 3000;
  if (onvifWaitMs < 100 || onvifWaitMs > 60_000) throw new UsageError(`--onvif-wait-ms must be 100..60000, got ${onvifWaitMs}`);
  const withOnvif = values.onvif === true || values['onvif-probe'] !== undefined || targets.length === 0;
  const onvifProbe = values['onvif-probe'] !== undefined ? hostPort(values['onvif-probe'], 'onvif-probe', 3702) : undefined;
  const config = values.config !== undefined ? await ConfigFile.load(values.config) : undefined;
  const profiles = [...(await knownProfiles(config)).values()];

  const errors: string[] = [];
  let cameras: DiscoveredCamera[] = [];
  const cameraSearch = withOnvif
    ? onvifDiscover({ timeoutMs: onvifWaitMs, ...(onvifProbe ? { probe: onvifProbe } : {}) }).then(
        (found) => void (cameras = found),
        (err: unknown) => {
          if (!(err instanceof OnvifError)) throw err;
          errors.push(err.message);
        },
      )
    : Promise.resolve();
  let scan: ScanResult = { units: [], unreachable: [] };
  if (targets.length > 0) {
    const progress = new Progress('scanning Modbus', targets.length * (units.to - units.from + 1));
    scan = await scanModbus({ targets, units, timeoutMs, profiles, concurrency, onUnit: (note) => progress.tick(note) });
    progress.finish(`${scan.units.length} unit(s) answered`);
  }
  await cameraSearch;

  const found = [
    ...scan.units.map((unit) => ({ ...unit, bind: unit.matches[0] ? ['--profile', unit.matches[0].profile, ...transportFlags(unit.transport)] : undefined })),
  ];
  const cameraRows = cameras.map((camera) => {
    const transport = cameraTransport(camera);
    return { ...camera, profile: 'onvif-camera', ...(transport ? { transport, bind: ['--profile', 'onvif-camera', ...transportFlags(transport)] } : {}) };
  });
  for (const { target, reason } of scan.unreachable) errors.push(`${target}: unreachable: ${reason}`);

  if (values.json) {
    console.log(JSON.stringify({ modbus: found, cameras: cameraRows, unreachable: scan.unreachable, errors }));
  } else {
    for (const error of errors) console.error(`quanlink-edge: ${error}`);
    if (found.length + cameraRows.length === 0) {
      console.log(`nothing found${targets.length ? ` (Modbus: ${targets.map(describeTarget).join(', ')}, units ${units.from}-${units.to})` : ''}${withOnvif ? `${targets.length ? ';' : ''} no ONVIF camera answered` : ''}`);
    } else {
      const rows = [
        ...found.map((u) => [u.address, u.unitId, u.matches.map((m) => m.profile).join(', ') || 'unknown', u.matches[0]?.confidence ?? 'none', unitNotes(u)]),
        ...cameraRows.map((c) => [c.xaddrs.join(' '), '-', c.profile, 'high', [c.name, c.hardware].filter(Boolean).join(' ') || c.urn]),
      ];
      console.log(formatTable(['ADDRESS', 'UNIT', 'PROFILE', 'CONFIDENCE', 'NOTES'], rows));
      const hints = [...found, ...cameraRows].filter((x) => x.bind).map((x) => `  quanlink-edge bind --config FILE --id ID ${x.bind!.join(' ')}`);
      if (hints.length) console.log(`\nbind with:\n${hints.join('\n')}`);
    }
  }
  if (found.length + cameraRows.length > 0) return 0;
  return errors.length > 0 && targets.length === 0 ? 1 : 3;
}

function unitNotes(unit: FoundUnit): string {
  if (unit.matches.length > 0) return unit.matches[0]!.confidence === 'high' ? 'model id matches' : 'register layout matches (no model id)';
  return `answers (${unit.probe}) but matches no known profile: ${unit.misses.map((m) => `${m.profile}: ${m.reason}`).join('; ') || 'no profile says how to identify it'}`;
}

// ---------------------------------------------------------------------------------------------- test and bind

function printReport(report: DeviceTestReport): void {
  console.log(`device ${report.device} (${report.profile}, ${report.endpoint})`);
  if (report.lanes) {
    const { device: cardWide, ...lanes } = report.lanes;
    if (cardWide) console.log(Object.entries(cardWide).map(([k, v]) => `${k} ${v}`).join(', '));
    const columns = [...new Set(Object.values(lanes).flatMap((v) => Object.keys(v)))];
    if (columns.length) console.log(formatTable(['LANE', ...columns.map((c) => c.toUpperCase())], Object.entries(lanes).map(([lane, v]) => [lane, ...columns.map((c) => v[c])])));
  }
  if (report.detections?.length) console.log(formatTable(['LABEL', 'SCORE', 'BOX'], report.detections.map((d) => [d.label, d.score, d.box.join(',')])));
  console.log(formatTable(['CHECK', 'RESULT', 'DETAIL'], report.checks.map((c) => [c.check, c.ok ? 'pass' : 'FAIL', c.detail])));
  const failed = report.checks.filter((c) => !c.ok).length;
  console.log(report.ok ? 'PASS' : `FAIL: ${failed} of ${report.checks.length} checks failed`);
}

function profileOf(known: ReadonlyMap<string, DeviceProfile>, binding: DeviceBinding): DeviceProfile {
  const profile = known.get(binding.profile);
  if (!profile) throw new UsageError(`device ${binding.id}: unknown profile '${binding.profile}' (known: ${[...known.keys()].join(', ')})`);
  return profile;
}

const TEST_FLAGS = {
  out: { type: 'string' },
  message: { type: 'string' },
  show: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function testCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, device: { type: 'string' }, ...DEVICE_FLAGS, ...TEST_FLAGS }, strict: true });
  const config = values.config !== undefined ? await ConfigFile.load(values.config) : undefined;
  const known = await knownProfiles(config);
  let binding: DeviceBinding;
  if (values.device !== undefined) {
    if (!config) throw new UsageError('--device needs --config FILE (the device is looked up there)');
    if (hasTransportFlags(values)) throw new UsageError('give --device ID (a bound device) or transport flags (an unbound one), not both');
    const bound = config.data.devices.find((d) => d.id === values.device);
    if (!bound) throw new UsageError(`no device '${values.device}' in ${config.file} (bound: ${config.data.devices.map((d) => d.id).join(', ') || 'none'})`);
    binding = bound;
  } else {
    if (!hasTransportFlags(values)) throw new UsageError('give --device ID, or --profile with transport flags as device add');
    binding = await bindingFromFlags({ ...values, id: values.id ?? 'unbound' }, { known, mayBeInProfileDirs: false, cameraNeedsModel: false });
  }
  const report = await testDevice(binding, profileOf(known, binding), {
    gatewayId: config?.data.gateway.id ?? 'local',
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.message !== undefined ? { message: values.message } : {}),
    ...(values.show ? { show: true } : {}),
    ...(config ? { resolvePath: (path: string) => config.resolvePath(path) } : {}),
  });
  if (values.json) console.log(JSON.stringify(report));
  else printReport(report);
  return report.ok ? 0 : 1;
}

export async function bindCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, 'no-test': { type: 'boolean' }, json: { type: 'boolean' }, ...DEVICE_FLAGS }, strict: true });
  const config = await ConfigFile.load(need(values, 'config'));
  const known = await knownProfiles(config);
  const binding = await bindingFromFlags(values, { known, mayBeInProfileDirs: false });
  if (config.data.devices.some((d) => d.id === binding.id)) throw new UsageError(`device '${binding.id}' is already bound; remove it first`);
  let report: DeviceTestReport | undefined;
  if (!values['no-test']) {
    report = await testDevice(binding, profileOf(known, binding), { gatewayId: config.data.gateway.id, resolvePath: (path) => config.resolvePath(path) });
    if (!report.ok) {
      if (values.json) console.log(JSON.stringify({ bound: false, device: binding.id, test: report }));
      else {
        printReport(report);
        console.error(`quanlink-edge: device ${binding.id} not bound: it failed its test as ${binding.profile} (bind --no-test binds it anyway)`);
      }
      return 1;
    }
  }
  await addBinding(config, binding);
  if (values.json) console.log(JSON.stringify({ bound: true, device: binding.id, profile: binding.profile, endpoint: describeEndpoint(binding, known.get(binding.profile)), ...(report ? { test: report } : {}) }));
  else {
    if (report) printReport(report);
    console.log(`bound ${binding.id} (${binding.profile}, ${describeEndpoint(binding, known.get(binding.profile))}) in ${config.file}${report ? '' : ' without a test'}`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------- status

type StatusAnswer = { running: true; status: LocalStatus } | { running: false; reason: string };

async function fetchStatus(url: string, gateway: string): Promise<StatusAnswer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { running: false, reason: `no agent answers on ${url} (${cause?.code ?? cause?.message ?? (err as Error).message})` };
  }
  if (!response.ok) return { running: false, reason: `${url} answered HTTP ${response.status}` };
  const status = (await response.json()) as LocalStatus;
  if (status.gateway !== gateway) return { running: false, reason: `the agent on ${url} is gateway '${status.gateway}', not '${gateway}' (two agents configured with one local API port?)` };
  return { running: true, status };
}

function healthy(status: LocalStatus): boolean {
  return status.link.connected && status.skipped.length === 0 && deviceRows(status).every((d) => d.health === 'ok');
}

function printStatus(config: ConfigFile, answer: StatusAnswer): void {
  const ago = (ts: number | undefined, now: number) => (ts === undefined ? '-' : `${Math.max(0, Math.round((now - ts) / 1000))} s ago`);
  if (!answer.running) {
    console.log(`gateway ${config.data.gateway.id}: agent not running (${answer.reason})`);
    console.log(formatTable(['LINK', 'CLOUD'], [['agent not running', config.data.cloud.url]]));
    console.log(formatTable(['DEVICE', 'PROFILE', 'HEALTH', 'DETAIL'], config.data.devices.map((d) => [d.id, d.profile, 'agent not running', d.enabled === false ? 'disabled' : describeEndpoint(d)])));
    return;
  }
  const { status } = answer;
  console.log(`gateway ${status.gateway}: agent ${status.agentVersion} running`);
  const { link, outbox } = status;
  console.log(
    formatTable(
      ['LINK', 'LAST ACK', 'OUTBOX DEPTH', 'RECONNECTS', 'ROUND TRIP'],
      [[link.connected ? 'connected' : (link.refused ?? 'disconnected'), link.lastAck ? `seq ${link.lastAck.upTo}, ${ago(link.lastAck.at, status.at)}` : 'none yet', outbox.depth, link.reconnects, link.ackRttMs === undefined ? undefined : `${Math.round(link.ackRttMs)} ms`]],
    ),
  );
  const rows = deviceRows(status);
  const running = new Set(rows.map((r) => r.device));
  const notRunning = config.data.devices.filter((d) => !running.has(d.id)).map((d) => ({ device: d.id, kind: '-', profile: d.profile, health: d.enabled === false ? 'disabled' : 'not started', detail: 'not in the running agent (restart it to pick up config changes)' }));
  console.log(formatTable(['DEVICE', 'KIND', 'PROFILE', 'HEALTH', 'DETAIL'], [...rows, ...notRunning].map((r) => [r.device, r.kind, r.profile, r.health, r.detail])));
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, json: { type: 'boolean' }, watch: { type: 'boolean' }, 'interval-ms': { type: 'string' } }, strict: true });
  const file = need(values, 'config');
  if (!existsSync(file)) throw new UsageError(`no config file ${file}`);
  const config = await ConfigFile.load(file);
  const intervalMs = integer(values, 'interval-ms') ?? 2000;
  if (intervalMs < 200 || intervalMs > 3_600_000) throw new UsageError(`--interval-ms must be 200..3600000, got ${intervalMs}`);
  const { port = DEFAULT_LOCAL_API_PORT, host = '127.0.0.1' } = config.data.localApi ?? {};
  if (port === 0) {
    console.error(`quanlink-edge: the local status API is off in ${config.file} (localApi.port 0): status cannot ask the agent`);
    return 1;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/status`;
  const once = async (): Promise<number> => {
    const answer = await fetchStatus(url, config.data.gateway.id);
    if (values.json) {
      console.log(JSON.stringify(answer.running ? { running: true, ...answer.status } : { running: false, reason: answer.reason, gateway: config.data.gateway.id, devices: config.data.devices.map((d) => ({ device: d.id, profile: d.profile, health: 'agent not running' })) }));
    } else printStatus(config, answer);
    return !answer.running ? 1 : healthy(answer.status) ? 0 : 4;
  };
  if (!values.watch) return once();
  let code = 0;
  let stop = false;
  const stopping = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve(void (stop = true)));
    // Piped into head or less that quit: stop watching, quietly.
    process.stdout.once('error', () => resolve(void (stop = true)));
  });
  while (!stop) {
    if (process.stdout.isTTY && !values.json) process.stdout.write('\x1b[2J\x1b[H');
    code = await once();
    if (!process.stdout.isTTY && !values.json) console.log('');
    await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), stopping]);
  }
  return code;
}

export const TECHNICIAN_COMMANDS = {
  discover: discoverCommand,
  bind: bindCommand,
  test: testCommand,
  status: statusCommand,
} as const satisfies Record<string, (args: string[]) => Promise<number>>;
