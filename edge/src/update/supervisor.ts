/**
 * The supervisor (`quanlink-edge supervise`): runs the agent of the current release as a child
 * process, restarts it with backoff when it crashes, switches to a newly installed release when the
 * agent asks (install-request.json), and puts that release on trial: it must report healthy (its
 * health file, with its own pid) within the health deadline, or the supervisor goes back to the
 * previous release and records the rollback with the reason. The supervisor does not care what the
 * release is, as long as its entry file runs with node and writes the health file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { AGENT_VERSION, RELEASE_VERSION_ENV } from '../version.js';
import { ENVELOPE_FILE, readInstalledEnvelope } from './bundle.js';
import {
  healthFile,
  installRequestFile,
  readJson,
  readState,
  releasesDir,
  removeFile,
  writeState,
  type HealthReport,
  type InstallRequest,
  type ReleaseRef,
  type ReleaseState,
  type UpdateOutcome,
} from './releases.js';

export const HEALTH_FILE_ENV = 'QUANLINK_HEALTH_FILE';
export const DEFAULT_HEALTH_TIMEOUT_MS = 60_000;

/** How to start a release: node with these arguments (the supervisor appends `run --config FILE`). */
export interface LaunchSpec {
  version: string;
  nodeArgs: string[];
  cwd: string;
}

export interface SupervisorOptions {
  configFile: string;
  dataDir: string;
  logger: Logger;
  /** How long a release on trial has to report healthy (default 60 s). */
  healthTimeoutMs?: number | undefined;
  /** How often the supervisor looks at the install request and the health file (default 250 ms). */
  pollMs?: number | undefined;
  /** First and longest wait before restarting a crashed agent (default 1 s and 30 s). */
  restartBackoffMs?: { initial: number; max: number } | undefined;
  /** A child that ignores SIGTERM this long is killed (default 15 s). */
  stopTimeoutMs?: number | undefined;
  /** Releases other than the current and previous one are deleted once this old (default 10 min: never one being installed). */
  pruneAfterMs?: number | undefined;
  /** The release used when none is installed (or when rolling back to before the first update); the running code by default. */
  builtin?: LaunchSpec | undefined;
}

export interface SupervisorEvents {
  started: [{ version: string; pid: number }];
  exited: [{ version: string; code: number | null; signal: string | null }];
  outcome: [UpdateOutcome];
}

/** The running code as a release: this repo's CLI under tsx. */
export function builtinRelease(): LaunchSpec {
  const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
  return { version: AGENT_VERSION, nodeArgs: ['--import', import.meta.resolve('tsx'), cli], cwd: process.cwd() };
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private state: ReleaseState | undefined;
  private child: ChildProcess | undefined;
  private childVersion = '';
  private childStartedAt = 0;
  private exitWaiters: (() => void)[] = [];
  /** Children the supervisor stopped itself: their exit is no crash. */
  private readonly stoppedOnPurpose = new Set<ChildProcess>();
  private trialDeadline = 0;
  private timer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private stopping = false;
  /** Serializes ticks and exits: one decision at a time. */
  private busy: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  private readonly healthTimeoutMs: number;
  private readonly backoff: { initial: number; max: number };

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.logger = options.logger.child({ component: 'supervisor' });
    this.healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    this.backoff = options.restartBackoffMs ?? { initial: 1000, max: 30_000 };
    this.backoffMs = this.backoff.initial;
  }

  get current(): { version: string; pid: number | undefined } {
    return { version: this.childVersion, pid: this.child?.pid };
  }

  async start(): Promise<void> {
    this.state = await readState(this.options.dataDir);
    if (this.state.trial) {
      // The supervisor stopped during a trial: the trial starts over with a fresh deadline.
      this.logger.warn({ version: this.state.trial.version, operation: 'resume trial' }, 'release was on trial when the supervisor stopped; trying it again');
      this.trialDeadline = Date.now() + this.healthTimeoutMs;
    }
    await this.launch();
    this.timer = setInterval(() => this.serial(() => this.tick()), this.options.pollMs ?? 250);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.restartTimer);
    await this.busy;
    await this.stopChild();
  }

  private serial(step: () => Promise<void>): Promise<void> {
    this.busy = this.busy.then(step).catch((err: unknown) => this.logger.error({ err, operation: 'supervise' }, 'supervisor step failed'));
    return this.busy;
  }

  private spec(ref: ReleaseRef): LaunchSpec {
    if (ref === null) return this.options.builtin ?? builtinRelease();
    const dir = join(releasesDir(this.options.dataDir), ref);
    return { version: ref, nodeArgs: [], cwd: dir };
  }

  private async launch(): Promise<void> {
    if (this.stopping) return;
    const state = this.state!;
    const spec = this.spec(state.current);
    let nodeArgs = spec.nodeArgs;
    if (state.current !== null) {
      let envelope;
      try {
        envelope = await readInstalledEnvelope(spec.cwd);
      } catch (err) {
        // A release that cannot even be read (deleted, damaged) must not leave the gateway without an agent.
        const why = `cannot read release ${state.current}: ${(err as Error).message}`;
        if (state.trial) return this.rollback(why);
        this.logger.error({ version: state.current, operation: 'start agent' }, `${why}; starting the builtin release`);
        state.current = null;
        state.previous = null;
        await writeState(this.options.dataDir, state);
        return this.launch();
      }
      nodeArgs = [join(spec.cwd, ...envelope.manifest.entry.split('/'))];
    }
    await removeFile(healthFile(this.options.dataDir));
    const child = spawn(process.execPath, [...nodeArgs, 'run', '--config', this.options.configFile], {
      cwd: spec.cwd,
      env: { ...process.env, [HEALTH_FILE_ENV]: healthFile(this.options.dataDir), [RELEASE_VERSION_ENV]: spec.version },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', (err) => this.logger.error({ version: spec.version, err, operation: 'start agent' }, 'could not start the agent process'));
    this.child = child;
    this.childVersion = spec.version;
    this.childStartedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const waiter of this.exitWaiters.splice(0)) waiter();
      this.emit('exited', { version: spec.version, code, signal });
      if (this.stoppedOnPurpose.delete(child)) return;
      void this.serial(() => this.exited(spec.version, code, signal));
    });
    this.logger.info({ version: spec.version, pid: child.pid, trial: state.trial !== null, operation: 'start agent' }, 'agent started');
    if (child.pid !== undefined) this.emit('started', { version: spec.version, pid: child.pid });
  }

  private async exited(version: string, code: number | null, signal: string | null): Promise<void> {
    if (this.stopping || this.child !== undefined) return;
    const how = code !== null ? `exited with code ${code}` : `was killed by ${signal ?? 'a signal'}`;
    if (this.state!.trial && this.state!.trial.version === version) {
      await this.rollback(how);
      return;
    }
    // A crash after a healthy stretch starts the backoff over.
    if (Date.now() - this.childStartedAt > 60_000) this.backoffMs = this.backoff.initial;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.max);
    this.logger.error({ version, code, signal, restartInMs: wait, operation: 'run agent' }, `agent ${version} ${how}; restarting`);
    this.restartTimer = setTimeout(() => void this.serial(() => this.launch()), wait);
  }

  private async tick(): Promise<void> {
    if (this.stopping) return;
    const state = this.state!;
    if (state.trial) {
      const health = await readJson<HealthReport>(healthFile(this.options.dataDir)).catch(() => undefined);
      if (health && this.child && health.pid === this.child.pid && health.healthy) {
        const outcome: UpdateOutcome = { updateId: state.trial.updateId, version: state.trial.version, state: 'healthy', at: Date.now() };
        state.outcomes.push(outcome);
        state.trial = null;
        await writeState(this.options.dataDir, state);
        this.logger.info({ version: outcome.version, operation: 'health check' }, `release ${outcome.version} is healthy`);
        // Pruned before the outcome is told, so whoever hears it sees the releases folder as it stays.
        await this.pruneReleases().catch((err: unknown) => this.logger.warn({ err, operation: 'prune releases' }, 'old releases not deleted'));
        this.emit('outcome', outcome);
      } else if (Date.now() > this.trialDeadline) {
        const detail = health?.pid === this.child?.pid && health?.detail ? ` (last said: ${health.detail})` : '';
        await this.rollback(`did not report healthy${detail}`);
      }
      return;
    }
    const request = await readJson<InstallRequest>(installRequestFile(this.options.dataDir)).catch((err: unknown) => {
      this.logger.error({ err, operation: 'read install request' }, 'unreadable install request ignored');
      return undefined;
    });
    if (!request) return;
    await removeFile(installRequestFile(this.options.dataDir));
    const dir = join(releasesDir(this.options.dataDir), request.version);
    if (!existsSync(join(dir, ENVELOPE_FILE))) {
      this.logger.error({ version: request.version, operation: 'switch release' }, `install request for ${request.version}, which is not installed; ignored`);
      return;
    }
    if (request.version === state.current) return;
    await this.beginTrial(request);
  }

  /** Deletes releases no one will go back to, so that updates do not fill the disk. */
  private async pruneReleases(): Promise<void> {
    const state = this.state!;
    const keep = new Set([state.current, state.previous].filter((v): v is string => v !== null));
    const dir = releasesDir(this.options.dataDir);
    const minAge = this.options.pruneAfterMs ?? 10 * 60_000;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      // Dot-names are installs in progress; files are the state files.
      if (!entry.isDirectory() || entry.name.startsWith('.') || keep.has(entry.name)) continue;
      const path = join(dir, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (!info || (minAge > 0 && Date.now() - info.mtimeMs < minAge)) continue;
      await rm(path, { recursive: true, force: true });
      state.failed = state.failed.filter((v) => v !== entry.name);
      this.logger.info({ version: entry.name, operation: 'prune releases' }, `old release ${entry.name} deleted`);
    }
    await writeState(this.options.dataDir, state);
  }

  private async beginTrial(request: InstallRequest): Promise<void> {
    const state = this.state!;
    state.trial = { version: request.version, updateId: request.updateId, previous: state.current, since: Date.now() };
    state.previous = state.current;
    state.current = request.version;
    state.failed = state.failed.filter((v) => v !== request.version);
    await writeState(this.options.dataDir, state);
    this.logger.info({ version: request.version, from: state.previous ?? 'builtin', operation: 'switch release' }, `switching to release ${request.version}`);
    await this.stopChild();
    this.trialDeadline = Date.now() + this.healthTimeoutMs;
    await this.launch();
  }

  private async rollback(how: string): Promise<void> {
    const state = this.state!;
    const trial = state.trial!;
    await this.stopChild();
    const reason = `release ${trial.version} did not become healthy within ${Math.round(this.healthTimeoutMs / 100) / 10} s: ${how}`;
    const outcome: UpdateOutcome = { updateId: trial.updateId, version: trial.version, state: 'rolled-back', reason, at: Date.now() };
    state.current = trial.previous;
    state.previous = null;
    state.trial = null;
    state.failed = [...state.failed.filter((v) => v !== trial.version), trial.version];
    state.outcomes.push(outcome);
    await writeState(this.options.dataDir, state);
    this.logger.error({ version: trial.version, back: state.current ?? 'builtin', reason, operation: 'health check' }, 'update rolled back');
    this.emit('outcome', outcome);
    this.backoffMs = this.backoff.initial;
    await this.launch();
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.child = undefined;
    this.stoppedOnPurpose.add(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 15_000);
    await exited;
    clearTimeout(timer);
  }
}
