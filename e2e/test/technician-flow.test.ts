/**
 * issue 6, the whole technician flow on simulators, each step through the real quanlink-edge CLI:
 * enrol with a one-time token -> discover the loop card and the ramp sign on their Modbus ports ->
 * bind each with the profile discover named -> test each -> run the agent -> status shows every
 * device healthy and the cloud link connected, and the cloud sees the devices.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLoopCardSimulator, startVmsSimulator, type LoopCardSimulator, type VmsSimulator } from '@quanlink/simulators';
import { CloudProcess, EDGE_CLI, freePort, runCli, startProcess, tempDir, waitUntil, type ManagedProcess } from '../src/index.js';

const edge = (args: string[]) => runCli(EDGE_CLI, args);

interface Found {
  modbus: { matches: { profile: string; confidence: string }[]; bind?: string[]; transport: { port: number } }[];
}

interface Status {
  running: boolean;
  link?: { connected: boolean; lastAck?: { upTo: number } };
  devices?: { device: string; health: string }[];
  screens?: { device: string; health: string }[];
}

describe('issue 6: technician flow (enrol, discover, bind, test, status)', () => {
  const dir = tempDir('technician');
  const config = join(dir.path, 'edge.json');
  let cloud: CloudProcess;
  let card: LoopCardSimulator;
  let sign: VmsSimulator;
  let agent: ManagedProcess | undefined;

  before(async () => {
    cloud = await new CloudProcess({ dataDir: join(dir.path, 'cloud') }).start();
    card = await startLoopCardSimulator({ seed: 66 });
    sign = await startVmsSimulator({ id: 'ramp-66', profile: 'quanlink-vms-r1', wire: 'modbus-tcp' });
  });
  after(async () => {
    await agent?.stop();
    await card?.close();
    await sign?.close();
    await cloud?.stop();
    dir.remove();
  });

  it('issue 6: from a fresh box to a healthy, enrolled gateway with its devices bound', async () => {
    // The operator issues a one-time token for the site; the technician enrols the box with it.
    await cloud.api('/api/v1/sites/box-66', { method: 'PUT', body: JSON.stringify({ name: 'Box 66, ring road' }) });
    const { token } = await cloud.api<{ token: string }>('/api/v1/enrolment-tokens', { method: 'POST', body: JSON.stringify({ site: 'box-66', gatewayId: 'gw-tech-66' }) });
    let r = await edge(['enrol', '--cloud', cloud.httpUrl, '--token', token, '--config', config, '--gateway-id', 'gw-tech-66']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(token), 'the token is not echoed');
    // Other tests' agents may hold the default local API port on this machine: this box gets its own.
    const apiPort = await freePort();
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), localApi: { port: apiPort } }, null, 2), { mode: 0o600 });

    // Discover: both devices, each with its profile, and how to bind it.
    r = await edge(['discover', '--modbus', `127.0.0.1:${card.port},127.0.0.1:${sign.port!}`, '--units', '1-2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const found = JSON.parse(r.stdout) as Found;
    const signPort = sign.port!;
    const byPort = new Map(found.modbus.map((u) => [u.transport.port, u]));
    assert.equal(byPort.get(card.port)?.matches[0]?.profile, 'quanlink-lc8');
    assert.equal(byPort.get(signPort)?.matches[0]?.profile, 'quanlink-vms-r1');

    // Bind each as discover suggests (bind tests it first), then test each bound device.
    for (const [id, port] of [['loop-1', card.port], ['ramp-1', signPort]] as const) {
      r = await edge(['bind', '--config', config, '--id', id, ...byPort.get(port)!.bind!]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      r = await edge(['test', '--config', config, '--device', id]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^PASS$/m);
    }
    assert.deepEqual((JSON.parse(readFileSync(config, 'utf8')) as { devices: { id: string }[] }).devices.map((d) => d.id), ['loop-1', 'ramp-1']);

    // Before the agent runs, status says so.
    r = await edge(['status', '--config', config]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /agent not running/);

    // Run the agent: status shows every device healthy and the link connected, acknowledged by the cloud.
    agent = await startProcess('edge gw-tech-66', EDGE_CLI, ['run', '--config', config], { waitFor: 'none' });
    const status = await waitUntil(
      'every device healthy and the cloud link connected and acknowledging',
      async () => JSON.parse((await edge(['status', '--config', config, '--json'])).stdout) as Status,
      (s) => s.running && s.link?.connected === true && s.link.lastAck !== undefined && [...(s.devices ?? []), ...(s.screens ?? [])].every((d) => d.health === 'ok') && (s.devices?.length ?? 0) + (s.screens?.length ?? 0) === 2,
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((err: Error) => assert.fail(`${err.message}\n${agent!.output()}`));
    assert.deepEqual([...status.devices!, ...status.screens!].map((d) => `${d.device}:${d.health}`).sort(), ['loop-1:ok', 'ramp-1:ok']);
    r = await edge(['status', '--config', config]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^connected\s+seq \d+, \d+ s ago/m);
    assert.match(r.stdout, /^loop-1\s+loop-detector\s+quanlink-lc8\s+ok/m);
    assert.match(r.stdout, /^ramp-1\s+vms\s+quanlink-vms-r1\s+ok/m);

    // The cloud agrees: the gateway it enrolled reports both devices.
    await waitUntil('the cloud to know both devices', () => cloud.device('gw-tech-66', 'ramp-1'), (d) => d !== undefined, { timeoutMs: 30_000 });
    assert.ok(await cloud.device('gw-tech-66', 'loop-1'));
  });
});
