import type { Logger } from 'pino';

/** Resolves on the first SIGINT or SIGTERM, logged: how the long-running commands (run, supervise) wait. */
export function untilStopSignal(logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
