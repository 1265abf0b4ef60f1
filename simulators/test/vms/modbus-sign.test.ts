/**
 * Issue 4: the Modbus sign driver (firmware-bridge) against the VMS simulator over real TCP,
 * with the builtin quanlink-vms-r1 register map: display, readback, blank, refusals and faults.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { DeviceError, createModbusSignDriver, createModbusTcpDriver, type SignDriver } from '@quanlink/firmware-bridge';
import { crcOfDisplayed, defaultsFor, messageCrc, parseMulti, prepareContent, renderPages } from '@quanlink/sign-content';
import { startVmsSimulator, type VmsSimulator } from '../../src/vms/simulator.js';
import { capturingLogger, waitFor } from '../helpers/modbus-clients.js';

const profile = (await loadBuiltinProfiles()).get('quanlink-vms-r1')!;
const caps = profile.sign!.capabilities;
const wire = profile.sign!.modbus!;

/** Canonical MULTI and its CRC, as the cloud would send them. */
function message(multi: string): { multi: string; crc: number } {
  const prepared = prepareContent({ multi }, caps);
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('; '));
  return { multi: prepared.multi, crc: prepared.crc };
}
const SLOW = message('[jl3]SLOW DOWN[nl]ACCIDENT AHEAD');
const QUEUE = message('[jl3]前方拥堵[nl]QUEUE 2 KM');

async function setup(t: TestContext, timeoutMs = 1000): Promise<{ sim: VmsSimulator; driver: SignDriver }> {
  const { logger } = capturingLogger();
  const sim = await startVmsSimulator({ id: 'ramp-1', profile, wire: 'modbus-tcp', logger });
  t.after(() => sim.close());
  const tcp = createModbusTcpDriver({ host: '127.0.0.1', port: sim.port!, unitId: 1, device: 'ramp-1', timeoutMs, reconnect: { initialDelayMs: 30, maxDelayMs: 100 }, logger });
  const driver = createModbusSignDriver({ device: 'ramp-1', driver: tcp, wire, logger });
  t.after(() => driver.close());
  return { sim, driver };
}

async function rejection(promise: Promise<unknown>): Promise<DeviceError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DeviceError, `not a DeviceError: ${String(err)}`);
  return err;
}

describe('issue 4: Modbus sign driver <-> VMS simulator (Modbus TCP)', () => {
  it('NTCIP 1203 CRC readback: a displayed message is shown and read back with its CRC; blank reads 0', async (t) => {
    const { sim, driver } = await setup(t);
    assert.equal((await driver.readState()).displayedCrc, 0);
    await driver.display(QUEUE.multi, QUEUE.crc);
    assert.equal(sim.shown().multi, QUEUE.multi);
    const state = await driver.readState();
    assert.deepEqual(state, { displayedCrc: crcOfDisplayed(QUEUE.multi), doorOpen: false, powerFault: false, controllerFault: false, pixelFailures: 0, brightness: 100 });
    assert.equal(driver.state, 'connected');

    await driver.display(SLOW.multi, SLOW.crc);
    assert.equal((await driver.readState()).displayedCrc, SLOW.crc);
    await driver.blank();
    assert.equal((await driver.readState()).displayedCrc, 0);
    assert.deepEqual(
      sim.history().map((m) => m.multi),
      ['', QUEUE.multi, SLOW.multi, ''],
    );
  });

  it('sets the brightness register', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.setBrightness!(40);
    assert.equal((await driver.readState()).brightness, 40);
    assert.equal(sim.screen.status().brightness, 40);
    const err = await rejection(driver.setBrightness!(101));
    assert.equal(err.code, 'InvalidRequest');
  });

  it('the sign refuses a message whose CRC does not match (driver sent a wrong expected CRC)', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(SLOW.multi, SLOW.crc);
    const err = await rejection(driver.display(QUEUE.multi, QUEUE.crc ^ 0x0101));
    assert.equal(err.code, 'SignRejected');
    assert.equal(err.message, 'ramp-1: display: sign rejected the message: CRC mismatch');
    assert.equal(sim.shown().multi, SLOW.multi, 'still shows the previous message');
    assert.equal(sim.screen.status().lastError, 1);
  });

  it('the sign refuses MULTI it cannot parse and text that does not fit, saying which', async (t) => {
    const { driver } = await setup(t);
    const bad = '[jl9]HELLO';
    assert.match((await rejection(driver.display(bad, messageCrc(bad)))).message, /sign rejected the message: MULTI syntax error$/);
    const wide = 'THIS LINE IS FAR TOO WIDE FOR A RAMP SIGN';
    const err = await rejection(driver.display(wide, messageCrc(wide)));
    assert.equal(err.detail, 'sign rejected the message: does not fit the sign');
  });

  it('fault reject: every activation is refused with exception 04 and last error 4', async (t) => {
    const { sim, driver } = await setup(t);
    sim.setFaults({ reject: true });
    const err = await rejection(driver.display(SLOW.multi, SLOW.crc));
    assert.equal(err.code, 'SignRejected');
    assert.equal(err.detail, 'sign rejected the message: refused by the sign');
    assert.ok(err.cause instanceof DeviceError && err.cause.code === 'ModbusServerDeviceFailure', 'caused by exception 04');
    assert.equal(sim.shown().multi, '');
    sim.clearFaults();
    await driver.display(SLOW.multi, SLOW.crc);
    assert.equal((await driver.readState()).displayedCrc, SLOW.crc);
  });

  it('a message longer than the message area fails before anything is written', async (t) => {
    const { sim, driver } = await setup(t);
    const long = 'A'.repeat(wire.messageArea.registers * 2 + 1);
    const err = await rejection(driver.display(long, messageCrc(long)));
    assert.equal(err.code, 'SignMessageTooLong');
    assert.match(err.message, /^ramp-1: display: the message is 1025 bytes of UTF-8; the message area holds 1024 \(holding registers 16\.\.527\)$/);
    assert.equal(sim.history().length, 1);
    assert.equal(sim.screen.status().lastError, 0, 'the sign never saw it');
  });

  it('fault slowMs: the answer comes too late, a timeout names the device; the driver recovers', async (t) => {
    const { sim, driver } = await setup(t, 150);
    sim.setFaults({ slowMs: 400 });
    const err = await rejection(driver.readState());
    assert.equal(err.code, 'DeviceTimeout');
    assert.match(err.message, /^ramp-1: read input-register 0\+4: no answer within 150 ms$/);
    sim.clearFaults();
    await waitFor(() => driver.state === 'connected', 3000, 'reconnect');
    assert.equal((await driver.readState()).displayedCrc, 0);
  });

  it('fault offline: a transport error, then recovery after comeBack', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(SLOW.multi, SLOW.crc);
    await sim.goOffline();
    await waitFor(() => driver.state !== 'connected', 3000, 'the driver to notice');
    const err = await rejection(driver.readState());
    assert.equal(err.code, 'DeviceUnreachable');
    assert.equal(err.device, 'ramp-1');
    await sim.comeBack();
    await waitFor(() => driver.state === 'connected', 3000, 'reconnect');
    assert.equal((await driver.readState()).displayedCrc, SLOW.crc, 'the sign kept its message');
  });

  it('fault displaysOther: the sign says yes, but the readback CRC is not the one sent', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(SLOW.multi, SLOW.crc);
    sim.setFaults({ displaysOther: true });
    await driver.display(QUEUE.multi, QUEUE.crc);
    const { displayedCrc } = await driver.readState();
    assert.notEqual(displayedCrc, QUEUE.crc);
    assert.equal(displayedCrc, SLOW.crc);
  });

  it('faults pixelFailures, doorOpen, powerFault appear in the state, and failed pixels stay dark in the PNG', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(SLOW.multi, SLOW.crc);
    const healthy = await sim.renderPng();
    sim.setFaults({ pixelFailures: 200, doorOpen: true, powerFault: true });
    assert.deepEqual(await driver.readState(), { displayedCrc: SLOW.crc, doorOpen: true, powerFault: true, controllerFault: false, pixelFailures: 200, brightness: 100 });
    const broken = await sim.renderPng();
    assert.ok(!broken[0]!.equals(healthy[0]!), 'dead pixels change the picture');
    const expected = await renderPages(parseMulti(SLOW.multi, defaultsFor(caps)), caps, { deadPixels: sim.screen.deadPixels() });
    assert.ok(broken[0]!.equals(expected[0]!));
    assert.equal(sim.screen.deadPixels().length, 200);
  });
});
