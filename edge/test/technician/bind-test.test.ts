/** issue 6: `bind` (device add after a test) and `test` (read once through the profile) on simulators. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLoopCardSimulator, startVmsSimulator, type LoopCardSimulator, type VmsSimulator } from '@quanlink/simulators';
import { edge, freePort } from './helpers.js';

describe('issue 6: bind and test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-technician-'));
  const config = join(dir, 'edge.json');
  let card: LoopCardSimulator;
  let sign: VmsSimulator;
  const devices = () => (JSON.parse(readFileSync(config, 'utf8')) as { devices: { id: string; profile: string }[] }).devices;

  before(async () => {
    card = await startLoopCardSimulator({ seed: 3 });
    sign = await startVmsSimulator({ id: 'ramp-3', profile: 'quanlink-vms-r1', wire: 'modbus-tcp' });
    const r = await edge(['init', '--config', config, '--gateway-id', 'gw-tech', '--cloud-url', 'mqtt://127.0.0.1:1']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await card?.close();
    await sign?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issue 6: bind tests the device, then adds it to the config as device add would', async () => {
    const r = await edge(['bind', '--config', config, '--id', 'loop-1', '--profile', 'quanlink-lc8', '--host', '127.0.0.1', '--port', String(card.port), '--unit-id', '1']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /identify\s+pass\s+matches quanlink-lc8 \(model id\)/);
    assert.match(r.stdout, /^bound loop-1 \(quanlink-lc8, modbus-tcp:\/\/127\.0\.0\.1:\d+\/1\)/m);
    assert.deepEqual(devices(), [{ id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: card.port, unitId: 1 } }]);
  });

  it('issue 6: bind refuses a device that does not match the profile, and the config is unchanged', async () => {
    // The loop card is no ramp sign: its model id says so.
    const r = await edge(['bind', '--config', config, '--id', 'ramp-x', '--profile', 'quanlink-vms-r1', '--host', '127.0.0.1', '--port', String(card.port), '--json']);
    assert.equal(r.status, 1, r.stderr);
    const answer = JSON.parse(r.stdout) as { bound: boolean; test: { checks: { check: string; ok: boolean; detail: string }[] } };
    assert.equal(answer.bound, false);
    assert.ok(answer.test.checks.some((c) => !c.ok && /^ramp-x: /.test(c.detail)), JSON.stringify(answer.test.checks));
    assert.deepEqual(devices().map((d) => d.id), ['loop-1']);
    // And the screen is no lanxin card: the layout does not fit.
    const other = await edge(['bind', '--config', config, '--id', 'loop-x', '--profile', 'lanxin-ld4', '--host', '127.0.0.1', '--port', String(sign.port)]);
    assert.equal(other.status, 1, other.stderr);
    assert.match(other.stdout, /FAIL/);
    assert.match(other.stderr, /device loop-x not bound: it failed its test as lanxin-ld4/);
    assert.deepEqual(devices().map((d) => d.id), ['loop-1']);
  });

  it('issue 6: bind --no-test binds without asking; bad usage is exit 2', async () => {
    const port = await freePort();
    let r = await edge(['bind', '--config', config, '--id', 'loop-later', '--profile', 'quanlink-lc8', '--host', '127.0.0.1', '--port', String(port), '--no-test']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /without a test/);
    r = await edge(['bind', '--config', config, '--id', 'loop-1', '--profile', 'quanlink-lc8', '--host', '127.0.0.1', '--port', String(card.port)]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /device 'loop-1' is already bound/);
    r = await edge(['bind', '--config', config, '--id', 'x', '--profile', 'no-such-profile', '--host', '127.0.0.1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown profile 'no-such-profile'/);
    r = await edge(['device', 'remove', '--config', config, '--id', 'loop-later']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('issue 6: test on a bound loop card prints the lane values and passes (exit 0); --json parses', async () => {
    const r = await edge(['test', '--config', config, '--device', 'loop-1']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^LANE\s+COUNT\s+OCCUPANCY\s+SPEED\s+LOOPFAULT$/m);
    for (let lane = 1; lane <= 8; lane++) assert.match(r.stdout, new RegExp(`^${lane}\\s+\\d+\\s+[\\d.]+\\s+[\\d.]+\\s+0$`, 'm'));
    assert.match(r.stdout, /^PASS$/m);
    const json = await edge(['test', '--config', config, '--device', 'loop-1', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; lanes: Record<string, Record<string, number>> };
    assert.equal(report.ok, true);
    assert.deepEqual(Object.keys(report.lanes).sort(), ['1', '2', '3', '4', '5', '6', '7', '8', 'device']);
    // The values are the card's: each lane's counter, read before, is at most what the card says now.
    const reported = card.truth().reported.lanes;
    for (let lane = 1; lane <= 8; lane++) {
      assert.ok(report.lanes[lane]!.count! <= reported[lane]!.count, `lane ${lane}: read ${report.lanes[lane]!.count}, card says ${reported[lane]!.count}`);
    }
    assert.ok(Object.values(reported).some((l) => l.count > 0), 'the card counted vehicles');
  });

  it('issue 6: test on an unreachable device fails (exit 1), naming the device and the operation', async () => {
    const port = await freePort();
    let r = await edge(['test', '--profile', 'quanlink-lc8', '--id', 'loop-gone', '--host', '127.0.0.1', '--port', String(port)]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`read\\s+FAIL\\s+loop-gone: read input-register \\d+\\+\\d+: connect to 127\\.0\\.0\\.1:${port} failed`));
    assert.match(r.stdout, /^FAIL: 1 of 1 checks failed$/m);
    r = await edge(['test', '--config', config, '--device', 'nope']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no device 'nope' in .*edge\.json \(bound: loop-1\)/);
  });

  it('issue 6: test on a guidance screen reads its state and draws a preview of the test message', async () => {
    const out = join(dir, 'preview.png');
    const r = await edge(['test', '--profile', 'quanlink-vms-r1', '--host', '127.0.0.1', '--port', String(sign.port), '--out', out, '--message', 'TEST[nl]测试', '--show', '--json']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { checks: { check: string; ok: boolean }[]; sign: { displayedCrc: number } };
    assert.deepEqual(report.checks.map((c) => `${c.check}:${c.ok}`), ['message:true', 'preview:true', 'state:true', 'identify:true', 'show:true']);
    assert.deepEqual(readFileSync(out).subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    assert.equal(sign.shown().multi, 'TEST[nl]测试', 'the sign shows the test message');
    // A message the sign cannot show fails its check, with the reason.
    const bad = await edge(['test', '--profile', 'quanlink-vms-r1', '--host', '127.0.0.1', '--port', String(sign.port), '--message', 'A[xy]']);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /message\s+FAIL\s+unbound: check test message: .*\[xy\]/);
  });

  it('issue 6: test on a guidance screen that speaks MQTT reads its state over the broker', async () => {
    const gantry = await startVmsSimulator({ id: 'gantry-3', profile: 'quanlink-vms-g1', wire: 'mqtt' });
    try {
      const r = await edge(['test', '--id', 'gantry-3', '--profile', 'quanlink-vms-g1', '--mqtt-url', gantry.brokerUrl!, '--topic-base', gantry.topicBase!, '--json']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { endpoint: string; checks: { check: string; ok: boolean }[]; sign: { displayedCrc: number } };
      assert.deepEqual(report.checks.map((c) => `${c.check}:${c.ok}`), ['message:true', 'state:true']);
      assert.equal(report.sign.displayedCrc, 0, 'the new sign is blank');
      await gantry.goOffline();
      const away = await edge(['test', '--id', 'gantry-3', '--profile', 'quanlink-vms-g1', '--mqtt-url', gantry.brokerUrl!, '--topic-base', gantry.topicBase!]);
      assert.equal(away.status, 1, away.stdout);
      assert.match(away.stdout, /state\s+FAIL\s+gantry-3: read state: /);
    } finally {
      await gantry.close();
    }
  });
});
