/**
 * Runs the parts of Quanlink as real child processes through their own CLIs, so a test can
 * kill -9 one of them and start it again, as a crash in the field would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { createWriteStream } from 'node:fs';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The first JSON line the process printed that has `event: 'listening'`, if it prints one. */
  readonly ready: Record<string, unknown>;
  /** Everything it wrote to stderr and stdout, for failure messages. */
  output(): string;
  /** SIGKILL, as a crash: no cleanup runs in the process. */
  crash(): Promise<void>;
  /** SIGTERM and wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `node --import tsx SCRIPT ARGS`; when `waitFor` is 'listening', waits for that JSON line on stdout. */
export async function startProcess(
  name: string,
  script: string,
  args: string[],
  opts: { waitFor?: 'listening' | 'none'; timeoutMs?: number; env?: NodeJS.ProcessEnv; logFile?: string } = {},
): Promise<ManagedProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 400) lines.shift();
    log?.write(line + '\n');
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const stdout = createInterface({ input: child.stdout! });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      log?.end();
      resolve(code);
    }),
  );

  let ready: Record<string, unknown> = {};
  if (opts.waitFor !== 'none') {
    ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not report listening in time:\n${lines.join('\n')}`)), opts.timeoutMs ?? 30_000);
      stdout.on('line', (line) => {
        keep(line);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.event === 'listening') {
            clearTimeout(timer);
            resolve(parsed);
          }
        } catch {
          // a log line that is not JSON
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} before listening:\n${lines.join('\n')}`));
      });
    });
  } else {
    stdout.on('line', keep);
  }

  return {
    name,
    child,
    ready,
    output: () => lines.join('\n'),
    async crash() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A TCP port that was free a moment ago (for a part that must come back on the same port after a crash). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value that `done` accepts, or fails with the last value seen. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T> | T,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`);
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One command of a CLI (e.g. 'edge/src/cli.ts') run to its end from the repository root, as a technician
 * would; secrets that could come from the environment are blanked unless `env` sets them.
 */
export function runCli(script: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, QUANLINK_ENROL_TOKEN: '', QUANLINK_CLOUD_PASSWORD: '', QUANLINK_DEVICE_MQTT_PASSWORD: '', QUANLINK_CAMERA_PASSWORD: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
