/** Issue 6 (updates): the supervisor runs the current release, switches to an installed update, and rolls back one that is not healthy. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { trustedKeySet } from '@quanlink/contracts';
import { installRelease, packRelease, verifyBundle } from '../../src/update/bundle.js';
import { EMPTY_STATE, installRequestFile, readState, writeJsonAtomic, writeState } from '../../src/update/releases.js';
import { Supervisor, type LaunchSpec } from '../../src/update/supervisor.js';
import { testKeys, writeTestRelease, type ReleaseBehaviour } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'quanlink-supervisor-'));
after(() => rmSync(root, { recursive: true, force: true }));
const keys = testKeys();
const trusted = trustedKeySet([keys.publicPem]);

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A gateway data dir, a builtin release that is a healthy test script (version 1.0.0), and a supervisor over them. */
async function setup(name: string, healthTimeoutMs: number, pruneAfterMs?: number) {
  const dataDir = join(root, name, 'data');
  const builtinDir = await writeTestRelease(join(root, name, 'builtin'), 'healthy');
  const builtin: LaunchSpec = { version: '1.0.0', nodeArgs: [join(builtinDir, 'main.mjs')], cwd: builtinDir };
  const supervisor = new Supervisor({
    configFile: join(root, name, 'unused-config.json'),
    dataDir,
    logger: pino({ level: 'silent' }),
    healthTimeoutMs,
    pollMs: 50,
    restartBackoffMs: { initial: 100, max: 400 },
    stopTimeoutMs: 3000,
    builtin,
    pruneAfterMs,
  });
  const outcomes: { state: string; version: string; reason?: string | undefined }[] = [];
  supervisor.on('outcome', (o) => outcomes.push(o));
  const starts: { version: string; pid: number }[] = [];
  supervisor.on('started', (s) => starts.push(s));
  /** Installs a test release the way the agent does (verified bundle, then the install request). */
  const install = async (version: string, behaviour: ReleaseBehaviour) => {
    const src = await writeTestRelease(join(root, name, `src-${version}`), behaviour);
    const { bundle } = await packRelease({ privateKey: keys.privateKey, version, dir: src });
    await installRelease(join(dataDir, 'releases'), verifyBundle(bundle, { trusted }));
    await writeJsonAtomic(installRequestFile(dataDir), { version, updateId: `u-${version}`, at: Date.now() });
  };
  return { dataDir, supervisor, outcomes, starts, install };
}

describe('supervisor', () => {
  test('issue 6: an installed release is started and reports healthy; a crashing update is rolled back and the previous release runs again', async () => {
    const { dataDir, supervisor, outcomes, starts, install } = await setup('crash', 10_000);
    await supervisor.start();
    try {
      await until('builtin release running', () => starts.some((s) => s.version === '1.0.0'));

      await install('1.1.0', 'healthy');
      const healthy = await until('1.1.0 healthy', () => outcomes.find((o) => o.version === '1.1.0'));
      assert.equal(healthy.state, 'healthy');
      assert.equal(supervisor.current.version, '1.1.0');
      const state = await readState(dataDir);
      assert.equal(state.current, '1.1.0');
      assert.equal(state.previous, null, 'the builtin release is the one to go back to');
      assert.equal(state.trial, null);
      const goodPid = supervisor.current.pid;

      await install('1.2.0', 'crash');
      const rolled = await until('1.2.0 rolled back', () => outcomes.find((o) => o.version === '1.2.0'));
      assert.equal(rolled.state, 'rolled-back');
      assert.equal(rolled.reason, 'release 1.2.0 did not become healthy within 10 s: exited with code 1');
      await until('1.1.0 running again', () => supervisor.current.version === '1.1.0' && isRunning(supervisor.current.pid));
      assert.notEqual(supervisor.current.pid, goodPid, 'the previous release was started again');
      const after = await readState(dataDir);
      assert.equal(after.current, '1.1.0');
      assert.deepEqual(after.failed, ['1.2.0']);
      assert.deepEqual(after.outcomes.map((o) => `${o.version}:${o.state}:${o.updateId}`), ['1.1.0:healthy:u-1.1.0', '1.2.0:rolled-back:u-1.2.0']);
      assert.deepEqual(starts.map((s) => s.version), ['1.0.0', '1.1.0', '1.2.0', '1.1.0']);
    } finally {
      await supervisor.stop();
    }
    assert.equal(isRunning(supervisor.current.pid), false);
  });

  test('issue 6: a release that runs but never reports healthy is rolled back at the deadline', async () => {
    const { dataDir, supervisor, outcomes, starts, install } = await setup('never', 1500);
    await supervisor.start();
    try {
      await until('builtin running', () => starts.length === 1);
      await install('2.0.0', 'unhealthy');
      await until('2.0.0 started', () => starts.some((s) => s.version === '2.0.0'));
      const unhealthyPid = starts.find((s) => s.version === '2.0.0')!.pid;
      const rolled = await until('2.0.0 rolled back', () => outcomes.find((o) => o.version === '2.0.0'));
      assert.equal(rolled.state, 'rolled-back');
      assert.match(rolled.reason!, /^release 2.0.0 did not become healthy within 1.5 s: did not report healthy \(last said: never healthy \(test\)\)$/);
      assert.equal(isRunning(unhealthyPid), false, 'the unhealthy release was stopped');
      await until('builtin running again', () => supervisor.current.version === '1.0.0' && isRunning(supervisor.current.pid));
      assert.equal((await readState(dataDir)).current, null);
    } finally {
      await supervisor.stop();
    }
  });

  test('issue 6: after a healthy update, releases other than the current and the previous one are deleted', async () => {
    const { dataDir, supervisor, outcomes, install } = await setup('prune', 10_000, 0);
    await supervisor.start();
    try {
      for (const [version, behaviour] of [['1.1.0', 'healthy'], ['1.2.0', 'crash'], ['1.3.0', 'healthy'], ['1.4.0', 'healthy']] as const) {
        await install(version, behaviour);
        await until(`${version} outcome`, () => outcomes.find((o) => o.version === version));
      }
      const { readdirSync } = await import('node:fs');
      const left = readdirSync(join(dataDir, 'releases')).filter((name) => !name.endsWith('.json')).sort();
      assert.deepEqual(left, ['1.3.0', '1.4.0']);
      const state = await readState(dataDir);
      assert.equal(state.current, '1.4.0');
      assert.equal(state.previous, '1.3.0');
      assert.deepEqual(state.failed, []);
    } finally {
      await supervisor.stop();
    }
  });

  test('issue 6: a current release that cannot be read (deleted) falls back to the builtin release instead of leaving no agent', async () => {
    const { dataDir, supervisor, starts } = await setup('missing', 5000);
    await writeState(dataDir, { ...EMPTY_STATE, current: '4.4.4', previous: null });
    await supervisor.start();
    try {
      const started = await until('builtin running', () => starts[0]);
      assert.equal(started.version, '1.0.0');
      assert.equal((await readState(dataDir)).current, null);
    } finally {
      await supervisor.stop();
    }
  });

  test('issue 6: an agent that crashes outside an update is restarted (with backoff); a request for a release that is not installed is ignored', async () => {
    const { dataDir, supervisor, starts } = await setup('restart', 5000);
    await supervisor.start();
    try {
      const first = await until('builtin running', () => starts[0]);
      process.kill(first.pid, 'SIGKILL');
      await until('restarted', () => starts.length === 2);
      assert.equal(starts[1]!.version, '1.0.0');
      assert.notEqual(starts[1]!.pid, first.pid);

      await writeJsonAtomic(installRequestFile(dataDir), { version: '7.7.7', at: Date.now() });
      await until('request consumed', () => !existsSync(installRequestFile(dataDir)));
      assert.equal(supervisor.current.version, '1.0.0');
      assert.equal(starts.length, 2);
    } finally {
      await supervisor.stop();
    }
  });
});
