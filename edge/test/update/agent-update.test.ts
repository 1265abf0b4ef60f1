/**
 * Issue 6 (updates), the real path: the supervisor runs this repo's agent (its builtin release), the
 * agent gets update.apply over a real MQTT broker, downloads the bundle over HTTP as itself, verifies
 * and installs it; the supervisor switches to it, and the outcome (healthy, rolled-back, failed)
 * reaches the cloud as update.status events through the outbox.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import pino from 'pino';
import type { SignatureEnvelope, UpdateState } from '@quanlink/contracts';
import { EdgeAgent } from '../../src/agent.js';
import { ConfigFile } from '../../src/config/index.js';
import { packRelease } from '../../src/update/bundle.js';
import { healthFile, installRequestFile, readJson, type HealthReport } from '../../src/update/releases.js';
import { Supervisor } from '../../src/update/supervisor.js';
import { FakeCloud, startBroker } from '../signs/cloud-harness.js';
import { rebuildBundle, testKeys, writeTestRelease } from './fixtures.js';

const GW = 'gw-update-1';
const PASSWORD = 'gateway-secret-1';
const root = mkdtempSync(join(tmpdir(), 'quanlink-agent-update-'));
const keys = testKeys();
const bundles = new Map<string, Buffer>();
let broker: Awaited<ReturnType<typeof startBroker>>;
let cloud: FakeCloud;
let http: Server;
let baseUrl: string;
let supervisor: Supervisor;
const downloads: { path: string; auth: string | undefined }[] = [];
const configFile = join(root, 'edge.json');
const dataDir = join(root, 'data');

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A release that is this repo's agent again (so it connects and reports like the real one), under a new version. */
function realAgentRelease(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const cli = new URL('../../src/cli.ts', import.meta.url).href;
  writeFileSync(join(dir, 'main.mjs'), `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\nregister();\nawait import(${JSON.stringify(cli)});\n`);
  return dir;
}

const statuses = (updateId: string) =>
  cloud.eventsOf(GW, 'update.status').filter((e) => e.data.updateId === updateId).map((e) => e.data);
const states = (updateId: string): UpdateState[] => statuses(updateId).map((d) => d.state);

async function apply(updateId: string, bundle: Buffer, served: Buffer = bundle) {
  bundles.set(`/bundles/${updateId}`, served);
  const envelope = JSON.parse(bundle.subarray(0, bundle.indexOf(0x0a)).toString()) as SignatureEnvelope;
  return cloud.command(GW, 'update.apply', {
    updateId,
    version: envelope.manifest.version,
    url: `${baseUrl}/bundles/${updateId}`,
    manifest: envelope.manifest,
    keyId: envelope.keyId,
    signature: envelope.signature,
  }, 15_000);
}

before(async () => {
  broker = await startBroker();
  cloud = await FakeCloud.start(broker.url);
  http = createServer((req, res) => {
    downloads.push({ path: req.url ?? '', auth: req.headers.authorization });
    const expected = `Basic ${Buffer.from(`${GW}:${PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return void res.writeHead(401).end('who are you');
    const body = bundles.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end('no such bundle');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  await ConfigFile.create(configFile, {
    gateway: { id: GW },
    cloud: { url: broker.url, password: PASSWORD },
    dataDir: 'data',
    devices: [],
    telemetryIntervalS: 3600,
    // The technicians' local API would take a fixed port that a parallel test may hold.
    localApi: { port: 0 },
    updates: { trustedKeys: [keys.publicPem] },
  });
  supervisor = new Supervisor({ configFile, dataDir, logger: pino({ level: 'silent' }), healthTimeoutMs: 60_000, pollMs: 100, restartBackoffMs: { initial: 200, max: 1000 } });
  await supervisor.start();
});

after(async () => {
  await supervisor?.stop();
  await cloud?.stop();
  await broker?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  rmSync(root, { recursive: true, force: true });
});

describe('agent updates under the supervisor (real agent, real broker, real processes)', { timeout: 300_000 }, () => {
  test('issue 6: the builtin release (this code) runs and reports healthy once its cloud link is up', async () => {
    await until('gateway birth', () => (cloud.births.get(GW)?.length ?? 0) > 0);
    const health = await until('healthy health file', () => {
      const report = existsSync(healthFile(dataDir)) ? (JSON.parse(readFileSync(healthFile(dataDir), 'utf8')) as HealthReport) : undefined;
      return report?.healthy && report.pid === supervisor.current.pid ? report : undefined;
    });
    assert.equal(health.version, supervisor.current.version);
  });

  test('issue 6: a signed update is downloaded as the gateway, installed, started, and reported healthy', async () => {
    const { bundle } = await packRelease({ privateKey: keys.privateKey, version: '5.0.0', dir: realAgentRelease(join(root, 'src-5.0.0')) });
    const result = await apply('u-good', bundle);
    assert.equal(result.status, 'ok', JSON.stringify(result));
    await until('healthy reported', () => states('u-good').includes('healthy'), 120_000);
    assert.deepEqual(states('u-good'), ['downloading', 'verifying', 'installed', 'healthy']);
    assert.equal(supervisor.current.version, '5.0.0');
    const report = await readJson<HealthReport>(healthFile(dataDir));
    assert.equal(report?.version, '5.0.0');
    // The release carries this repo's package.json (another version): the fleet must see the release it runs.
    await until('a birth of release 5.0.0', () => cloud.births.get(GW)?.at(-1)?.agentVersion === '5.0.0');
    assert.ok(downloads.some((d) => d.path === '/bundles/u-good' && d.auth?.startsWith('Basic ')));
  });

  test('issue 6: a release that crashes on start is rolled back and the previous release reports the rollback with the reason', async () => {
    const { bundle } = await packRelease({ privateKey: keys.privateKey, version: '6.0.0', dir: await writeTestRelease(join(root, 'src-6.0.0'), 'crash') });
    assert.equal((await apply('u-crash', bundle)).status, 'ok');
    await until('rollback reported', () => states('u-crash').includes('rolled-back'), 120_000);
    assert.deepEqual(states('u-crash'), ['downloading', 'verifying', 'installed', 'rolled-back']);
    const rolled = statuses('u-crash').find((d) => d.state === 'rolled-back')!;
    assert.equal(rolled.reason, 'release 6.0.0 did not become healthy within 60 s: exited with code 1');
    assert.equal(supervisor.current.version, '5.0.0', 'the previous release runs again');
  });

  test('issue 6: a tampered download is refused with the reason and nothing is installed', async () => {
    const { bundle } = await packRelease({ privateKey: keys.privateKey, version: '7.0.0', dir: await writeTestRelease(join(root, 'src-7.0.0'), 'healthy') });
    const tampered = rebuildBundle(bundle, {
      payload: (p) => {
        const raw = Buffer.from(gunzipSync(p));
        raw[10] = raw[10]! ^ 0xff;
        return gzipSync(raw);
      },
    });
    const pidBefore = supervisor.current.pid;
    assert.equal((await apply('u-tampered', bundle, tampered)).status, 'ok');
    await until('failure reported', () => states('u-tampered').includes('failed'));
    assert.deepEqual(states('u-tampered'), ['downloading', 'verifying', 'failed']);
    assert.match(statuses('u-tampered').at(-1)!.reason!, /^verify: payload sha256 does not match the signed manifest/);
    assert.equal(existsSync(join(dataDir, 'releases', '7.0.0')), false);
    assert.equal(existsSync(installRequestFile(dataDir)), false);
    assert.equal(supervisor.current.pid, pidBefore, 'the running agent was not touched');
  });

  test('issue 6: an agent running without the supervisor refuses update.apply (it could install but never start it)', async () => {
    const soloConfig = join(root, 'solo.json');
    await ConfigFile.create(soloConfig, {
      gateway: { id: 'gw-update-solo' },
      cloud: { url: broker.url },
      dataDir: 'solo-data',
      devices: [],
      telemetryIntervalS: 3600,
      localApi: { port: 0 },
      updates: { trustedKeys: [keys.publicPem] },
    });
    const agent = await EdgeAgent.open(soloConfig, pino({ level: 'silent' }));
    await agent.start();
    try {
      await until('solo gateway birth', () => (cloud.births.get('gw-update-solo')?.length ?? 0) > 0);
      const { bundle } = await packRelease({ privateKey: keys.privateKey, version: '9.0.0', dir: await writeTestRelease(join(root, 'src-9.0.0'), 'healthy') });
      const envelope = JSON.parse(bundle.subarray(0, bundle.indexOf(0x0a)).toString()) as SignatureEnvelope;
      const result = await cloud.command('gw-update-solo', 'update.apply', { updateId: 'u-solo', version: '9.0.0', url: `${baseUrl}/bundles/u-solo`, manifest: envelope.manifest, keyId: envelope.keyId, signature: envelope.signature });
      assert.equal(result.status === 'error' && result.error.code, 'NotSupervised');
      assert.equal(existsSync(join(root, 'solo-data', 'releases')), false);
    } finally {
      await agent.stop();
    }
  });

  test('issue 6: an update signed by an untrusted key, or not newer, is refused at once in the command result', async () => {
    const stranger = testKeys();
    const { bundle } = await packRelease({ privateKey: stranger.privateKey, version: '8.0.0', dir: await writeTestRelease(join(root, 'src-8.0.0'), 'healthy') });
    const refused = await apply('u-stranger', bundle);
    assert.equal(refused.status, 'error');
    assert.equal(refused.status === 'error' && refused.error.code, 'UntrustedKey');
    assert.match(refused.status === 'error' ? refused.error.message : '', new RegExp(`signed by key ${stranger.keyId}, which is not trusted`));

    const { bundle: old } = await packRelease({ privateKey: keys.privateKey, version: '4.0.0', dir: await writeTestRelease(join(root, 'src-4.0.0'), 'healthy') });
    const older = await apply('u-old', old);
    assert.equal(older.status === 'error' && older.error.code, 'NotNewer');
    assert.equal(downloads.some((d) => d.path === '/bundles/u-stranger' || d.path === '/bundles/u-old'), false, 'nothing was downloaded');
    assert.equal(existsSync(join(dataDir, 'releases', '8.0.0')), false);
  });
});

