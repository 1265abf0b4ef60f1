/**
 * The `camera` command of the simulators' command line: one simulated IP camera (ONVIF, RTSP,
 * snapshots, WS-Discovery) with its HTTP control endpoint. Kept apart from cli.ts so that it can
 * be tested in-process.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { UsageError } from './loop-command.js';
import { LOG_LEVELS as LEVELS, intFlag } from './cli-flags.js';
import { SCENE_SCENARIOS, type SceneScenarioEvent, type SceneScenarioName } from './camera/scenario.js';
import { DEFAULT_CAMERA_CREDENTIALS, startCameraSimulator } from './camera/simulator.js';
import { DEFAULT_IMAGERY_DIR } from './camera/sprites.js';

export const CAMERA_USAGE = `Usage: node --import tsx simulators/src/cli.ts camera [flags]

Starts one simulated IP camera (a road with lanes and vehicles, ground truth recorded) and its HTTP
control endpoint, then prints one JSON line:
  {"event":"listening","id","onvif","rtsp","snapshot","discovery":{"port","endpoint"}|null,"username","control"}

Flags:
  --id ID                 device id (default cam-1)
  --seed N                traffic seed (default 1)
  --width N --height N    frame size (default 640x360)
  --fps N                 RTSP frame rate (default 10)
  --time-scale X          sim seconds per wall second (default 1)
  --scenario NAME|FILE    ${SCENE_SCENARIOS.join(', ')} (default free-flow), or a JSON file
                          with a list of events, e.g. [{"kind":"queue","lane":1,"atS":5,"durationS":20}]
  --imagery DIR           folder with the vehicle crops (default ${DEFAULT_IMAGERY_DIR})
  --username U            camera user (default ${DEFAULT_CAMERA_CREDENTIALS.username})
  --password P            camera password (default the fixed test password; see the simulators README)
  --host HOST             address to listen on (default 127.0.0.1)
  --advertised-host HOST  host put in ONVIF XAddrs and stream URIs (default --host)
  --onvif-port N          ONVIF/snapshot HTTP port; 0 = any free port (default 0)
  --rtsp-port N           RTSP port; 0 = any free port (default 0)
  --discovery-port N|off  WS-Discovery UDP port (default 3702); off = no responder
  --multicast             join the WS-Discovery multicast group 239.255.255.250
  --control-port N        port of the HTTP control endpoint; 0 = any free port (default 0)
  --log-level LEVEL       pino level for stderr logs (default info)
  -h, --help              show this help

Control endpoint:
  GET    /state /truth /lines /snapshot.jpg
  POST   /faults {"stall":true,"disconnect":true,"wrongCredentials":true,"malformedSoap":true}  (any subset)
  DELETE /faults
`;

export interface CameraCommand {
  id: string;
  seed: number;
  width: number;
  height: number;
  fps: number;
  timeScale: number;
  scenario: string;
  imageryDir: string | undefined;
  username: string;
  password: string;
  host: string;
  advertisedHost: string | undefined;
  onvifPort: number;
  rtspPort: number;
  discoveryPort: number | null;
  multicast: boolean;
  controlPort: number;
  logLevel: string;
}


/** argv after the kind ('camera'). */
export function parseCameraCommand(argv: string[]): CameraCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        id: { type: 'string' },
        seed: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        fps: { type: 'string' },
        'time-scale': { type: 'string' },
        scenario: { type: 'string' },
        imagery: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        host: { type: 'string' },
        'advertised-host': { type: 'string' },
        'onvif-port': { type: 'string' },
        'rtsp-port': { type: 'string' },
        'discovery-port': { type: 'string' },
        multicast: { type: 'boolean' },
        'control-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v['log-level'] !== undefined && !LEVELS.includes(v['log-level'])) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got '${v['log-level']}'`);
  const timeScale = v['time-scale'] === undefined ? 1 : Number(v['time-scale']);
  if (!(timeScale > 0 && timeScale <= 1000)) throw new UsageError(`--time-scale must be a number in (0, 1000], got '${v['time-scale']}'`);
  const discovery = v['discovery-port'];
  if (discovery === 'off' && v.multicast) throw new UsageError('--multicast needs a discovery port (not --discovery-port off)');
  return {
    id: v.id ?? 'cam-1',
    seed: intFlag('seed', v.seed, 0, 2 ** 31 - 1) ?? 1,
    width: intFlag('width', v.width, 64, 4096) ?? 640,
    height: intFlag('height', v.height, 64, 4096) ?? 360,
    fps: intFlag('fps', v.fps, 1, 60) ?? 10,
    timeScale,
    scenario: v.scenario ?? 'free-flow',
    imageryDir: v.imagery,
    username: v.username ?? DEFAULT_CAMERA_CREDENTIALS.username,
    password: v.password ?? DEFAULT_CAMERA_CREDENTIALS.password,
    host: v.host ?? '127.0.0.1',
    advertisedHost: v['advertised-host'],
    onvifPort: intFlag('onvif-port', v['onvif-port'], 0, 65535) ?? 0,
    rtspPort: intFlag('rtsp-port', v['rtsp-port'], 0, 65535) ?? 0,
    discoveryPort: discovery === 'off' ? null : intFlag('discovery-port', discovery, 0, 65535) ?? 3702,
    multicast: v.multicast === true,
    controlPort: intFlag('control-port', v['control-port'], 0, 65535) ?? 0,
    logLevel: v['log-level'] ?? 'info',
  };
}

/** A scenario name, or a JSON file holding a list of events (or {"scenario": [...]}). */
async function loadScenario(spec: string): Promise<SceneScenarioName | SceneScenarioEvent[]> {
  if ((SCENE_SCENARIOS as readonly string[]).includes(spec)) return spec as SceneScenarioName;
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch (err) {
    throw new UsageError(`--scenario '${spec}' is neither a scenario (${SCENE_SCENARIOS.join(', ')}) nor a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--scenario ${spec}: not valid JSON (${(err as Error).message})`);
  }
  return (Array.isArray(parsed) ? parsed : (parsed as { scenario?: unknown } | null)?.scenario) as SceneScenarioEvent[];
}

/** Starts the camera; the returned line is the listening line without its event name. */
export async function startCamera(cmd: CameraCommand, logger: Logger): Promise<{ line: Record<string, unknown>; close(): Promise<void> }> {
  const sim = await startCameraSimulator({
    id: cmd.id,
    seed: cmd.seed,
    width: cmd.width,
    height: cmd.height,
    fps: cmd.fps,
    timeScale: cmd.timeScale,
    scenario: await loadScenario(cmd.scenario),
    ...(cmd.imageryDir !== undefined && { imageryDir: cmd.imageryDir }),
    credentials: { username: cmd.username, password: cmd.password },
    host: cmd.host,
    ...(cmd.advertisedHost !== undefined && { advertisedHost: cmd.advertisedHost }),
    onvifPort: cmd.onvifPort,
    rtspPort: cmd.rtspPort,
    discoveryPort: cmd.discoveryPort,
    multicast: cmd.multicast,
    controlPort: cmd.controlPort,
    logger,
  });
  return {
    line: {
      id: sim.id,
      onvif: sim.onvifUrl,
      rtsp: sim.rtspUrl,
      snapshot: sim.snapshotUrl,
      discovery: sim.discovery ? { port: sim.discovery.port, endpoint: sim.discovery.endpoint } : null,
      username: cmd.username,
      control: sim.controlUrl,
    },
    close: () => sim.close(),
  };
}
