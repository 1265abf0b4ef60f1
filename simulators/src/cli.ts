/**
 * Command line for the simulators:
 *   node --import tsx simulators/src/cli.ts loop [flags]
 * Prints one JSON line to stdout once everything listens; logs go to stderr.
 */
import { pino } from 'pino';
import { USAGE, UsageError, parseCommand, startLoop, type LoopCommand } from './loop-command.js';

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
    const running = await startLoop(cmd, logger);
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
