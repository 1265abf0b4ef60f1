import pino, { type Logger } from 'pino';

/** The default logger: structured JSON on stderr (stdout is kept for machine-readable output of the CLI). */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'quanlink-cloud', level }, pino.destination(2));
}
