/**
 * Guidance screens through the gateway's real boundary: an EdgeAgent with two bound screens (fake
 * sign drivers) and a stand-in cloud on a real aedes broker, which sends sign commands on the
 * gateway's cmd topic and reads cmd/result and the event batches.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { SignAcceptResult, SignMessage, SignTarget } from '@quanlink/contracts';
import { ConfigFile, EdgeAgent } from '../../src/index.js';
import { FakeCloud, startBroker, until } from './cloud-harness.js';
import { FakeSign, message } from './fake-sign.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'quanlink-agent-signs-'));
let broker: Awaited<ReturnType<typeof startBroker>>;
let cloud: FakeCloud;
const agents: EdgeAgent[] = [];

before(async () => {
  broker = await startBroker();
  cloud = await FakeCloud.start(broker.url);
});
after(async () => {
  for (const agent of agents) await agent.stop().catch(() => undefined);
  await cloud.stop();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A gateway with screens vms-1 and vms-2 (profile quanlink-vms-r1), driven through fake signs. */
async function gateway(gw: string) {
  const configFile = join(dir, `${gw}.json`);
  await ConfigFile.create(configFile, {
    gateway: { id: gw },
    cloud: { url: broker.url },
    dataDir: join(dir, gw),
    devices: ['vms-1', 'vms-2'].map((id) => ({
      id,
      profile: 'quanlink-vms-r1',
      transport: { kind: 'modbus-tcp' as const, host: '127.0.0.1', port: 9 },
      sign: { readbackIntervalMs: 200 },
    })),
    telemetryIntervalS: 3600,
  });
  const signs = new Map(['vms-1', 'vms-2'].map((id) => [id, new FakeSign(id)]));
  const births = () => cloud.births.get(gw)?.length ?? 0;
  const open = async () => {
    const before = births();
    const agent = await EdgeAgent.open(configFile, logger, {
      signDriver: (binding) => signs.get(binding.id)!,
      screenDefaults: { retryDelay: { initialDelayMs: 10, maxDelayMs: 40, jitter: 0 } },
    });
    agents.push(agent);
    await agent.start();
    await until('gateway online', () => births() > before);
    return agent;
  };
  const display = (msg: SignMessage, targets: SignTarget[] = [{ screen: 'vms-1', dispatchId: `d-${msg.id}` }]) => cloud.command(gw, 'sign.display', { message: msg, targets });
  const dispatches = () => cloud.dispatches(gw);
  return { gw, signs, open, display, dispatches, agent: await open() };
}

describe('guidance screens through the gateway', { timeout: 30_000 }, () => {
  it('issue 4: display -> delivered result -> displayed event with the CRC read back; the screens are in the birth as vms', async () => {
    const g = await gateway('gw-sign-a');
    const birth = cloud.births.get(g.gw)!.at(-1)!;
    assert.deepEqual(
      birth.devices.map((d) => [d.id, d.kind, d.endpoint]),
      [['vms-1', 'vms', 'modbus-tcp://127.0.0.1:9/1'], ['vms-2', 'vms', 'modbus-tcp://127.0.0.1:9/1']],
    );
    const a = message({ id: 'a' });
    const result = await g.display(a, [{ screen: 'vms-1', dispatchId: 'd-a1' }, { screen: 'vms-2', dispatchId: 'd-a2' }]);
    assert.deepEqual(result.status === 'ok' && result.data, { accepted: ['d-a1', 'd-a2'], rejected: [] });
    await until('both displayed', () => g.dispatches().length === 2);
    const displayed = cloud.eventsOf(g.gw, 'sign.dispatch');
    assert.deepEqual(displayed.map((e) => [e.device, e.data]).sort(), [
      ['vms-1', { dispatchId: 'd-a1', messageId: 'a', state: 'displayed', readbackCrc: a.crc }],
      ['vms-2', { dispatchId: 'd-a2', messageId: 'a', state: 'displayed', readbackCrc: a.crc }],
    ]);
    assert.equal(g.signs.get('vms-1')!.shown.multi, a.multi);
    assert.ok(cloud.eventsOf(g.gw, 'device.status').some((e) => e.device === 'vms-1' && e.data.state === 'ok'));
    const status = g.agent.status().screens.find((s) => s.device === 'vms-1')!;
    assert.equal(status.showing?.dispatchId, 'd-a1');
    assert.equal(status.profile, 'quanlink-vms-r1');
  });

  it('issue 4: a higher priority pre-empts (the first reported superseded); its expiry restores the first (displayed again)', async () => {
    const g = await gateway('gw-sign-b');
    const low = message({ id: 'low', priority: 50, source: 'auto' });
    await g.display(low);
    await until('low displayed', () => g.dispatches().includes('d-low:displayed'));
    const high = message({ id: 'high', priority: 100, endAt: Date.now() + 400 });
    await g.display(high);
    await until('pre-empted', () => g.dispatches().length >= 3);
    assert.deepEqual(g.dispatches(), ['d-low:displayed', 'd-high:displayed', 'd-low:superseded']);
    assert.equal(g.signs.get('vms-1')!.shown.multi, high.multi);
    await until('high expired, low back', () => g.dispatches().length >= 5, 3000);
    assert.deepEqual(g.dispatches().slice(3).sort(), ['d-high:expired', 'd-low:displayed']);
    assert.equal(g.signs.get('vms-1')!.shown.multi, low.multi);
  });

  it('issue 4: equal priority: the newest message wins, whatever order they arrive in', async () => {
    const g = await gateway('gw-sign-c');
    const newer = message({ id: 'newer', createdAt: 2_000 });
    const older = message({ id: 'older', createdAt: 1_000 });
    await g.display(newer);
    await until('newer displayed', () => g.dispatches().includes('d-newer:displayed'));
    await g.display(older);
    await until('older superseded at once', () => g.dispatches().includes('d-older:superseded'));
    assert.equal(g.signs.get('vms-1')!.shown.multi, newer.multi);
    assert.ok(!g.dispatches().includes('d-older:displayed'));
  });

  it('issue 4: cancel restores the previous message; cancelling twice or a message never sent is harmless', async () => {
    const g = await gateway('gw-sign-d');
    const first = message({ id: 'first', priority: 60 });
    const second = message({ id: 'second', priority: 90 });
    await g.display(first);
    await g.display(second);
    await until('second displayed, first superseded', () => g.dispatches().includes('d-first:superseded'));
    const cancel = await cloud.command(g.gw, 'sign.cancel', { messageId: 'second' });
    assert.deepEqual(cancel.status === 'ok' && cancel.data, { cancelled: ['d-second'] });
    await until('first back', () => g.dispatches().includes('d-second:cancelled') && g.dispatches().at(-1) === 'd-first:displayed');
    assert.equal(g.signs.get('vms-1')!.shown.multi, first.multi);
    const again = await cloud.command(g.gw, 'sign.cancel', { messageId: 'never', screens: ['vms-1'] });
    assert.deepEqual(again.status === 'ok' && again.data, { cancelled: [] });
  });

  it('issue 4: sync replaces the set: entries it lacks are reported cancelled, new ones shown, kept ones not re-reported', async () => {
    const g = await gateway('gw-sign-e');
    const keep = message({ id: 'keep', priority: 50 });
    const drop = message({ id: 'drop', priority: 80 });
    const other = message({ id: 'other' });
    await g.display(keep);
    await g.display(drop);
    await g.display(other, [{ screen: 'vms-2', dispatchId: 'd-other' }]);
    await until('settled', () => ['d-drop:displayed', 'd-keep:superseded', 'd-other:displayed'].every((d) => g.dispatches().includes(d)));
    const fresh = message({ id: 'fresh', priority: 70 });
    const result = await cloud.command(g.gw, 'sign.sync', {
      entries: [
        { message: keep, targets: [{ screen: 'vms-1', dispatchId: 'd-keep' }] },
        { message: fresh, targets: [{ screen: 'vms-2', dispatchId: 'd-fresh' }, { screen: 'vms-9', dispatchId: 'd-fresh9' }] },
      ],
    });
    assert.equal(result.status, 'ok');
    assert.deepEqual(result.status === 'ok' && result.data, {
      accepted: ['d-keep', 'd-fresh'],
      rejected: [{ dispatchId: 'd-fresh9', code: 'UnknownScreen', message: "screen 'vms-9' is not a guidance screen bound on this gateway" }],
    });
    await until('sync applied', () => ['d-drop:cancelled', 'd-other:cancelled', 'd-fresh:displayed', 'd-keep:displayed'].every((d) => g.dispatches().includes(d)));
    assert.equal(g.signs.get('vms-1')!.shown.multi, keep.multi);
    assert.equal(g.signs.get('vms-2')!.shown.multi, fresh.multi);
    assert.equal(g.dispatches().filter((d) => d === 'd-keep:superseded').length, 1, 'kept entry reported once per state');
  });

  it('issue 4: an edge restart keeps the active set and shows the same winner without reporting again', async () => {
    const g = await gateway('gw-sign-f');
    const base = message({ id: 'base', priority: 40 });
    const top = message({ id: 'top', priority: 120, endAt: Date.now() + 60_000 });
    await g.display(base);
    await g.display(top);
    await until('settled', () => g.dispatches().includes('d-base:superseded'));
    const before = g.dispatches();
    const calls = g.signs.get('vms-1')!.calls.length;
    await g.agent.stop();
    const restarted = await g.open();
    await until('screen read back', () => restarted.status().screens.find((s) => s.device === 'vms-1')?.showing !== undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(g.dispatches(), before, 'nothing reported again');
    assert.equal(g.signs.get('vms-1')!.calls.length, calls, 'the screen already showed the winner: not driven again');
    assert.equal(restarted.status().screens.find((s) => s.device === 'vms-1')!.showing?.messageId, 'top');
    // After a power loss while the gateway was down, the same winner is driven again, still without a report.
    await restarted.stop();
    g.signs.get('vms-1')!.powerCycle();
    const third = await g.open();
    await until('re-driven', () => g.signs.get('vms-1')!.shown.multi === top.multi);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(g.dispatches(), before);
    assert.equal(third.activeSet.list('vms-1').length, 2);
  });

  it('issue 4: a screen that reads back another CRC is retried, then the message fails with the reason; the other screen is unaffected', async () => {
    const g = await gateway('gw-sign-g');
    g.signs.get('vms-1')!.displaysOther = 0x1a2b;
    const bad = message({ id: 'bad', crc: 0x3c4d });
    const result = await g.display(bad, [{ screen: 'vms-1', dispatchId: 'd-bad1' }, { screen: 'vms-2', dispatchId: 'd-bad2' }]);
    assert.equal(result.status, 'ok', 'accepted: the failure comes later, as an event');
    await until('failed on vms-1', () => g.dispatches().includes('d-bad1:failed'));
    const failed = cloud.eventsOf(g.gw, 'sign.dispatch').find((e) => e.data.state === 'failed')!;
    assert.equal(failed.device, 'vms-1');
    assert.equal(failed.data.reason, 'readback CRC 0x1A2B, expected 0x3C4D after 3 attempts');
    assert.ok(g.dispatches().includes('d-bad2:displayed'));
    assert.equal(g.signs.get('vms-1')!.calls.filter((c) => c === bad.multi).length, 3);
    assert.deepEqual(g.agent.activeSet.list('vms-1'), []);
  });

  it('issue 4: malformed and unknown-screen commands get clear error results, and the gateway keeps working', async () => {
    const g = await gateway('gw-sign-h');
    const bad = await cloud.command(g.gw, 'sign.display', { message: { ...message({ id: 'x' }), priority: 300 }, targets: [{ screen: 'vms-1', dispatchId: 'd-x' }] });
    assert.equal(bad.status, 'error');
    assert.equal(bad.status === 'error' && bad.error.code, 'InvalidCommand');
    assert.match(bad.status === 'error' ? bad.error.message : '', /args\.message\.priority/);
    const noTargets = await cloud.command(g.gw, 'sign.display', { message: message({ id: 'y' }), targets: [] });
    assert.match(noTargets.status === 'error' ? `${noTargets.error.code} ${noTargets.error.message}` : 'ok', /InvalidCommand .*args\.targets/);
    const unknown = await cloud.command(g.gw, 'sign.explode', {});
    assert.equal(unknown.status === 'error' && unknown.error.code, 'UnknownCommand');
    await cloud.publishRaw(g.gw, '{not json');
    const expired = message({ id: 'old', startAt: 0, endAt: Date.now() - 1000 });
    const mixed = await g.display(expired, [{ screen: 'vms-1', dispatchId: 'd-old' }]);
    assert.deepEqual(mixed.status === 'ok' && (mixed.data as SignAcceptResult).rejected.map((r) => r.code), ['Expired']);
    const good = message({ id: 'good' });
    const result = await g.display(good, [{ screen: 'vms-1', dispatchId: 'd-good' }, { screen: 'ghost', dispatchId: 'd-ghost' }]);
    assert.deepEqual(result.status === 'ok' && result.data, {
      accepted: ['d-good'],
      rejected: [{ dispatchId: 'd-ghost', code: 'UnknownScreen', message: "screen 'ghost' is not a guidance screen bound on this gateway" }],
    });
    await until('good displayed', () => g.dispatches().includes('d-good:displayed'));
    assert.deepEqual(g.dispatches(), ['d-good:displayed'], 'nothing else was reported');
    assert.equal((await cloud.command(g.gw, 'ping', {})).status, 'ok');
  });
});
