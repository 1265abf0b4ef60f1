/**
 * Command line for the simulators:
 *   node --import tsx simulators/src/cli.ts loop [flags]
 * Prints one JSON line to stdout once everything listens; logs go to stderr.
 */
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { loadProfileFile, type DeviceProfile } from '@quanlink/device-profiles';
import { startControlServer, type ControlServer } from './loop-card/control.js';
import { startLoopCardSimulator, type LoopCardSimulator } from './loop-card/simulator.js';

const USAGE = `Usage: node --import tsx simulators/src/cli.ts loop [flags]

Starts simulated inductive loop cards (Modbus TCP) and an HTTP control endpoint, then prints
one JSON line to stdout:
  {"event":"listening","cards":[{"host","port","unitId"}],"control":"http://127.0.0.1:PORT"}

Flags:
  --host HOST           address to listen on (default 127.0.0.1)
  --port N              Modbus port of the first card; card i listens on N+i; 0 = any free port (default 0)
  --count N             number of cards (default 1)
  --seed N              traffic seed of the first card; card i uses seed+i (default 1)
  --rate R              vehicles per lane per sim second (default 0.3)
  --time-scale X        sim seconds per wall second (default 1)
  --unit-id N           Modbus unit id the cards answer, 1..255 (default 1)
  --duration S          sim seconds after which no new vehicles arrive (default: no limit)
  --tick-ms N           wall ms between traffic model updates (default 50)
  --start-paused        start with sim time stopped (resume with POST /resume)
  --profile FILE        device profile YAML (default: builtin quanlink-lc8)
  --control-port N      port of the HTTP control endpoint; 0 = any free port (default 0)
  --log-level LEVEL     pino level for stderr logs (default info)
  -h, --help            show this help

Control endpoint (cards are numbered from 0):
  GET /truth                            ground truth of every card
  POST /pause | /resume | /stop-traffic [?card=N]
  POST /fault {"card":N,"fault":{"kind":"exception","code":4}|{"kind":"delay","ms":500}|{"kind":"silent"}|{"kind":"garbage"}}
  DELETE /fault [?card=N]
`;

class UsageError extends Error {}

interface LoopCommand {
  host: string;
  port: number;
  count: number;
  seed: number;
  rate: number;
  timeScale: number;
  unitId: number;
  durationS: number | undefined;
  tickMs: number;
  startPaused: boolean;
  profileFile: string | undefined;
  controlPort: number;
  logLevel: string;
}

function numberFlag(name: string, raw: string | undefined, check: { integer?: boolean; min: number; max?: number }): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const max = check.max ?? Infinity;
  if (raw.trim() === '' || !Number.isFinite(value) || (check.integer && !Number.isInteger(value)) || value < check.min || value > max) {
    const kind = check.integer ? 'an integer' : 'a number';
    const range = max === Infinity ? `>= ${check.min}` : `${check.min}..${max}`;
    throw new UsageError(`--${name} must be ${kind} ${range}, got '${raw}'`);
  }
  return value;
}

function parseCommand(argv: string[]): LoopCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        'time-scale': { type: 'string' },
        'unit-id': { type: 'string' },
        duration: { type: 'string' },
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
  if (positionals.length === 0) throw new UsageError('missing simulator kind (loop)');
  if (positionals[0] !== 'loop' || positionals.length > 1) throw new UsageError(`unknown simulator '${positionals.join(' ')}' (known: loop)`);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (v['log-level'] !== undefined && !levels.includes(v['log-level'])) {
    throw new UsageError(`--log-level must be one of ${levels.join(', ')}, got '${v['log-level']}'`);
  }
  const count = numberFlag('count', v.count, { integer: true, min: 1, max: 1000 }) ?? 1;
  const port = numberFlag('port', v.port, { integer: true, min: 0, max: 65535 }) ?? 0;
  if (port > 0 && port + count - 1 > 65535) throw new UsageError(`--port ${port} with --count ${count} goes past port 65535`);
  return {
    host: v.host ?? '127.0.0.1',
    port,
    count,
    seed: numberFlag('seed', v.seed, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 }) ?? 1,
    rate: numberFlag('rate', v.rate, { min: 0 }) ?? 0.3,
    timeScale: numberFlag('time-scale', v['time-scale'], { min: Number.MIN_VALUE }) ?? 1,
    unitId: numberFlag('unit-id', v['unit-id'], { integer: true, min: 1, max: 255 }) ?? 1,
    durationS: numberFlag('duration', v.duration, { min: 0 }),
    tickMs: numberFlag('tick-ms', v['tick-ms'], { min: 1 }) ?? 50,
    startPaused: v['start-paused'] ?? false,
    profileFile: v.profile,
    controlPort: numberFlag('control-port', v['control-port'], { integer: true, min: 0, max: 65535 }) ?? 0,
    logLevel: v['log-level'] ?? 'info',
  };
}

async function runLoop(cmd: LoopCommand, logger: Logger): Promise<void> {
  const profile: DeviceProfile | undefined = cmd.profileFile ? await loadProfileFile(cmd.profileFile) : undefined;
  const cards: LoopCardSimulator[] = [];
  let control: ControlServer | undefined;
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ operation: 'shutdown', signal }, 'stopping simulators');
    await control?.close();
    await Promise.all(cards.map((c) => c.close()));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  for (let i = 0; i < cmd.count; i++) {
    cards.push(
      await startLoopCardSimulator({
        host: cmd.host,
        port: cmd.port > 0 ? cmd.port + i : 0,
        unitId: cmd.unitId,
        seed: cmd.seed + i,
        ratePerLane: cmd.rate,
        timeScale: cmd.timeScale,
        tickMs: cmd.tickMs,
        startPaused: cmd.startPaused,
        logger: logger.child({ card: i }),
        ...(profile && { profile }),
        ...(cmd.durationS !== undefined && { durationS: cmd.durationS }),
      }),
    );
  }
  control = await startControlServer(cards, { port: cmd.controlPort, logger });
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', cards: cards.map((c) => ({ host: c.host, port: c.port, unitId: c.unitId })), control: control.url })}\n`,
  );
}

async function main(argv: string[]): Promise<void> {
  let cmd: LoopCommand | 'help';
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`simulators: ${err.message}\nRun with --help for usage.\n`);
    process.exit(2);
  }
  if (cmd === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const logger = pino({ name: 'simulators', level: cmd.logLevel }, pino.destination(2));
  try {
    await runLoop(cmd, logger);
  } catch (err) {
    logger.error({ operation: 'start', err }, `could not start: ${(err as Error).message}`);
    process.stderr.write(`simulators: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
