/**
 * Issue 6 (device firmware where a profile declares how): the VMS simulator's modbus-block-transfer
 * updater on the wire (real Modbus TCP, the firmware-bridge driver): a good image is taken, verified,
 * applied after a silent reboot and its version served; a bad CRC, an image for another profile and
 * the fault "fail at commit" are refused with their failure code; "never come back" stays silent.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { encodeFirmwareImage, imageCrc32, loadBuiltinProfiles } from '@quanlink/device-profiles';
import { createModbusTcpDriver, type ProtocolDriver } from '@quanlink/firmware-bridge';
import { startVmsSimulator, type VmsSimulator } from '../../src/vms/simulator.js';
import { startLoopCardSimulator } from '../../src/loop-card/simulator.js';
import { capturingLogger, waitFor } from '../helpers/modbus-clients.js';

const profile = (await loadBuiltinProfiles()).get('quanlink-vms-r1')!;
const spec = profile.firmware!;
const { control, window, status, version } = spec.wire;
const BLOCK_BYTES = window.registers * 2;

async function setup(t: TestContext): Promise<{ sim: VmsSimulator; driver: ProtocolDriver }> {
  const { logger } = capturingLogger();
  const sim = await startVmsSimulator({ id: 'ramp-1', profile, wire: 'modbus-tcp', logger, firmwareVersion: '1.2.0', firmwareRebootMs: 600 });
  t.after(() => sim.close());
  const driver = createModbusTcpDriver({ host: '127.0.0.1', port: sim.port!, unitId: 1, device: 'ramp-1', timeoutMs: 300, reconnect: { initialDelayMs: 30, maxDelayMs: 100 }, logger });
  t.after(() => driver.close());
  return { sim, driver };
}

async function words(driver: ProtocolDriver, table: 'input-register' | 'holding-register', address: number, count: number): Promise<number[]> {
  const points = Array.from({ length: count }, (_, i) => ({ key: `w${i}`, wire: { table, address: address + i, type: 'uint16', byteOrder: 'big', wordOrder: 'big' } as const }));
  const values = await driver.read(points);
  return points.map((p) => values.get(p.key)!);
}
const readStatus = (driver: ProtocolDriver) => words(driver, 'input-register', status.address, 3);
const readVersion = async (driver: ProtocolDriver) => (await words(driver, version.table, version.address, 3)).join('.');

/** begin, every block, commit, as the method says (of the VMS-R1 unless told); returns the status registers right after commit. */
async function transfer(driver: ProtocolDriver, image: Buffer, crc = imageCrc32(image), { control, window, status } = spec.wire): Promise<number[]> {
  const readStatus = (d: ProtocolDriver) => words(d, 'input-register', status.address, 3);
  const BLOCK_BYTES = window.registers * 2;
  const command = (code: number, argument: number, crc32 = 0) => driver.writeRegisters!(control.address, [code, argument >>> 16, argument & 0xffff, crc32 >>> 16, crc32 & 0xffff]);
  await command(spec.commands.begin, image.length, crc);
  assert.deepEqual(await readStatus(driver), [spec.states.receiving, 0, 0]);
  for (let n = 0; n * BLOCK_BYTES < image.length; n++) {
    const bytes = image.subarray(n * BLOCK_BYTES, (n + 1) * BLOCK_BYTES);
    const block: number[] = [];
    for (let i = 0; i < bytes.length; i += 2) block.push((bytes[i]! << 8) | (bytes[i + 1] ?? 0));
    await driver.writeRegisters!(window.address, block);
    await command(spec.commands.block, n);
  }
  await command(spec.commands.commit, 0);
  return readStatus(driver);
}

const body = Buffer.alloc(1000, 0xa5);

describe('issue 6: VMS simulator takes firmware by modbus-block-transfer (Modbus TCP)', () => {
  it('a good image: applied, silent while rebooting, back with the version from the image header', async (t) => {
    const { sim, driver } = await setup(t);
    assert.equal(await readVersion(driver), '1.2.0');
    const image = encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '1.3.0', body });
    const after = await transfer(driver, image);
    assert.equal(after[0], spec.states.applying);
    assert.equal(sim.firmware!.blocksReceived, Math.ceil(image.length / BLOCK_BYTES));
    await waitFor(() => sim.firmware!.silent, 5000, 'the sign goes silent to reboot');
    await assert.rejects(readVersion(driver), /time/i, 'no answer while rebooting');
    await waitFor(() => !sim.firmware!.silent, 5000, 'the sign comes back');
    assert.equal(await readVersion(driver), '1.3.0');
    assert.deepEqual(await readStatus(driver), [spec.states.idle, 0, 0]);
  });

  it('a bad CRC: failed, code 1, the version unchanged', async (t) => {
    const { sim, driver } = await setup(t);
    const image = encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '1.3.0', body });
    const after = await transfer(driver, image, (imageCrc32(image) ^ 1) >>> 0);
    assert.deepEqual(after.slice(0, 2), [spec.states.failed, 1]);
    assert.equal(sim.firmware!.silent, false);
    assert.equal(await readVersion(driver), '1.2.0');
  });

  it('an image for another profile: failed, code 2', async (t) => {
    const { driver } = await setup(t);
    const after = await transfer(driver, encodeFirmwareImage({ profile: 'quanlink-lc8', version: '1.3.0', body }));
    assert.deepEqual(after.slice(0, 2), [spec.states.failed, 2]);
    assert.equal(await readVersion(driver), '1.2.0');
  });

  it('a block out of order: failed, code 4', async (t) => {
    const { driver } = await setup(t);
    await driver.writeRegisters!(control.address, [spec.commands.begin, 0, 2000, 0, 0]);
    await driver.writeRegisters!(control.address, [spec.commands.block, 0, 3, 0, 0]);
    assert.deepEqual((await readStatus(driver)).slice(0, 2), [spec.states.failed, 4]);
  });

  it('faults: fail at commit (code 6); never come back (silent for good)', async (t) => {
    const { sim, driver } = await setup(t);
    const image = encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '1.3.0', body });
    sim.firmware!.setFaults({ failAtCommit: true });
    assert.deepEqual((await transfer(driver, image)).slice(0, 2), [spec.states.failed, 6]);
    sim.firmware!.setFaults({ failAtCommit: false, neverComeBack: true });
    await transfer(driver, image);
    await waitFor(() => sim.firmware!.silent, 5000, 'silent');
    await new Promise((resolve) => setTimeout(resolve, 1200)); // twice the reboot time
    assert.equal(sim.firmware!.silent, true);
    await assert.rejects(readVersion(driver));
  });

  it('the LC-8 loop card takes an image the same way (its own window size); its firmwareVersion data register follows', async (t) => {
    const { logger } = capturingLogger();
    const lc8 = (await loadBuiltinProfiles()).get('quanlink-lc8')!;
    const card = await startLoopCardSimulator({ profile: lc8, logger, firmwareRebootMs: 300 });
    t.after(() => card.close());
    const driver = createModbusTcpDriver({ host: '127.0.0.1', port: card.port, unitId: 1, device: 'loop-1', timeoutMs: 300, reconnect: { initialDelayMs: 30, maxDelayMs: 100 }, logger });
    t.after(() => driver.close());
    const firmwareVersionPoint = lc8.points.find((p) => p.key === 'firmwareVersion')!;
    assert.equal((await driver.read([firmwareVersionPoint])).get('firmwareVersion'), 0x0100);
    const image = encodeFirmwareImage({ profile: 'quanlink-lc8', version: '1.4.2', body: Buffer.alloc(700, 1) });
    const after = await transfer(driver, image, imageCrc32(image), lc8.firmware!.wire);
    assert.equal(after[0], lc8.firmware!.states.applying);
    assert.equal(card.firmware!.blocksReceived, Math.ceil(image.length / 128));
    await waitFor(() => card.firmware!.silent, 5000, 'silent');
    await waitFor(() => !card.firmware!.silent, 5000, 'back');
    assert.equal((await words(driver, 'input-register', lc8.firmware!.wire.version.address, 3)).join('.'), '1.4.2');
    assert.equal((await driver.read([firmwareVersionPoint])).get('firmwareVersion'), 0x0104);
  });

  it('the control endpoint sets firmware faults (refusing unknown ones) and power-cycles a sign that never came back', async (t) => {
    const { logger } = capturingLogger();
    const sim = await startVmsSimulator({ id: 'ramp-c', profile, wire: 'modbus-tcp', logger, controlPort: 0, firmwareRebootMs: 200 });
    t.after(() => sim.close());
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`${sim.controlUrl}${path}`, { method: 'POST', ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const bad = await post('/firmware/faults', { neverComebck: true });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /unknown field 'neverComebck' \(known: failAtCommit, neverComeBack\)/);
    assert.equal((await post('/firmware/faults', { neverComeBack: true })).status, 200);
    const driver = createModbusTcpDriver({ host: '127.0.0.1', port: sim.port!, unitId: 1, device: 'ramp-c', timeoutMs: 300, reconnect: { initialDelayMs: 30, maxDelayMs: 100 }, logger });
    t.after(() => driver.close());
    await transfer(driver, encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '1.3.0', body }));
    await waitFor(() => sim.firmware!.silent, 5000, 'silent');
    const cycled = await post('/firmware/power-cycle');
    assert.deepEqual(cycled.body.firmware, { version: '1.0.0', state: 'idle', silent: false, blocksReceived: sim.firmware!.blocksReceived });
    assert.equal(await readVersion(driver), '1.0.0');
  });
});
