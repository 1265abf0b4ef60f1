/**
 * The releases directory of a gateway and its small state files, each with one writer:
 *   <dataDir>/releases/<version>/        installed releases (bundle.ts installRelease)
 *   <dataDir>/releases/state.json        written by the supervisor: current, previous, trial, outcomes
 *   <dataDir>/releases/install-request.json  written by the agent after installing: "switch to this version"
 *   <dataDir>/health.json                written by the running agent: its pid and whether it is healthy
 * Every write goes to a temp file that is renamed over the old one, so a reader sees old or new, never half.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile, mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** `null` names the builtin release: the code the supervisor itself runs from. */
export type ReleaseRef = string | null;

export interface UpdateOutcome {
  updateId?: string | undefined;
  version: string;
  state: 'healthy' | 'rolled-back';
  reason?: string | undefined;
  at: number;
}

export interface ReleaseState {
  current: ReleaseRef;
  previous: ReleaseRef;
  /** A release on trial: it becomes current for good once healthy, else the supervisor goes back to `previous`. */
  trial: { version: string; updateId?: string | undefined; previous: ReleaseRef; since: number } | null;
  /** Versions that were rolled back; they are not started again unless installed anew. */
  failed: string[];
  /** The latest outcomes (newest last), which the agent reports to the cloud. */
  outcomes: UpdateOutcome[];
}

export interface InstallRequest {
  version: string;
  updateId?: string | undefined;
  at: number;
}

export interface HealthReport {
  pid: number;
  version: string;
  healthy: boolean;
  /** Why not healthy (e.g. cloud link not connected). */
  detail?: string | undefined;
  ts: number;
}

export const MAX_OUTCOMES = 20;

export function releasesDir(dataDir: string): string {
  return join(dataDir, 'releases');
}
export const stateFile = (dataDir: string) => join(releasesDir(dataDir), 'state.json');
export const installRequestFile = (dataDir: string) => join(releasesDir(dataDir), 'install-request.json');
export const healthFile = (dataDir: string) => join(dataDir, 'health.json');

export const EMPTY_STATE: ReleaseState = { current: null, previous: null, trial: null, failed: [], outcomes: [] };

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** Writes JSON atomically and durably: temp file, fsync, rename. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(value, null, 2));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export async function readState(dataDir: string): Promise<ReleaseState> {
  return { ...EMPTY_STATE, ...((await readJson<Partial<ReleaseState>>(stateFile(dataDir))) ?? {}) };
}

export async function writeState(dataDir: string, state: ReleaseState): Promise<void> {
  await writeJsonAtomic(stateFile(dataDir), { ...state, outcomes: state.outcomes.slice(-MAX_OUTCOMES) });
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** For the health file the agent writes often: atomic, without fsync (it is rewritten every second anyway). */
export async function writeHealth(file: string, report: HealthReport): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(report));
  await rename(temp, file);
}
