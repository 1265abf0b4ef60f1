/**
 * Block writes of holding registers (function 16) through the TCP and the RTU driver, against
 * devices on real sockets: chunking at 123 registers, values landing where they should, bad
 * blocks refused before anything goes on the wire, exceptions passed on.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { InvalidRequestError, ModbusExceptionError } from '../../src/errors.js';
import { FUNCTION_CODES } from '../../src/modbus/frame.js';
import { openRtuOverTcpBus } from '../../src/modbus/open-bus.js';
import { createModbusRtuDriver } from '../../src/modbus/rtu-driver.js';
import { createModbusTcpDriver } from '../../src/modbus/tcp-driver.js';
import { emptyMemory, setWords, startTcpDevice, until, type DeviceMemory } from '../helpers/modbus-devices.js';
import { startConverterDevices } from '../helpers/rtu-devices.js';

/** Holding registers 0..299 set to 0xEEEE, so that a write shows against them. */
function memory(): DeviceMemory {
  const m = emptyMemory();
  setWords(m.holding, 0, new Array<number>(300).fill(0xeeee));
  return m;
}

const words = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => (from + i) & 0xffff);
const holding = (m: DeviceMemory, address: number, count: number): number[] => Array.from({ length: count }, (_, i) => m.holding.get(address + i)!);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('Modbus TCP driver: writeRegisters (Application Protocol §6.12, function 16)', () => {
  async function setup(t: TestContext) {
    const m = memory();
    const device = await startTcpDevice(m);
    t.after(device.close);
    const driver = createModbusTcpDriver({ host: '127.0.0.1', port: device.port, device: 'sign-tcp' });
    t.after(() => driver.close());
    return { m, device, driver };
  }

  it('writes 250 registers as three FC16 requests of 123, 123 and 4', async (t) => {
    const { m, device, driver } = await setup(t);
    const values = words(250, 0x4100);
    await driver.writeRegisters(20, values);
    assert.deepEqual(holding(m, 20, 250), values);
    assert.equal(m.holding.get(19), 0xeeee);
    assert.equal(m.holding.get(270), 0xeeee);
    assert.equal(device.requests.get(16), 3);
  });

  it('uses FC16 even for a single register', async (t) => {
    const { m, device, driver } = await setup(t);
    await driver.writeRegisters(7, [0x0102]);
    assert.equal(m.holding.get(7), 0x0102);
    assert.deepEqual([device.requests.get(16), device.requests.get(6)], [1, undefined]);
  });

  it('refuses a bad block before sending anything, naming device and operation', async (t) => {
    const { device, driver } = await setup(t);
    const cases: [number, number[], RegExp][] = [
      [0, [1, 70000, 3], /^sign-tcp: write holding-register 0\+3: value 70000 at register 1 is not a 16-bit unsigned word$/],
      [0, [1.5], /value 1\.5 at register 0/],
      [65500, words(40), /40 registers from 65500 run past address 65535/],
      [-1, [1], /address -1 is outside 0\.\.65535/],
      [0, [], /nothing to write/],
    ];
    for (const [address, values, message] of cases) {
      const err = await rejection(driver.writeRegisters(address, values));
      assert.ok(err instanceof InvalidRequestError, String(err));
      assert.match(err.message, message);
    }
    assert.equal(device.requests.size, 0);
  });

  it('passes on the exception of a chunk, naming that chunk', async (t) => {
    const { driver } = await setup(t);
    // Registers 0..299 exist: the second chunk (123..245 of a block from 177) runs into 300.
    const err = await rejection(driver.writeRegisters(177, words(130)));
    assert.ok(err instanceof ModbusExceptionError, String(err));
    assert.equal(err.exceptionCode, 2);
    assert.equal(err.operation, 'write holding-register 300+7');
  });
});

describe('Modbus RTU driver: writeRegisters over RTU framing', () => {
  it('writes a block of 130 registers as two FC16 frames', async (t) => {
    const far = await startConverterDevices();
    t.after(() => far.close());
    const m = memory();
    far.devices.memory.set(3, m);
    const bus = openRtuOverTcpBus({ host: '127.0.0.1', port: far.port, baudRate: 115200 });
    t.after(() => bus.close());
    await until(() => bus.state === 'connected', 3000, 'bus to open');
    const driver = createModbusRtuDriver({ bus, unitId: 3, device: 'sign-rtu' });
    t.after(() => driver.close());

    const values = words(130, 0xa000);
    await driver.writeRegisters(100, values);
    assert.deepEqual(holding(m, 100, 130), values);
    assert.deepEqual(
      far.devices.requestsFor(3).map((r) => [r.functionCode, r.address]),
      [
        [FUNCTION_CODES.writeMultipleRegisters, 100],
        [FUNCTION_CODES.writeMultipleRegisters, 223],
      ],
    );
    const err = await rejection(driver.writeRegisters(0, [0x10000]));
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(far.devices.requestsFor(3).length, 2);
  });
});
