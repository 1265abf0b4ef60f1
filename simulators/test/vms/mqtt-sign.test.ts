/**
 * Issue 4: the MQTT JSON sign driver (firmware-bridge) against the VMS simulator through a real
 * broker (the simulator's own aedes on port 0), with the builtin quanlink-vms-g1 profile.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { DeviceError, createMqttSignDriver, type DriverLogger, type SignDriver } from '@quanlink/firmware-bridge';
import { crcOfDisplayed, messageCrc, prepareContent } from '@quanlink/sign-content';
import { startVmsSimulator, type VmsSimulator } from '../../src/vms/simulator.js';
import { capturingLogger, waitFor } from '../helpers/modbus-clients.js';

const profile = (await loadBuiltinProfiles()).get('quanlink-vms-g1')!;
const caps = profile.sign!.capabilities;

function message(multi: string): { multi: string; crc: number } {
  const prepared = prepareContent({ multi }, caps);
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('; '));
  return { multi: prepared.multi, crc: prepared.crc };
}
const FOG = message('[jp3][jl3]FOG[nl][cf1]LIMIT 60');
const JAM = message('[jl3]前方拥堵 请绕行');

/** A DriverLogger that keeps what it was told. */
function recordingLogger(): DriverLogger & { records: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> } {
  const records: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void records.push({ level, obj: obj as Record<string, unknown>, ...(msg !== undefined && { msg }) });
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function setup(t: TestContext, timeoutMs = 2000) {
  const sim = await startVmsSimulator({ id: 'gantry-7', profile, wire: 'mqtt', logger: capturingLogger().logger });
  t.after(() => sim.close());
  assert.equal(sim.topicBase, 'vms/gantry-7');
  const logger = recordingLogger();
  const driver = createMqttSignDriver({ device: 'gantry-7', url: sim.brokerUrl!, topicBase: sim.topicBase!, timeoutMs, logger });
  t.after(() => driver.close());
  return { sim, driver, logger };
}

async function rejection(promise: Promise<unknown>): Promise<DeviceError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DeviceError, `not a DeviceError: ${String(err)}`);
  return err;
}

describe('issue 4: MQTT sign driver <-> VMS simulator (JSON over a real broker)', () => {
  it('NTCIP 1203 CRC readback: display, read back the CRC, blank reads 0', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(JAM.multi, JAM.crc);
    assert.equal(sim.shown().multi, JAM.multi);
    assert.deepEqual(await driver.readState(), {
      displayedCrc: crcOfDisplayed(JAM.multi),
      doorOpen: false,
      powerFault: false,
      controllerFault: false,
      pixelFailures: 0,
      brightness: 100,
    });
    assert.equal(driver.state, 'connected');
    await driver.setBrightness!(80);
    assert.equal((await driver.readState()).brightness, 80);
    await driver.blank();
    assert.equal((await driver.readState()).displayedCrc, 0);
    assert.deepEqual(
      sim.history().map((m) => m.multi),
      ['', JAM.multi, ''],
    );
  });

  it('keeps the state retained, so a newcomer learns what the sign shows', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(FOG.multi, FOG.crc);
    const client = await mqtt.connectAsync(sim.brokerUrl!);
    t.after(() => client.endAsync());
    const retained = new Promise<Record<string, unknown>>((resolve) => client.on('message', (_topic, payload) => resolve(JSON.parse(payload.toString()))));
    await client.subscribeAsync(`${sim.topicBase}/state`);
    const state = await retained;
    assert.equal(state['displayedCrc'], FOG.crc);
    assert.equal(state['multi'], FOG.multi);
  });

  it('refusals carry the sign reason and code: CRC mismatch, does not fit, fault reject', async (t) => {
    const { sim, driver } = await setup(t);
    let err = await rejection(driver.display(FOG.multi, FOG.crc ^ 1));
    assert.equal(err.code, 'SignRejected');
    assert.match(err.message, /^gantry-7: display: sign rejected the message: CRC mismatch: .* \(CrcMismatch\)$/);
    const long = 'A'.repeat(caps.maxMultiLength + 1);
    err = await rejection(driver.display(long, messageCrc(long)));
    assert.match(err.detail, /does not fit the sign: MULTI is 2049 bytes, sign accepts at most 2048 \(DoesNotFit\)$/);
    sim.setFaults({ reject: true });
    err = await rejection(driver.display(FOG.multi, FOG.crc));
    assert.match(err.detail, /\(Rejected\)$/);
    assert.equal(sim.shown().multi, '');
  });

  it('fault slowMs: SignTimeout naming the device and the operation', async (t) => {
    const { sim, driver } = await setup(t, 200);
    sim.setFaults({ slowMs: 500 });
    const err = await rejection(driver.display(FOG.multi, FOG.crc));
    assert.equal(err.code, 'SignTimeout');
    assert.equal(err.message, 'gantry-7: display: no reply from the sign on vms/gantry-7/reply within 200 ms');
    assert.equal((await rejection(driver.readState())).operation, 'read state');
    sim.clearFaults();
    assert.equal((await driver.readState()).displayedCrc, FOG.crc, 'the late display was carried out');
  });

  it('fault offline: the last will says offline, the driver reports SignUnreachable, then recovers', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(FOG.multi, FOG.crc);
    await sim.goOffline();
    await waitFor(() => driver.state === 'backoff', 3000, 'the driver to see the sign offline');
    const err = await rejection(driver.display(JAM.multi, JAM.crc));
    assert.equal(err.code, 'SignUnreachable');
    assert.match(err.message, /^gantry-7: display: the sign is offline/);
    await sim.comeBack();
    await waitFor(() => driver.state === 'connected', 3000, 'the sign to come back');
    await driver.display(JAM.multi, JAM.crc);
    assert.equal((await driver.readState()).displayedCrc, JAM.crc);
  });

  it('fault displaysOther: accepted, but the readback differs', async (t) => {
    const { sim, driver } = await setup(t);
    await driver.display(FOG.multi, FOG.crc);
    sim.setFaults({ displaysOther: true });
    await driver.display(JAM.multi, JAM.crc);
    assert.equal((await driver.readState()).displayedCrc, FOG.crc);
  });

  it('faults pixelFailures, doorOpen, powerFault appear in the state', async (t) => {
    const { sim, driver } = await setup(t);
    sim.setFaults({ pixelFailures: 12, doorOpen: true, powerFault: true });
    const state = await driver.readState();
    assert.deepEqual([state.pixelFailures, state.doorOpen, state.powerFault, state.controllerFault], [12, true, true, false]);
  });

  it('ignores malformed payloads on the reply and state topics, logging device and topic, and keeps working', async (t) => {
    const { sim, driver, logger } = await setup(t);
    await driver.readState(); // connected and subscribed
    const intruder = await mqtt.connectAsync(sim.brokerUrl!);
    t.after(() => intruder.endAsync());
    const base = sim.topicBase!;
    for (const [topic, payload] of [
      [`${base}/reply`, '{not json'],
      [`${base}/reply`, '[1,2]'],
      [`${base}/reply`, '{"tx":"x-1","ok":"yes"}'],
      [`${base}/state`, '{"displayedCrc":"abc"}'],
      [`${base}/state`, 'null'],
      [`${base}/availability`, 'maybe'],
    ] as const) {
      await intruder.publishAsync(topic, payload, { qos: 1 });
    }
    await waitFor(() => logger.records.filter((r) => r.level === 'warn' && /malformed/.test(r.msg ?? '')).length >= 6, 3000, 'six warnings');
    const warnings = logger.records.filter((r) => r.level === 'warn' && /malformed/.test(r.msg ?? ''));
    for (const w of warnings) assert.equal(w.obj['device'], 'gantry-7');
    assert.deepEqual(
      warnings.map((w) => w.obj['topic']),
      ['reply', 'reply', 'reply', 'state', 'state', 'availability'].map((s) => `${base}/${s}`),
    );
    assert.match(String(warnings[2]!.obj['problem']), /ok must be true or false/);
    await driver.display(FOG.multi, FOG.crc);
    assert.equal((await driver.readState()).displayedCrc, FOG.crc);
  });

  it('fails fast when there is no broker, naming it', async () => {
    const logger = recordingLogger();
    const driver = createMqttSignDriver({ device: 'nowhere', url: 'mqtt://127.0.0.1:1', topicBase: 'vms/nowhere', timeoutMs: 200, logger });
    try {
      const err = await rejection(driver.readState());
      assert.equal(err.code, 'DeviceUnreachable');
      assert.match(err.message, /^nowhere: read state: no connection to the broker mqtt:\/\/127\.0\.0\.1:1 within 200 ms$/);
      assert.equal(driver.state, 'backoff');
    } finally {
      await driver.close();
    }
    assert.equal(driver.state, 'closed');
  });
});
