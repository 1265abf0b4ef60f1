/**
 * The `loop` command of the simulators' command line: its flags, and starting what they ask for.
 * Kept apart from cli.ts (process, signals, stdout) so that it can be tested in-process.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { loadBuiltinProfiles, loadProfileFile, type DeviceProfile } from '@quanlink/device-profiles';
import { startLoopCardBus, type LoopCardBus } from './loop-card/bus.js';
import { resolveProfile, type CardOptions } from './loop-card/card.js';
import { startControlServer, type ControlServer, type ControlledCard } from './loop-card/control.js';
import { FAULT_KINDS, LANE_FAULT_KINDS, checkFault, type LoopCardFault } from './loop-card/faults.js';
import { checkPeriodS } from './loop-card/periods.js';
import { parseScenarioJson, type ScenarioEvent } from './loop-card/scenario.js';
import { startLoopCardSimulator, type LoopCardSimulator } from './loop-card/simulator.js';

export const USAGE = `Usage: node --import tsx simulators/src/cli.ts loop [flags]
       node --import tsx simulators/src/cli.ts vms [flags]     (a guidance screen; vms --help for its flags)

Starts simulated inductive loop cards and an HTTP control endpoint, then prints one JSON line
to stdout. Modbus TCP (default), one port per card:
  {"event":"listening","cards":[{"host","port","unitId","profile"}],"control":"http://127.0.0.1:PORT"}
Modbus RTU (--rtu-serial or --rtu-tcp-port), all cards on one bus with unit ids N, N+1, ...:
  {"event":"listening","bus":{"kind":"rtu-tcp","host","port"}|{"kind":"rtu-serial","path","baudRate"},
   "cards":[{"unitId","profile"}],"control":"..."}

Flags:
  --host HOST           address to listen on (default 127.0.0.1)
  --port N              Modbus TCP port of the first card; card i listens on N+i; 0 = any free port (default 0)
  --rtu-serial PATH     serve the cards as Modbus RTU on this serial device (e.g. one end of a socat pty pair)
  --baud-rate N         baud rate of --rtu-serial (default 19200)
  --rtu-tcp-port N      serve the cards as RTU frames over TCP on this port (a serial-to-Ethernet converter); 0 = any
  --count N             number of cards (default 1)
  --unit-id N           Modbus unit id of the first card; on a bus card i has N+i (default 1)
  --seed N              traffic seed of the first card; card i uses seed+i (default 1)
  --profile ID|FILE     builtin profile id (quanlink-lc8, lanxin-ld4) or a profile YAML (default quanlink-lc8)
  --rate R              mean vehicles per lane per sim second, over a day with --time-of-day (default 0.3)
  --time-of-day P       demand curve: flat or weekday (AM and PM peaks) (default flat)
  --start-hour H        clock hour at sim time 0, e.g. 7 or 17.5 (default 0)
  --platoon-share X     share of vehicles arriving in platoons from an upstream signal, 0..1 (default 0)
  --scenario FILE       JSON scenario: [{"kind":"incident","atS":600,"durationS":900,"lanes":[1,2],"speedKmh":15}]
  --time-scale X        sim seconds per wall second (default 1)
  --duration S          sim seconds after which no new vehicles arrive (default: no limit)
  --window-s S          the cards' aggregation window for occupancy and speed registers (default 1)
  --period-s S          period of GET /periods without ?periodS: 20, 30, 60 ... (default 30)
  --fault CARD:KIND[:ARG][:flagged]
                        a fault from the start, repeatable: 0:silent, 1:exception:4, 0:delay:500, 0:garbage,
                        0:bad-crc, 0:drop, 0:constant, 0:locked-on:2,3, 1:dead:1, 0:chatter:4[:flagged]
  --tick-ms N           wall ms between traffic model updates (default 50)
  --start-paused        start with sim time stopped (resume with POST /resume)
  --control-port N      port of the HTTP control endpoint; 0 = any free port (default 0)
  --log-level LEVEL     pino level for stderr logs (default info)
  -h, --help            show this help

Control endpoint (cards are numbered from 0):
  GET /truth                            ground truth of every card (road and reported counts)
  GET /periods [?periodS=S][&card=N][&fromS=A][&toS=B]   truth per clock-aligned sample period
  POST /pause | /resume | /stop-traffic [?card=N]
  POST /fault {"card":N,"fault":{"kind":"exception","code":4}|{"kind":"delay","ms":500}|{"kind":"silent"}
              |{"kind":"garbage"}|{"kind":"bad-crc"}|{"kind":"drop"}|{"kind":"constant"}
              |{"kind":"locked-on"|"dead"|"chatter","lanes":[1,2],"flagged":false}}
  DELETE /fault [?card=N][&kind=K][&lanes=1,2]
`;

/** A command line the simulators cannot run: exit code 2. */
export class UsageError extends Error {}

export interface LoopCommand {
  host: string;
  port: number;
  rtuSerial: string | undefined;
  baudRate: number;
  rtuTcpPort: number | undefined;
  count: number;
  seed: number;
  rate: number;
  timeOfDay: 'flat' | 'weekday';
  startHour: number;
  platoonShare: number;
  scenarioFile: string | undefined;
  timeScale: number;
  unitId: number;
  durationS: number | undefined;
  windowS: number;
  periodS: number;
  faults: Array<{ card: number; fault: LoopCardFault }>;
  tickMs: number;
  startPaused: boolean;
  profile: string | undefined;
  controlPort: number;
  logLevel: string;
}

function numberFlag(name: string, raw: string | undefined, check: { integer?: boolean; min: number; max?: number; below?: number }): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const max = check.max ?? Infinity;
  const tooHigh = check.below !== undefined ? value >= check.below : value > max;
  if (raw.trim() === '' || !Number.isFinite(value) || (check.integer && !Number.isInteger(value)) || value < check.min || tooHigh) {
    const kind = check.integer ? 'an integer' : 'a number';
    const range = check.below !== undefined ? `${check.min}..${check.below} (exclusive)` : max === Infinity ? `>= ${check.min}` : `${check.min}..${max}`;
    throw new UsageError(`--${name} must be ${kind} ${range}, got '${raw}'`);
  }
  return value;
}

/** `CARD:KIND[:ARG][:flagged]`, e.g. `0:locked-on:2,3` or `1:exception:4`. */
function parseFaultFlag(raw: string, count: number): { card: number; fault: LoopCardFault } {
  const bad = (problem: string): never => {
    throw new UsageError(`--fault '${raw}': ${problem} (expected CARD:KIND[:ARG][:flagged], e.g. 0:locked-on:2,3)`);
  };
  const parts = raw.split(':');
  const [cardText, kind, ...rest] = parts;
  const card = Number(cardText);
  if (cardText === undefined || !/^\d+$/.test(cardText) || card >= count) bad(`card must be 0..${count - 1}`);
  if (kind === undefined || !(FAULT_KINDS as readonly string[]).includes(kind)) bad(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  const flagged = rest[rest.length - 1] === 'flagged';
  if (flagged) rest.pop();
  if (flagged && !(LANE_FAULT_KINDS as readonly string[]).includes(kind!)) bad('only lane faults can be flagged');
  const arg = rest.join(':');
  const needsArg = ['exception', 'delay', ...LANE_FAULT_KINDS].includes(kind!);
  if (needsArg && arg === '') bad(`${kind} needs an argument`);
  if (!needsArg && arg !== '') bad(`${kind} takes no argument`);
  let fault: LoopCardFault;
  if (kind === 'exception') fault = { kind, code: Number(arg) };
  else if (kind === 'delay') fault = { kind, ms: Number(arg) };
  else if ((LANE_FAULT_KINDS as readonly string[]).includes(kind!)) {
    fault = { kind: kind as 'locked-on', lanes: arg.split(',').map(Number), ...(flagged && { flagged }) };
  } else fault = { kind } as LoopCardFault;
  try {
    checkFault(fault);
  } catch (err) {
    bad((err as Error).message);
  }
  return { card, fault };
}

export function parseCommand(argv: string[]): LoopCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'rtu-serial': { type: 'string' },
        'baud-rate': { type: 'string' },
        'rtu-tcp-port': { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        'time-of-day': { type: 'string' },
        'start-hour': { type: 'string' },
        'platoon-share': { type: 'string' },
        scenario: { type: 'string' },
        'time-scale': { type: 'string' },
        'unit-id': { type: 'string' },
        duration: { type: 'string' },
        'window-s': { type: 'string' },
        'period-s': { type: 'string' },
        fault: { type: 'string', multiple: true },
        'tick-ms': { type: 'string' },
        'start-paused': { type: 'boolean' },
        profile: { type: 'string' },
        'control-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (positionals.length === 0) throw new UsageError('missing simulator kind (loop, vms or camera)');
  if (positionals[0] !== 'loop' || positionals.length > 1) throw new UsageError(`unknown simulator '${positionals.join(' ')}' (known: loop, vms, camera)`);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (v['log-level'] !== undefined && !levels.includes(v['log-level'])) {
    throw new UsageError(`--log-level must be one of ${levels.join(', ')}, got '${v['log-level']}'`);
  }
  const count = numberFlag('count', v.count, { integer: true, min: 1, max: 1000 }) ?? 1;
  const port = numberFlag('port', v.port, { integer: true, min: 0, max: 65535 }) ?? 0;
  const rtuTcpPort = numberFlag('rtu-tcp-port', v['rtu-tcp-port'], { integer: true, min: 0, max: 65535 });
  const rtuSerial = v['rtu-serial'];
  if (rtuSerial !== undefined && rtuTcpPort !== undefined) throw new UsageError('--rtu-serial and --rtu-tcp-port exclude each other: one bus per process');
  const onBus = rtuSerial !== undefined || rtuTcpPort !== undefined;
  if (onBus && v.port !== undefined) throw new UsageError('--port is for Modbus TCP cards; a bus listens on --rtu-tcp-port or --rtu-serial');
  if (!onBus && v['baud-rate'] !== undefined) throw new UsageError('--baud-rate needs --rtu-serial');
  if (port > 0 && port + count - 1 > 65535) throw new UsageError(`--port ${port} with --count ${count} goes past port 65535`);
  const unitId = numberFlag('unit-id', v['unit-id'], { integer: true, min: 1, max: onBus ? 247 : 255 }) ?? 1;
  if (onBus && unitId + count - 1 > 247) throw new UsageError(`--unit-id ${unitId} with --count ${count} goes past RTU address 247`);
  const timeOfDay = v['time-of-day'] ?? 'flat';
  if (timeOfDay !== 'flat' && timeOfDay !== 'weekday') throw new UsageError(`--time-of-day must be flat or weekday, got '${timeOfDay}'`);
  const periodS = numberFlag('period-s', v['period-s'], { integer: true, min: 1, max: 3600 }) ?? 30;
  try {
    checkPeriodS(periodS);
  } catch (err) {
    throw new UsageError(`--period-s: ${(err as Error).message}`);
  }
  return {
    host: v.host ?? '127.0.0.1',
    port,
    rtuSerial,
    baudRate: numberFlag('baud-rate', v['baud-rate'], { integer: true, min: 300, max: 4_000_000 }) ?? 19200,
    rtuTcpPort,
    count,
    seed: numberFlag('seed', v.seed, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 }) ?? 1,
    rate: numberFlag('rate', v.rate, { min: 0 }) ?? 0.3,
    timeOfDay,
    startHour: numberFlag('start-hour', v['start-hour'], { min: 0, below: 24 }) ?? 0,
    platoonShare: numberFlag('platoon-share', v['platoon-share'], { min: 0, max: 1 }) ?? 0,
    scenarioFile: v.scenario,
    timeScale: numberFlag('time-scale', v['time-scale'], { min: Number.MIN_VALUE }) ?? 1,
    unitId,
    durationS: numberFlag('duration', v.duration, { min: 0 }),
    windowS: numberFlag('window-s', v['window-s'], { min: Number.MIN_VALUE }) ?? 1,
    periodS,
    faults: (v.fault ?? []).map((raw) => parseFaultFlag(raw, count)),
    tickMs: numberFlag('tick-ms', v['tick-ms'], { min: 1 }) ?? 50,
    startPaused: v['start-paused'] ?? false,
    profile: v.profile,
    controlPort: numberFlag('control-port', v['control-port'], { integer: true, min: 0, max: 65535 }) ?? 0,
    logLevel: v['log-level'] ?? 'info',
  };
}

/** A builtin profile by id, else a profile file. */
async function loadProfile(idOrFile: string | undefined): Promise<DeviceProfile> {
  if (idOrFile === undefined) return resolveProfile(undefined);
  const builtin = await loadBuiltinProfiles();
  const byId = builtin.get(idOrFile);
  if (byId) return byId;
  try {
    return await loadProfileFile(idOrFile);
  } catch (err) {
    throw new Error(`--profile ${idOrFile}: not a builtin profile (${[...builtin.keys()].join(', ')}) and not a loadable file: ${(err as Error).message}`);
  }
}

async function loadScenario(file: string | undefined, profile: DeviceProfile): Promise<ScenarioEvent[] | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`--scenario ${file}: cannot read: ${(err as Error).message}`);
  }
  const lanes = profile.lanes ?? Math.max(0, ...profile.points.map((p) => p.lane ?? 0));
  return parseScenarioJson(text, file, lanes);
}

export interface RunningLoop {
  /** What the listening line says, without its event name. */
  line: Record<string, unknown>;
  close(): Promise<void>;
}

/** Starts the cards and the control endpoint the command asks for; a failure closes what had started. */
export async function startLoop(cmd: LoopCommand, logger: Logger): Promise<RunningLoop> {
  const profile = await loadProfile(cmd.profile);
  const scenario = await loadScenario(cmd.scenarioFile, profile);
  const cardOptions = (i: number): CardOptions => ({
    unitId: cmd.unitId + (cmd.rtuSerial !== undefined || cmd.rtuTcpPort !== undefined ? i : 0),
    seed: cmd.seed + i,
    profile,
    ratePerLane: cmd.rate,
    timeOfDay: cmd.timeOfDay,
    startHour: cmd.startHour,
    platoonShare: cmd.platoonShare,
    timeScale: cmd.timeScale,
    tickMs: cmd.tickMs,
    startPaused: cmd.startPaused,
    aggregationWindowS: cmd.windowS,
    logger: logger.child({ card: i }),
    faults: cmd.faults.filter((f) => f.card === i).map((f) => f.fault),
    ...(scenario && { scenario }),
    ...(cmd.durationS !== undefined && { durationS: cmd.durationS }),
  });

  const simulators: LoopCardSimulator[] = [];
  let bus: LoopCardBus | undefined;
  let control: ControlServer | undefined;
  const close = async (): Promise<void> => {
    await control?.close();
    await Promise.all(simulators.map((c) => c.close()));
    await bus?.close();
  };
  try {
    let cards: readonly ControlledCard[];
    let line: Record<string, unknown>;
    if (cmd.rtuSerial !== undefined || cmd.rtuTcpPort !== undefined) {
      bus = await startLoopCardBus({
        transport: cmd.rtuSerial !== undefined ? { kind: 'rtu-serial', path: cmd.rtuSerial, baudRate: cmd.baudRate } : { kind: 'rtu-tcp', host: cmd.host, port: cmd.rtuTcpPort! },
        cards: Array.from({ length: cmd.count }, (_, i) => cardOptions(i)),
        logger,
      });
      cards = bus.cards;
      line = { bus: bus.transport, cards: cards.map((c) => ({ unitId: c.unitId, profile: c.profileId })) };
    } else {
      for (let i = 0; i < cmd.count; i++) {
        simulators.push(await startLoopCardSimulator({ ...cardOptions(i), host: cmd.host, port: cmd.port > 0 ? cmd.port + i : 0 }));
      }
      cards = simulators;
      line = { cards: simulators.map((c) => ({ host: c.host, port: c.port, unitId: c.unitId, profile: c.profileId })) };
    }
    control = await startControlServer(cards, { port: cmd.controlPort, logger, periodS: cmd.periodS });
    return { line: { ...line, control: control.url }, close };
  } catch (err) {
    await close();
    throw err;
  }
}
