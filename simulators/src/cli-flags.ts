/** Flag helpers shared by the simulators' subcommands (vms, camera). */
import { UsageError } from './loop-command.js';

/** pino levels accepted by --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** An integer flag within min..max; undefined when the flag was not given. */
export function intFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new UsageError(`--${name} must be an integer ${min}..${max}, got '${raw}'`);
  return value;
}
