/**
 * Agent updates end to end, as an operator does it: sign releases with the edge CLI, upload them to
 * the cloud (a process trusting the signing key), roll them out over the API to a gateway whose
 * agent runs under `quanlink-edge supervise` (a process). A good release ends healthy; one that
 * crashes on start is rolled back by the supervisor, the rollout is aborted with the reason, and the
 * previous release keeps the gateway online.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigFile } from '@quanlink/edge';
import { EDGE_CLI, CLOUD_CLI, REPO_ROOT, freePort, startProcess, tempDir, waitUntil, type ManagedProcess } from '../src/index.js';

interface RolloutView {
  id: string;
  state: 'running' | 'completed' | 'aborted';
  reason: string | null;
  targets: { gatewayId: string; state: string; reason: string | null }[];
}

describe('issue 6: agent updates, cloud and supervised edge as processes', { timeout: 300_000 }, () => {
  const dir = tempDir('e2e-updates');
  const gateway = `gw-upd-${process.pid}`;
  const adminToken = 'e2e-updates-admin-token-0123456789';
  let cloud: ManagedProcess;
  let edge: ManagedProcess;
  let httpUrl: string;
  const keyDir = join(dir.path, 'signing');

  const edgeCli = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', EDGE_CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `quanlink-edge ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const api = async <T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  /** Signs a release directory with the CLI and uploads the bundle; returns the update id. */
  const publish = async (version: string, releaseDir: string): Promise<string> => {
    const bundle = join(dir.path, `agent-${version}.qlb`);
    edgeCli('update', 'sign', '--key', join(keyDir, 'update-signing.key'), '--version', version, '--dir', releaseDir, '--out', bundle);
    const uploaded = await api<{ id: string }>('POST', '/api/v1/updates', readFileSync(bundle), 'application/octet-stream');
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    return uploaded.body.id;
  };
  const rollout = async (updateId: string): Promise<RolloutView> => {
    const created = await api<RolloutView>('POST', '/api/v1/rollouts', { updateId, gateways: [gateway], maxConcurrent: 1, abortAfterFailures: 1, healthTimeoutS: 180 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return waitUntil(
      `rollout ${created.body.id} to end`,
      async () => (await api<RolloutView>('GET', `/api/v1/rollouts/${created.body.id}`)).body,
      (r) => r.state !== 'running',
      { timeoutMs: 150_000 },
    );
  };
  const health = () => JSON.parse(readFileSync(join(dir.path, 'edge', 'data', 'health.json'), 'utf8')) as { version: string; healthy: boolean };

  before(async () => {
    edgeCli('update', 'keygen', '--out', keyDir);
    const httpPort = await freePort();
    const mqttPort = await freePort();
    cloud = await startProcess('cloud', CLOUD_CLI, ['serve', '--data-dir', join(dir.path, 'cloud'), '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--admin-token', adminToken], {
      env: { QUANLINK_UPDATE_TRUSTED_KEYS: join(keyDir, 'update-signing.pub') },
    });
    httpUrl = `http://127.0.0.1:${httpPort}`;
    const created = await api<{ password: string }>('POST', '/api/v1/gateways', { id: gateway });
    mkdirSync(join(dir.path, 'edge'), { recursive: true });
    const configFile = join(dir.path, 'edge', 'edge.json');
    await ConfigFile.create(configFile, {
      gateway: { id: gateway },
      cloud: { url: `mqtt://127.0.0.1:${mqttPort}`, password: created.body.password },
      dataDir: 'data',
      devices: [],
      telemetryIntervalS: 5,
      localApi: { port: 0 },
      updates: { trustedKeys: [join(keyDir, 'update-signing.pub')], healthTimeoutS: 30 },
    });
    edge = await startProcess(`edge ${gateway}`, EDGE_CLI, ['supervise', '--config', configFile], { waitFor: 'none' });
    await waitUntil('gateway online', async () => (await api<{ online: boolean }>('GET', `/api/v1/gateways/${gateway}`)).body.online, (online) => online, { timeoutMs: 60_000 });
  });

  after(async () => {
    await edge?.stop();
    await cloud?.stop();
    dir.remove();
  });

  it('issue 6: a signed release rolled out over the API is installed, started by the supervisor and reported healthy', async () => {
    // The next version of this agent: the same code, started from a release directory.
    const release = join(dir.path, 'release-2.0.0');
    mkdirSync(release, { recursive: true });
    const cli = new URL('../../edge/src/cli.ts', import.meta.url).href;
    writeFileSync(join(release, 'main.mjs'), `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\nregister();\nawait import(${JSON.stringify(cli)});\n`);
    const done = await rollout(await publish('2.0.0', release));
    assert.equal(done.state, 'completed', `${done.reason}\n${edge.output()}`);
    assert.deepEqual(done.targets.map((t) => t.state), ['healthy']);
    assert.equal(health().version, '2.0.0');
  });

  it('issue 6: a release that crashes on start is rolled back; the rollout is aborted with the reason and the gateway stays online', async () => {
    const release = join(dir.path, 'release-3.0.0');
    mkdirSync(release, { recursive: true });
    writeFileSync(join(release, 'main.mjs'), "console.error('3.0.0: cannot start'); process.exit(1);\n");
    const done = await rollout(await publish('3.0.0', release));
    assert.equal(done.state, 'aborted');
    assert.deepEqual(done.targets.map((t) => t.state), ['rolled-back']);
    assert.equal(done.targets[0]!.reason, 'release 3.0.0 did not become healthy within 30 s: exited with code 1');
    assert.match(done.reason!, /^1 of 1 gateways failed, reaching the abort threshold of 1 \(gw-upd-\d+: release 3.0.0 did not become healthy/);
    await waitUntil('2.0.0 healthy again', () => health(), (h) => h.version === '2.0.0' && h.healthy, { timeoutMs: 60_000 });
    const online = await waitUntil('gateway online', async () => (await api<{ online: boolean }>('GET', `/api/v1/gateways/${gateway}`)).body.online, (o) => o, { timeoutMs: 60_000 });
    assert.equal(online, true);
  });
});
