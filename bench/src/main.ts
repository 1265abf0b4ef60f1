/**
 * npm run bench -- NAME [flags]: runs one benchmark and writes bench/results/NAME.json.
 * Each benchmark is a module bench/src/benchmarks/NAME.ts exporting `run(args): Promise<BenchResult>`.
 */
import { readdirSync } from 'node:fs';
import type { BenchResult } from './result.js';
import { writeResult } from './result.js';

const available = readdirSync(new URL('./benchmarks/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const [name, ...args] = process.argv.slice(2);

if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [flags]\nbenchmarks: ${available.join(', ')}`);
  process.exit(name ? 2 : 0);
}

const module = (await import(`./benchmarks/${name}.ts`)) as { run(args: string[]): Promise<BenchResult> };
const result = await module.run(args);
const file = writeResult(result);
console.log(JSON.stringify(result, null, 2));
console.error(`written to ${file}`);
process.exit(0);
