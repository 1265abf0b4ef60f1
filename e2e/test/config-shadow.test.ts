/**
 * Configuration without drift, end to end: the cloud and the edge as real processes, loop-card
 * simulators on Modbus TCP. An operator sets the desired config over the HTTP API; the gateway
 * validates and applies it all or nothing and reports it; an invalid one changes nothing on the
 * gateway; a gateway that is offline gets it when it comes back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ManagedConfig } from '@quanlink/contracts';
import { startLoopCardSimulator, type LoopCardSimulator } from '@quanlink/simulators';
import { CloudProcess, EdgeProcess, loopCardBinding, tempDir, waitUntil } from '../src/index.js';

interface ShadowView {
  desired: { version: number; outcome: string; config: ManagedConfig } | null;
  reported: { version: number; sha256: string; source: string; config?: ManagedConfig } | null;
  inSync: boolean;
  lastError?: { version: number; code: string; message: string };
}

describe('issue 6: configuration from the cloud, cloud and edge as processes', { timeout: 180_000 }, () => {
  const dir = tempDir('e2e-config');
  const gateway = `gw-cfg-${process.pid}`;
  let sims: LoopCardSimulator[];
  let cloud: CloudProcess;
  let edge: EdgeProcess;

  const view = () => cloud.api<ShadowView>(`/api/v1/gateways/${gateway}/config`);
  const put = async (body: unknown) => {
    const res = await fetch(`${cloud.httpUrl}/api/v1/gateways/${gateway}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...cloud.authorization() },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as ShadowView & { error?: { message: string } } };
  };

  before(async () => {
    sims = await Promise.all([1, 2].map((seed) => startLoopCardSimulator({ seed, ratePerLane: 0.3, timeScale: 10 })));
    cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud` }).start();
    const password = await cloud.addGateway(gateway);
    edge = new EdgeProcess({ dir: dir.path, gatewayId: gateway, cloudUrl: cloud.mqttUrl, password, devices: [loopCardBinding('loop-1', sims[0]!)] });
    await edge.writeConfig();
    await edge.start();
    await waitUntil('cloud to see loop-1 healthy', () => cloud.device(gateway, 'loop-1'), (d) => d?.state === 'ok', { timeoutMs: 60_000 });
  });
  after(async () => {
    await edge?.stop();
    await cloud?.stop();
    await Promise.all((sims ?? []).map((sim) => sim.close()));
    dir.remove();
  });

  it('issue 6: the gateway reports what it runs at start (source local, version 0)', async () => {
    const shadow = await waitUntil('reported config', view, (v) => v.reported !== null, { timeoutMs: 30_000 });
    assert.equal(shadow.reported!.source, 'local');
    assert.equal(shadow.reported!.version, 0);
    assert.deepEqual(shadow.reported!.config!.devices.map((d) => d.id), ['loop-1']);
    assert.equal(shadow.desired, null);
    assert.equal(shadow.inSync, false);
  });

  it('issue 6: a desired config adding a device is applied: inSync, and the new device is in the registry and healthy', async () => {
    const base = (await view()).reported!.config!;
    const config: ManagedConfig = { ...base, devices: [...base.devices, loopCardBinding('loop-2', sims[1]!)] };
    const reply = await put({ config, baseVersion: 0 });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.desired!.outcome, 'applied', JSON.stringify(reply.body));
    const shadow = await waitUntil('in sync', view, (v) => v.inSync, { timeoutMs: 30_000 });
    assert.equal(shadow.reported!.version, 1);
    assert.equal(shadow.reported!.source, 'cloud');
    await waitUntil('cloud to see loop-2 healthy', () => cloud.device(gateway, 'loop-2'), (d) => d?.state === 'ok', { timeoutMs: 30_000 });
    const onDisk = JSON.parse(readFileSync(edge.configFile, 'utf8')) as { devices: { id: string }[]; managed: { version: number } };
    assert.deepEqual(onDisk.devices.map((d) => d.id), ['loop-1', 'loop-2']);
    assert.equal(onDisk.managed.version, 1);
  });

  it('issue 6: an invalid desired config is refused with reasons and changes nothing on the edge', async () => {
    const bytes = readFileSync(edge.configFile);
    const good = (await view()).desired!.config;
    const bad: ManagedConfig = {
      devices: [...good.devices, { id: 'loop-3', profile: 'no-such-card', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: sims[1]!.port } }],
    };
    const reply = await put({ config: bad, baseVersion: 1 });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.desired!.outcome, 'rejected');
    assert.equal(reply.body.inSync, false);
    assert.equal(reply.body.lastError!.code, 'InvalidConfig');
    assert.match(reply.body.lastError!.message, /devices\[2\]\.profile: unknown profile 'no-such-card'/);
    assert.deepEqual(readFileSync(edge.configFile), bytes, 'the edge config file is unchanged');
    assert.equal((await view()).reported!.version, 1, 'the gateway still runs version 1');
    const before = await cloud.laneTotals(gateway, 'loop-2');
    const sum = (lanes: Record<string, number>) => Object.values(lanes).reduce((a, b) => a + b, 0);
    await waitUntil('loop-2 still counted', () => cloud.laneTotals(gateway, 'loop-2'), (lanes) => sum(lanes) > sum(before), { timeoutMs: 30_000 });
  });

  it('issue 6: a config set while the gateway is offline is applied when it reconnects', async () => {
    await edge.stop();
    await waitUntil('gateway offline', () => cloud.api<{ online: boolean }>(`/api/v1/gateways/${gateway}`), (g) => !g.online, { timeoutMs: 30_000 });
    const base = (await view()).reported!.config!;
    const config: ManagedConfig = { ...base, devices: base.devices.filter((d) => d.id !== 'loop-2') };
    const reply = await put({ config });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.desired!.version, 3);
    assert.equal(reply.body.desired!.outcome, 'pending');
    await edge.start();
    const shadow = await waitUntil('applied on reconnect', view, (v) => v.inSync, { timeoutMs: 60_000 });
    assert.equal(shadow.reported!.version, 3);
    assert.equal(shadow.lastError, undefined, 'a later applied version clears the refusal');
    await waitUntil('loop-2 removed from the registry', () => cloud.api<{ removed: boolean }>(`/api/v1/gateways/${gateway}/devices/loop-2`), (d) => d.removed, { timeoutMs: 30_000 });
  });
});
