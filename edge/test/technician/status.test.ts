/** issue 6: `status` from the running agent's local status API, and that API never gives out a credential. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLoopCardSimulator, type LoopCardSimulator } from '@quanlink/simulators';
import { edge, freePort, runAgent, waitFor } from './helpers.js';

const SECRETS = { cloud: 'cloud-Secret-1', mqtt: 'mqtt-Secret-2', camera: 'camera-Secret-3' };

describe('issue 6: status and the local status API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-status-'));
  const config = join(dir, 'edge.json');
  let card: LoopCardSimulator;
  let apiPort: number;
  let agent: ReturnType<typeof runAgent> | undefined;

  before(async () => {
    card = await startLoopCardSimulator({ seed: 5 });
    apiPort = await freePort();
    const cloudPort = await freePort(); // nothing listens: the link stays down
    let r = await edge(['init', '--config', config, '--gateway-id', 'gw-status', '--cloud-url', `mqtt://127.0.0.1:${cloudPort}`], { QUANLINK_CLOUD_PASSWORD: SECRETS.cloud });
    assert.equal(r.status, 0, r.stderr);
    const written = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    writeFileSync(config, JSON.stringify({ ...written, localApi: { port: apiPort } }, null, 2), { mode: 0o600 });
    r = await edge(['bind', '--config', config, '--id', 'loop-1', '--profile', 'quanlink-lc8', '--host', '127.0.0.1', '--port', String(card.port), '--unit-id', '1']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    r = await edge(['bind', '--config', config, '--id', 'gantry-1', '--profile', 'quanlink-vms-g1', '--mqtt-url', `mqtt://127.0.0.1:${cloudPort}`, '--mqtt-username', 'gw', '--no-test'], { QUANLINK_DEVICE_MQTT_PASSWORD: SECRETS.mqtt });
    assert.equal(r.status, 0, r.stderr);
    r = await edge(['bind', '--config', config, '--id', 'cam-1', '--profile', 'onvif-camera', '--onvif', `127.0.0.1:${cloudPort}`, '--camera-user', 'admin', '--model', join(dir, 'no-model.onnx'), '--no-test'], { QUANLINK_CAMERA_PASSWORD: SECRETS.camera });
    assert.equal(r.status, 0, r.stderr);
    const file = readFileSync(config, 'utf8');
    for (const secret of Object.values(SECRETS)) assert.ok(file.includes(secret), 'the secrets are in the (owner-only) config file');
  });
  after(async () => {
    await agent?.stop();
    await card?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issue 6: without a running agent, status says so (exit 1) and lists the configured devices', async () => {
    const r = await edge(['status', '--config', config]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^gateway gw-status: agent not running \(no agent answers on http:\/\/127\.0\.0\.1:\d+\/status/);
    for (const device of ['loop-1', 'gantry-1', 'cam-1']) assert.match(r.stdout, new RegExp(`^${device}\\s+\\S+\\s+agent not running`, 'm'));
    const json = await edge(['status', '--config', config, '--json']);
    assert.equal(json.status, 1);
    assert.equal((JSON.parse(json.stdout) as { running: boolean }).running, false);
  });

  it('issue 6: with the agent running, status lists every device and the cloud link', async () => {
    agent = runAgent(config);
    const running = await waitFor(
      'the loop card polled through the running agent',
      async () => JSON.parse((await edge(['status', '--config', config, '--json'])).stdout) as { running: boolean; devices?: { device: string; health: string }[] },
      (s) => s.running && s.devices?.some((d) => d.device === 'loop-1' && d.health === 'ok') === true,
    ).catch((err: Error) => assert.fail(`${err.message}\n${agent!.output()}`));
    assert.equal(running.running, true);
    const r = await edge(['status', '--config', config]);
    assert.equal(r.status, 4, 'running, but the cloud link is down and the screen and camera are away: not all healthy');
    assert.match(r.stdout, /^gateway gw-status: agent \S+ running$/m);
    assert.match(r.stdout, /^LINK\s+LAST ACK\s+OUTBOX DEPTH\s+RECONNECTS\s+ROUND TRIP$/m);
    assert.match(r.stdout, /^disconnected\s+none yet\s+\d+/m);
    assert.match(r.stdout, /^loop-1\s+loop-detector\s+quanlink-lc8\s+ok\s+/m);
    assert.match(r.stdout, /^gantry-1\s+vms\s+quanlink-vms-g1\s+(unknown|unreachable|error)/m);
    assert.match(r.stdout, /^cam-1\s+camera\s+onvif-camera\s+/m);
  });

  it('issue 6: the local API never returns a password, in JSON or HTML; it is read-only', async () => {
    assert.ok(agent, 'the agent runs (previous test)');
    const json = await (await fetch(`http://127.0.0.1:${apiPort}/status`)).text();
    const html = await (await fetch(`http://127.0.0.1:${apiPort}/`)).text();
    for (const secret of Object.values(SECRETS)) {
      assert.ok(!json.includes(secret), `/status carries ${secret}`);
      assert.ok(!html.includes(secret), `/ carries ${secret}`);
    }
    assert.doesNotMatch(json, /"password"/i);
    assert.match(html, /<h1>Gateway gw-status<\/h1>/);
    assert.match(html, /<td>loop-1<\/td><td>loop-detector<\/td>/);
    assert.doesNotMatch(html, /<script|src=|href="http/, 'no external assets');
    const post = await fetch(`http://127.0.0.1:${apiPort}/status`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'MethodNotAllowed');
    const missing = await fetch(`http://127.0.0.1:${apiPort}/config`);
    assert.equal(missing.status, 404);
  });

  it('issue 6: status refuses to read another gateway\'s agent on the same port', async () => {
    assert.ok(agent, 'the agent runs (previous test)');
    const other = join(dir, 'other.json');
    const written = JSON.parse(readFileSync(config, 'utf8')) as { gateway: { id: string } };
    writeFileSync(other, JSON.stringify({ ...written, gateway: { id: 'gw-other' }, devices: [] }), { mode: 0o600 });
    const r = await edge(['status', '--config', other]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /the agent on http:\/\/127\.0\.0\.1:\d+\/status is gateway 'gw-status', not 'gw-other'/);
  });
});
