/** The screen controller against a fake sign, with the real command handler, arbitration and outbox contract. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import type { GatewayEvent, SignDisplayArgs } from '@quanlink/contracts';
import { EventBus, MemoryOutbox } from '../../src/index.js';
import { MemoryActiveSet } from '../../src/signs/memory-active-set.js';
import { ScreenController, type ScreenControllerOptions } from '../../src/signs/screen-controller.js';
import { SignCommands } from '../../src/signs/sign-commands.js';
import { FakeSign, message } from './fake-sign.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const controllers: ScreenController[] = [];
afterEach(async () => {
  while (controllers.length) await controllers.pop()!.stop();
});

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

function rig(extra: Partial<ScreenControllerOptions> = {}, shared?: { outbox: MemoryOutbox; activeSet: MemoryActiveSet; sign: FakeSign }) {
  const outbox = shared?.outbox ?? new MemoryOutbox();
  const activeSet = shared?.activeSet ?? new MemoryActiveSet();
  const sign = shared?.sign ?? new FakeSign('vms-1');
  const controller = new ScreenController({
    screen: 'vms-1',
    driver: sign,
    activeSet,
    outbox,
    bus: new EventBus(),
    logger,
    readbackIntervalMs: 60_000,
    retryDelay: { initialDelayMs: 10, maxDelayMs: 40, jitter: 0 },
    ...extra,
  });
  controllers.push(controller);
  const commands = new SignCommands(activeSet, { has: (s) => s === 'vms-1', changed: () => controller.changed() });
  const events = () => outbox.readFrom(1, 1_000_000).map((r) => JSON.parse(r.json) as GatewayEvent);
  const dispatches = () => events().flatMap((e) => (e.type === 'sign.dispatch' ? [`${e.data.dispatchId}:${e.data.state}`] : []));
  const display = async (args: Omit<SignDisplayArgs, 'targets'> & { targets?: SignDisplayArgs['targets'] }, dispatchId = `d-${args.message.id}`) => {
    const result = commands.display({ targets: [{ screen: 'vms-1', dispatchId }], ...args });
    await controller.idle();
    return result;
  };
  return { outbox, activeSet, sign, controller, commands, events, dispatches, display };
}

describe('screen controller', () => {
  it('issue 4: a displayed message is reported once with the CRC read back; the screen status and health come with it', async () => {
    const r = rig();
    await r.controller.start();
    await r.controller.idle();
    const a = message({ id: 'a' });
    assert.deepEqual(await r.display({ message: a }), { accepted: ['d-a'], rejected: [] });
    assert.equal(r.sign.shown.multi, a.multi);
    const displayed = r.events().find((e) => e.type === 'sign.dispatch');
    assert.deepEqual(displayed?.data, { dispatchId: 'd-a', messageId: 'a', state: 'displayed', readbackCrc: a.crc });
    assert.deepEqual(r.events().filter((e) => e.type === 'device.status').map((e) => e.data), [{ state: 'ok' }]);
    const statuses = r.events().filter((e) => e.type === 'sign.status');
    assert.deepEqual(statuses.map((e) => e.type === 'sign.status' && e.data.displayedCrc), [0], 'the condition once at start; a new message is a sign.dispatch, not a status change');
    // The same command again (a resend) changes nothing and reports nothing.
    await r.display({ message: a });
    r.controller.changed();
    await r.controller.idle();
    assert.deepEqual(r.dispatches(), ['d-a:displayed']);
    assert.equal(r.sign.calls.length, 1);
    assert.equal(r.controller.currentStatus.showing?.messageId, 'a');
  });

  it('issue 4: a higher priority pre-empts (the first reported superseded); its end restores the first', async () => {
    const r = rig();
    await r.controller.start();
    const low = message({ id: 'low', priority: 50 });
    await r.display({ message: low });
    const high = message({ id: 'high', priority: 200, endAt: Date.now() + 150 });
    await r.display({ message: high });
    assert.equal(r.sign.shown.multi, high.multi);
    assert.deepEqual(r.dispatches(), ['d-low:displayed', 'd-high:displayed', 'd-low:superseded']);
    await until('the high one expired', () => r.dispatches().length === 5);
    assert.deepEqual(r.dispatches().slice(3).sort(), ['d-high:expired', 'd-low:displayed']);
    assert.equal(r.sign.shown.multi, low.multi);
    assert.deepEqual(r.activeSet.list('vms-1').map((e) => e.dispatchId), ['d-low']);
  });

  it('issue 4: a lower priority arriving is superseded at once; a message not yet started waits and then takes over on time', async () => {
    const r = rig();
    await r.controller.start();
    await r.display({ message: message({ id: 'op', priority: 100 }) });
    await r.display({ message: message({ id: 'auto', priority: 50, source: 'auto' }) });
    assert.deepEqual(r.dispatches(), ['d-op:displayed', 'd-auto:superseded']);
    const startAt = Date.now() + 100;
    const later = message({ id: 'later', priority: 150, startAt });
    await r.display({ message: later });
    assert.deepEqual(r.dispatches().length, 2, 'nothing happens before its start');
    await until('the scheduled one shows', () => r.sign.shown.multi === later.multi);
    const lateness = Date.now() - startAt;
    assert.ok(lateness < 100, `shown ${lateness} ms after its start`);
    await r.controller.idle();
    assert.deepEqual(r.dispatches().slice(2), ['d-later:displayed', 'd-op:superseded']);
  });

  it('issue 4: driving is serialised per screen: never two display() calls at once', async () => {
    const r = rig();
    r.sign.slowMs = 15;
    await r.controller.start();
    for (let i = 0; i < 8; i++) {
      r.commands.display({ message: message({ id: `m${i}`, priority: 10 + i }), targets: [{ screen: 'vms-1', dispatchId: `d${i}` }] });
      await sleep(5);
    }
    await until('settled on the highest', () => r.dispatches().includes('d7:displayed'));
    await r.controller.idle();
    assert.equal(r.sign.maxInFlight, 1);
    assert.equal(r.sign.shown.multi, 'TEXT m7');
  });

  it('issue 4: a screen that shows something else is retried, then the message fails with the readback reason and the next one shows', async () => {
    const r = rig();
    await r.controller.start();
    const base = message({ id: 'base', priority: 50 });
    await r.display({ message: base });
    r.sign.displaysOther = 0x1a2b;
    const bad = message({ id: 'bad', priority: 200, crc: 0x3c4d });
    await r.display({ message: bad });
    await until('failed', () => r.dispatches().includes('d-bad:failed'));
    const failed = r.events().find((e) => e.type === 'sign.dispatch' && e.data.state === 'failed');
    assert.deepEqual(failed?.data, { dispatchId: 'd-bad', messageId: 'bad', state: 'failed', readbackCrc: 0x1a2b, reason: 'readback CRC 0x1A2B, expected 0x3C4D after 3 attempts' });
    assert.equal(r.sign.calls.filter((c) => c === bad.multi).length, 3, 'three attempts');
    assert.ok(!r.activeSet.list('vms-1').some((e) => e.dispatchId === 'd-bad'), 'removed from the active set');
    r.sign.displaysOther = undefined;
    r.controller.changed();
    await r.controller.idle();
    assert.equal(r.sign.shown.multi, base.multi, 'the next one holds the screen');
  });

  it('issue 4: a refusal by the sign fails the message with the driver error', async () => {
    const r = rig({ retries: 2 });
    await r.controller.start();
    r.sign.reject = 'MULTI syntax error';
    await r.display({ message: message({ id: 'x' }) });
    await until('failed', () => r.dispatches().includes('d-x:failed')).catch((err) => {
      throw new Error(`${err.message}; calls ${JSON.stringify(r.sign.calls)} events ${JSON.stringify(r.events())} status ${JSON.stringify(r.controller.currentStatus)}`);
    });
    const failed = r.events().find((e) => e.type === 'sign.dispatch' && e.data.state === 'failed');
    assert.equal(failed?.type === 'sign.dispatch' && failed.data.reason, 'vms-1: display: sign rejected the message: MULTI syntax error');
    assert.equal(r.sign.calls.filter((c) => c === 'TEXT x').length, 2, 'retries: 2 is two attempts');
    assert.ok(!r.events().some((e) => e.type === 'device.status' && e.data.state !== 'ok'), 'a refusal is not a comm fault');
  });

  it('issue 4: the periodic readback re-drives a screen that came back blank, without reporting again; status events on change only', async () => {
    const r = rig({ readbackIntervalMs: 40 });
    await r.controller.start();
    const a = message({ id: 'a' });
    await r.display({ message: a });
    const statusCount = () => r.events().filter((e) => e.type === 'sign.status').length;
    const before = statusCount();
    await sleep(150);
    assert.equal(statusCount(), before, 'no status event while nothing changes');
    r.sign.powerCycle();
    await until('re-driven', () => r.sign.calls.length === 2 && r.sign.shown.multi === a.multi);
    await r.controller.idle();
    assert.deepEqual(r.dispatches(), ['d-a:displayed']);
    r.sign.doorOpen = true;
    await until('door reported', () => r.events().some((e) => e.type === 'sign.status' && e.data.doorOpen));
    const door = r.events().filter((e) => e.type === 'sign.status').at(-1)!;
    assert.equal(door.type === 'sign.status' && door.data.activeMessageId, 'a');
  });

  it('issue 4: a screen that stops answering is reported unreachable, and ok when it answers again', async () => {
    const r = rig({ readbackIntervalMs: 30 });
    await r.controller.start();
    await r.display({ message: message({ id: 'a' }) });
    r.sign.offline = true;
    await until('unreachable', () => r.controller.currentStatus.health === 'unreachable');
    r.sign.offline = false;
    await until('ok again', () => r.controller.currentStatus.health === 'ok');
    const health = r.events().filter((e) => e.type === 'device.status').map((e) => e.type === 'device.status' && e.data.state);
    assert.deepEqual(health, ['ok', 'unreachable', 'ok']);
    assert.deepEqual(r.dispatches(), ['d-a:displayed'], 'a readback failure does not fail the message');
  });

  it('issue 4: cancel restores the previous message; with nothing left the default message shows, else blank', async () => {
    const r = rig({ defaultMessage: { multi: 'DRIVE SAFELY', crc: 0x4242 } });
    await r.controller.start();
    await r.controller.idle();
    assert.equal(r.sign.shown.multi, 'DRIVE SAFELY');
    await r.display({ message: message({ id: 'a', priority: 10 }) });
    await r.display({ message: message({ id: 'b', priority: 20 }) });
    assert.deepEqual(r.commands.cancel({ messageId: 'b' }), { cancelled: ['d-b'] });
    await r.controller.idle();
    assert.equal(r.sign.shown.multi, 'TEXT a');
    r.commands.cancel({ messageId: 'a' });
    await r.controller.idle();
    assert.equal(r.sign.shown.multi, 'DRIVE SAFELY');
    assert.deepEqual(r.dispatches(), ['d-a:displayed', 'd-b:displayed', 'd-a:superseded', 'd-b:cancelled', 'd-a:displayed', 'd-a:cancelled']);
    assert.deepEqual(r.activeSet.list('vms-1'), []);
  });

  it('issue 4: reports written before a crash are applied at start from the journal, never reported twice', async () => {
    const outbox = new MemoryOutbox();
    const activeSet = new MemoryActiveSet();
    const sign = new FakeSign('vms-1');
    const [entry] = activeSet.add([{ screen: 'vms-1', message: message({ id: 'a' }), dispatchId: 'd-a' }], 1);
    // As a controller does it: the report and its journal reach the outbox; then the process dies before the active set moves.
    outbox.append(
      [{ ts: 1, type: 'sign.dispatch', device: 'vms-1', data: { dispatchId: 'd-a', messageId: 'a', state: 'failed', reason: 'x' } }],
      { 'signs/vms-1/journal': [{ dispatchId: 'd-a', rev: entry!.rev, state: 'failed' }] },
    );
    const r = rig({}, { outbox, activeSet, sign });
    await r.controller.start();
    await r.controller.idle();
    assert.deepEqual(r.activeSet.list('vms-1'), []);
    assert.deepEqual(r.dispatches(), ['d-a:failed']);
    assert.deepEqual(sign.calls, [], 'the failed message is not shown again');
  });
});
