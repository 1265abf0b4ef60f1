/**
 * Issue 6 (updates): staged rollouts over the real cloud (embedded broker, ingest, CommandClient,
 * HTTP API) to six gateways that answer update.apply per the contract and download the bundle as
 * themselves: at most maxConcurrent update at once, and failures reaching the threshold abort the rest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { registerGateway } from '../../src/registry.js';
import type { RolloutDetail } from '../../src/updates/types.js';
import { captureLogger, waitFor } from '../helpers.js';
import { ConcurrencyProbe, FakeUpdateGateway, signedBundle, testKeys } from './fixtures.js';

const keys = testKeys();
let cloud: RunningCloud;
const gateways: FakeUpdateGateway[] = [];
let probe: ConcurrencyProbe;

async function api(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const response = await fetch(`${cloud.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${cloud.adminToken}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function upload(version: string): Promise<string> {
  const reply = await api('POST', '/api/v1/updates', signedBundle(keys, version), 'application/octet-stream');
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.id as string;
}

/** Follows a rollout until it ends, recording the most gateways the cloud had in flight at once. */
async function follow(id: string): Promise<{ rollout: RolloutDetail; maxInFlight: number }> {
  let maxInFlight = 0;
  let rollout!: RolloutDetail;
  await waitFor(async () => {
    rollout = (await api('GET', `/api/v1/rollouts/${id}`)).body as RolloutDetail;
    const inFlight = rollout.targets.filter((t) => ['sent', 'downloading', 'verifying', 'installed'].includes(t.state)).length;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return rollout.state !== 'running';
  }, `rollout ${id} to end`, 60_000);
  return { rollout, maxInFlight };
}

before(async () => {
  cloud = await startCloud({ logger: captureLogger('error').logger, updates: { trustedKeys: [keys.publicPem], tickMs: 100 } });
  probe = new ConcurrencyProbe();
  for (let i = 1; i <= 6; i++) {
    const { id, password } = await registerGateway(cloud.store, `gw-roll-${i}`, undefined, `gateway password ${i}`);
    gateways.push(await FakeUpdateGateway.start(cloud.mqttUrl, id, password, keys.publicPem, probe));
  }
  await waitFor(async () => (await cloud.store.listGateways()).filter((g) => g.online).length === 6, 'six gateways online');
});

after(async () => {
  for (const gateway of gateways) await gateway.close();
  await cloud?.close();
});

describe('rollouts', { timeout: 180_000 }, () => {
  test('issue 6: with maxConcurrent 2 never more than 2 of 6 gateways update at once, and all end healthy', async () => {
    const updateId = await upload('1.4.0');
    for (const gateway of gateways) {
      gateway.behaviour = 'healthy';
      gateway.holdMs = 300;
    }
    const created = await api('POST', '/api/v1/rollouts', { updateId, all: true, maxConcurrent: 2, abortAfterFailures: 1 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.targets.length, 6);
    const { rollout, maxInFlight } = await follow(created.body.id);
    assert.equal(rollout.state, 'completed', rollout.reason ?? '');
    assert.equal(rollout.reason, '6 of 6 gateways healthy on 1.4.0, 0 failed');
    assert.deepEqual(rollout.targets.map((t) => t.state), Array(6).fill('healthy'));
    assert.equal(probe.max, 2, `gateways updating at once, as the gateways saw it: ${probe.max}`);
    assert.ok(maxInFlight <= 2, `the cloud had ${maxInFlight} in flight`);
    for (const gateway of gateways) {
      assert.equal(gateway.applies.length, 1, `${gateway.id} got update.apply once`);
      assert.equal(gateway.downloads.length, 1);
      assert.equal(gateway.downloads[0]!.status, 200, `${gateway.id} downloaded the bundle as itself`);
    }
    const audit = await cloud.store.dispatch.listAudit({ limit: 50 });
    assert.ok(audit.some((a) => a.action === 'update.upload' && a.subject === `update:${updateId}` && a.actor === 'admin'));
    assert.ok(audit.some((a) => a.action === 'rollout.create' && a.subject === `rollout:${rollout.id}` && a.actor === 'admin'));
    assert.ok(audit.some((a) => a.action === 'rollout.completed' && a.subject === `rollout:${rollout.id}`));
  });

  test('issue 6: failures reaching abortAfterFailures abort the rollout; the pending gateways are never sent the update', async () => {
    const updateId = await upload('1.5.0');
    probe.max = 0;
    gateways.forEach((gateway, i) => {
      gateway.applies.length = 0;
      gateway.behaviour = i < 2 ? 'rolled-back' : 'healthy';
      gateway.holdMs = 100;
    });
    const created = await api('POST', '/api/v1/rollouts', { updateId, gateways: gateways.map((g) => g.id), maxConcurrent: 2, abortAfterFailures: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { rollout } = await follow(created.body.id);
    assert.equal(rollout.state, 'aborted');
    assert.match(rollout.reason!, /^2 of 6 gateways failed, reaching the abort threshold of 2 \(gw-roll-1: release 1.5.0 did not become healthy within 60 s: exited with code 1; gw-roll-2: release 1.5.0 did not become healthy/);
    const states = rollout.targets.map((t) => `${t.gatewayId}:${t.state}`);
    assert.deepEqual(states.slice(0, 2), ['gw-roll-1:rolled-back', 'gw-roll-2:rolled-back']);
    // gw-roll-1 failing first frees a slot, so gw-roll-3 may have started before gw-roll-2 failed; no one after it.
    assert.deepEqual(states.slice(3), ['gw-roll-4:skipped', 'gw-roll-5:skipped', 'gw-roll-6:skipped']);
    assert.match(rollout.targets[5]!.reason!, /^rollout aborted: 2 of 6 gateways failed/);
    // Give the engine time to (wrongly) go on.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const third = rollout.targets[2]!;
    assert.deepEqual(gateways.map((g) => g.applies.length), [1, 1, third.state === 'skipped' ? 0 : 1, 0, 0, 0], `gw-roll-3 is ${third.state}`);
    const audit = await cloud.store.dispatch.listAudit({ action: 'rollout.aborted' });
    assert.equal(audit[0]?.subject, `rollout:${rollout.id}`);
  });

  test('issue 6: a gateway that refuses counts as failed with its reason; a silent gateway fails at the health timeout; 2 of 6 failed stays under a 50% threshold', async () => {
    const updateId = await upload('1.6.0');
    gateways.forEach((gateway, i) => {
      gateway.applies.length = 0;
      gateway.behaviour = i === 0 ? 'refuse' : i === 1 ? 'silent' : 'healthy';
      gateway.holdMs = 50;
    });
    // 2 of 6 is 33%: below 50%, so the rollout goes on to the end.
    const created = await api('POST', '/api/v1/rollouts', { updateId, all: true, maxConcurrent: 3, abortAfterFailures: '50%', healthTimeoutS: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.abortAfterPercent, 50);
    const { rollout } = await follow(created.body.id);
    assert.equal(rollout.state, 'completed', rollout.reason ?? '');
    const byGateway = Object.fromEntries(rollout.targets.map((t) => [t.gatewayId, t]));
    assert.equal(byGateway['gw-roll-1']!.state, 'failed');
    assert.equal(byGateway['gw-roll-1']!.reason, 'refused: NotNewer: version 1.6.0 is not newer than the running 9.9.9');
    assert.equal(byGateway['gw-roll-2']!.state, 'failed');
    assert.equal(byGateway['gw-roll-2']!.reason, 'no healthy report within 2 s of update.apply (last state: sent)');
    assert.equal(rollout.reason, '4 of 6 gateways healthy on 1.6.0, 2 failed');
  });

  test('issue 6: an operator aborts a running rollout; its pending gateways are skipped and a second abort conflicts', async () => {
    const updateId = await upload('1.7.0');
    gateways.forEach((gateway) => {
      gateway.applies.length = 0;
      gateway.behaviour = 'silent';
    });
    const created = await api('POST', '/api/v1/rollouts', { updateId, all: true, maxConcurrent: 1, healthTimeoutS: 600 });
    await waitFor(() => gateways[0]!.applies.length === 1, 'first gateway sent the update');
    const aborted = await api('POST', `/api/v1/rollouts/${created.body.id}/abort`, { reason: 'wrong build' });
    assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
    assert.equal(aborted.body.state, 'aborted');
    assert.equal(aborted.body.reason, 'aborted by admin: wrong build');
    assert.deepEqual(aborted.body.targets.map((t: { state: string }) => t.state), ['sent', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(gateways.map((g) => g.applies.length), [1, 0, 0, 0, 0, 0]);
    const again = await api('POST', `/api/v1/rollouts/${created.body.id}/abort`, {});
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /is aborted, not running/);
    const audit = await cloud.store.dispatch.listAudit({ action: 'rollout.abort' });
    assert.equal(audit[0]?.actor, 'admin');
  });
});
