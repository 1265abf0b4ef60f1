/** Command-line flag helpers the edge CLI and its technician commands share; a UsageError exits with code 2. */

export class UsageError extends Error {}

export type FlagValues = Record<string, string | boolean | undefined>;

export function need(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing --${name}`);
  return value;
}

export function integer(values: Record<string, unknown>, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${String(value)}'`);
  return n;
}

/** HOST or HOST:PORT (an IPv6 literal in brackets). */
export function hostPort(value: string, flag: string, defaultPort: number): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match) throw new UsageError(`--${flag} must be HOST or HOST:PORT, got '${value}'`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`--${flag}: port ${match[2]} is not 1..65535`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `N` or `N-M` (inclusive) within [min, max]. */
export function intRange(value: string, flag: string, min: number, max: number): { from: number; to: number } {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value.trim());
  if (!match) throw new UsageError(`--${flag} must be N or N-M, got '${value}'`);
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (from < min || to > max || from > to) throw new UsageError(`--${flag} ${value}: must be within ${min}-${max}, low to high`);
  return { from, to };
}
