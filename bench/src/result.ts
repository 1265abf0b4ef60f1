/** The benchmark result format of ../shared/DESIGN.md, written to bench/results/NAME.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  baseline: { what: string; value: number };
  /** value / baseline.value (or the inverse for times, as `unit` says). */
  ratio: number;
  aim: { ratio: number; value: number };
  details: Record<string, unknown>;
  at: string;
  command: string;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function writeResult(result: BenchResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${result.name}.json`;
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A progress line on stderr that rewrites itself. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
  else process.stderr.write(`${text}\n`);
}
