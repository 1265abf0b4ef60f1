/**
 * Command line for the simulators:
 *   node --import tsx simulators/src/cli.ts loop [flags]
 *   node --import tsx simulators/src/cli.ts vms [flags]
 *   node --import tsx simulators/src/cli.ts camera [flags]
 * Prints one JSON line to stdout once everything listens; logs go to stderr.
 */
import { pino } from 'pino';
import { USAGE, UsageError, parseCommand, startLoop } from './loop-command.js';
import { VMS_USAGE, parseVmsCommand, startVms } from './vms-command.js';
import { CAMERA_USAGE, parseCameraCommand, startCamera } from './camera-command.js';

/** One simulator kind: its parsed command, its help, and how to start it. */
interface Command {
  logLevel: string;
  start(logger: pino.Logger): Promise<{ line: Record<string, unknown>; close(): Promise<void> }>;
}

function parse(argv: string[]): Command | { help: string } {
  if (argv[0] === 'vms') {
    const cmd = parseVmsCommand(argv.slice(1));
    if (cmd === 'help') return { help: VMS_USAGE };
    return { logLevel: cmd.logLevel, start: (logger) => startVms(cmd, logger) };
  }
  if (argv[0] === 'camera') {
    const cmd = parseCameraCommand(argv.slice(1));
    if (cmd === 'help') return { help: CAMERA_USAGE };
    return { logLevel: cmd.logLevel, start: (logger) => startCamera(cmd, logger) };
  }
  const cmd = parseCommand(argv);
  if (cmd === 'help') return { help: USAGE };
  return { logLevel: cmd.logLevel, start: (logger) => startLoop(cmd, logger) };
}

async function main(argv: string[]): Promise<void> {
  let cmd: Command | { help: string };
  try {
    cmd = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`simulators: ${err.message}\nRun with --help for usage.\n`);
    process.exit(2);
  }
  if ('help' in cmd) {
    process.stdout.write(cmd.help);
    return;
  }
  const logger = pino({ name: 'simulators', level: cmd.logLevel }, pino.destination(2));
  try {
    const running = await cmd.start(logger);
    let stopping = false;
    const shutdown = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      logger.info({ operation: 'shutdown', signal }, 'stopping simulators');
      await running.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.stdout.write(`${JSON.stringify({ event: 'listening', ...running.line })}\n`);
  } catch (err) {
    logger.error({ operation: 'start', err }, `could not start: ${(err as Error).message}`);
    process.stderr.write(`simulators: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
