import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  DeviceProtocolError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  errorInfo,
  InvalidRequestError,
  ModbusExceptionError,
} from '../../src/errors.js';
import { createModbusTcpDriver, type ModbusDriver, type ModbusTcpOptions } from '../../src/modbus/tcp-driver.js';
import type { ModbusTable, RawType } from '../../src/modbus/wire.js';
import type { DriverState, PointRef } from '../../src/types.js';
import {
  emptyMemory,
  freePort,
  registersPdu,
  reply,
  setWords,
  startScriptedDevice,
  startTcpDevice,
  until,
  type DeviceMemory,
} from '../helpers/modbus-devices.js';

const point = (key: string, table: ModbusTable, address: number, type: RawType, wordOrder: 'big' | 'little' = 'big'): PointRef => ({
  key,
  wire: { table, address, type, byteOrder: 'big', wordOrder },
});

/** A driver that the test closes when it ends, whatever happens. */
function driver(t: TestContext, options: Omit<ModbusTcpOptions, 'host'>): ModbusDriver {
  const d = createModbusTcpDriver({ host: '127.0.0.1', device: 'lc-test', ...options });
  t.after(() => d.close());
  return d;
}

function states(d: ModbusDriver): DriverState[] {
  const seen: DriverState[] = [];
  d.on('state', (s) => seen.push(s));
  return seen;
}

/** A loop card's map: totals and speeds of 2 lanes in input registers, a setting and a relay. */
function cardMemory(): DeviceMemory {
  const memory = emptyMemory();
  setWords(memory.input, 0, [0x1234, 0x5678]); // uint32 0x12345678
  setWords(memory.input, 2, [0xfffb]); // int16 -5
  setWords(memory.input, 3, [0xe979, 0x42f6]); // float32 123.456, word-swapped (CDAB)
  setWords(memory.input, 5, [0x0000, 0x0001, 0x0000, 0x0002]); // uint64 2^32 + 2
  setWords(memory.holding, 10, [500, 0, 0]);
  memory.coils.set(0, true).set(1, false);
  memory.discrete.set(7, true);
  return memory;
}

const CARD_POINTS: PointRef[] = [
  point('total', 'input-register', 0, 'uint32'),
  point('temperature', 'input-register', 2, 'int16'),
  point('speed', 'input-register', 3, 'float32', 'little'),
  point('uptime', 'input-register', 5, 'uint64'),
  point('period', 'holding-register', 10, 'uint16'),
  point('relay1', 'coil', 0, 'bool'),
  point('relay2', 'coil', 1, 'bool'),
  point('door', 'discrete-input', 7, 'bool'),
];

describe('Modbus TCP driver (Modbus Messaging on TCP/IP Implementation Guide 1.0b)', () => {
  it('reads every point of a device in one request per table and decodes each raw type', async (t) => {
    const device = await startTcpDevice(cardMemory());
    t.after(device.close);
    const d = driver(t, { port: device.port });
    const values = await d.read(CARD_POINTS);
    assert.equal(d.state, 'connected');
    assert.deepEqual(Object.fromEntries([...values].map(([k, v]) => [k, k === 'speed' ? Math.round(v * 1000) / 1000 : v])), {
      total: 0x12345678,
      temperature: -5,
      speed: 123.456,
      uptime: 2 ** 32 + 2,
      period: 500,
      relay1: 1,
      relay2: 0,
      door: 1,
    });
    assert.equal(device.requests.get(4), 1, 'input registers 0..8 in one FC4 request');
    assert.equal(device.requests.get(3), 1, 'one FC3 request');
  });

  it('turns a Modbus exception into a ModbusExceptionError named after it (Modbus App Protocol 1.1b3 §7)', async (t) => {
    const device = await startTcpDevice(cardMemory());
    t.after(device.close);
    const d = driver(t, { port: device.port, device: 'lc-07' });
    const err = await d.read([point('missing', 'input-register', 900, 'uint32')]).catch((e: unknown) => e);
    assert.ok(err instanceof ModbusExceptionError, String(err));
    assert.equal(err.code, 'ModbusIllegalDataAddress');
    assert.equal(err.exceptionCode, 2);
    assert.equal(err.exceptionName, 'IllegalDataAddress');
    assert.equal(err.message, 'lc-07: read input-register 900+2: Modbus exception 2 (IllegalDataAddress)');
    assert.deepEqual(errorInfo(err), { code: 'ModbusIllegalDataAddress', message: err.message, operation: 'read input-register 900+2' });
    // The device is still fine: the next good read works on the same connection.
    assert.equal((await d.read([point('total', 'input-register', 0, 'uint32')])).get('total'), 0x12345678);
  });

  it('names a timeout, and a late answer is never taken for the next request', async (t) => {
    // Request 0 is answered after 300 ms with 111; every later one at once with 222.
    const device = await startScriptedDevice((request, index, socket) => {
      const answer = registersPdu(4, [index === 0 ? 111 : 222]);
      setTimeout(() => reply(socket, request, answer), index === 0 ? 300 : 0);
    });
    t.after(device.close);
    const d = driver(t, { port: device.port, timeoutMs: 100 });
    const started = Date.now();
    const err = await d.read([point('v', 'input-register', 0, 'uint16')]).catch((e: unknown) => e);
    assert.ok(err instanceof DeviceTimeoutError, String(err));
    assert.equal(err.code, 'DeviceTimeout');
    assert.match(err.message, /^lc-test: read input-register 0\+1: no answer within 100 ms$/);
    assert.ok(Date.now() - started < 250, 'fails at the timeout, not later');
    await new Promise((r) => setTimeout(r, 350)); // the late answer has been sent by now
    assert.equal((await d.read([point('v', 'input-register', 0, 'uint16')])).get('v'), 222);
    assert.equal(device.connections, 2, 'the connection was replaced after the timeout');
  });

  it('fails fast with DeviceUnreachable while the device refuses connections, and backs off', async (t) => {
    const port = await freePort();
    const d = driver(t, { port, reconnect: { initialDelayMs: 40, maxDelayMs: 200 } });
    const seen = states(d);
    await until(() => d.state === 'backoff', 2000, 'backoff');
    const started = Date.now();
    const err = await d.read([point('v', 'input-register', 0, 'uint16')]).catch((e: unknown) => e);
    assert.ok(Date.now() - started < 50, 'does not wait for the next attempt');
    assert.ok(err instanceof DeviceUnreachableError, String(err));
    assert.equal(err.code, 'DeviceUnreachable');
    assert.match(err.message, /ECONNREFUSED.*next attempt in \d+ ms/);
    await until(() => seen.filter((s) => s === 'backoff').length >= 3, 3000, 'three failed attempts');
    assert.deepEqual(seen.slice(0, 4), ['backoff', 'connecting', 'backoff', 'connecting']);
  });

  it('recovers by itself when the device closes its port and opens it again', async (t) => {
    const memory = cardMemory();
    let device = await startTcpDevice(memory);
    const port = device.port;
    const d = driver(t, { port, reconnect: { initialDelayMs: 30, maxDelayMs: 100 } });
    const seen = states(d);
    const total = [point('total', 'input-register', 0, 'uint32')];
    assert.equal((await d.read(total)).get('total'), 0x12345678);

    await device.close();
    await until(() => d.state === 'backoff', 2000, 'the driver to notice');
    await assert.rejects(d.read(total), DeviceUnreachableError);

    setWords(memory.input, 0, [0, 42]);
    device = await startTcpDevice(memory, port);
    t.after(device.close);
    await until(() => d.state === 'connected', 3000, 'reconnection');
    assert.equal((await d.read(total)).get('total'), 42);
    assert.deepEqual(seen.slice(0, 2), ['connected', 'backoff']);
    assert.equal(seen.at(-1), 'connected');
  });

  it('fails the request in flight at once when the device drops the connection', async (t) => {
    const device = await startScriptedDevice((_request, _index, socket) => socket.destroy());
    t.after(device.close);
    const d = driver(t, { port: device.port, timeoutMs: 5000 });
    const started = Date.now();
    const err = await d.read([point('v', 'input-register', 0, 'uint16')]).catch((e: unknown) => e);
    assert.ok(err instanceof DeviceUnreachableError, String(err));
    assert.match(err.message, /^lc-test: read input-register 0\+1: the device closed the connection$/);
    assert.ok(Date.now() - started < 1000, 'did not wait for the 5 s timeout');
  });

  it('reports a malformed answer as DeviceProtocolError', async (t) => {
    // Two registers asked for, one returned.
    const device = await startScriptedDevice((request, _index, socket) => reply(socket, request, registersPdu(4, [7])));
    t.after(device.close);
    const d = driver(t, { port: device.port });
    const err = await d.read([point('v', 'input-register', 0, 'uint32')]).catch((e: unknown) => e);
    assert.ok(err instanceof DeviceProtocolError, String(err));
    assert.equal(err.code, 'DeviceProtocolError');
    assert.match(err.message, /^lc-test: read input-register 0\+2: .*length/i);
  });

  it('sends one request at a time, however many reads overlap', async (t) => {
    const device = await startTcpDevice(cardMemory());
    t.after(device.close);
    const d = driver(t, { port: device.port });
    const reads = Array.from({ length: 6 }, (_, i) => d.read([point('v', i % 2 ? 'input-register' : 'holding-register', i % 2 ? 0 : 10, 'uint16')]));
    const results = await Promise.all(reads);
    assert.deepEqual(
      results.map((r) => r.get('v')),
      [500, 0x1234, 500, 0x1234, 500, 0x1234],
    );
    assert.equal(device.maxConcurrent, 1);
  });

  it('writes holding registers (FC6, FC16 for wide values) and coils (FC5), read back from the device', async (t) => {
    const memory = cardMemory();
    const device = await startTcpDevice(memory);
    t.after(device.close);
    const d = driver(t, { port: device.port });
    await d.write(point('period', 'holding-register', 10, 'uint16'), 900);
    await d.write(point('limit', 'holding-register', 11, 'int32'), -70000);
    await d.write(point('relay2', 'coil', 1, 'bool'), 1);
    assert.equal(memory.holding.get(10), 900);
    assert.deepEqual([memory.holding.get(11), memory.holding.get(12)], [0xfffe, 0xee90]);
    assert.equal(memory.coils.get(1), true);
    assert.deepEqual([device.requests.get(6), device.requests.get(16), device.requests.get(5)], [1, 1, 1]);
    const back = await d.read([point('limit', 'holding-register', 11, 'int32')]);
    assert.equal(back.get('limit'), -70000);
  });

  it('refuses writes a point cannot take, before anything goes on the wire', async (t) => {
    const device = await startTcpDevice(cardMemory());
    t.after(device.close);
    const d = driver(t, { port: device.port });
    const bad: [PointRef, number, RegExp][] = [
      [point('total', 'input-register', 0, 'uint32'), 1, /input-register is read-only/],
      [point('period', 'holding-register', 10, 'uint16'), 70000, /70000 is outside uint16 range/],
      [point('period', 'holding-register', 10, 'uint16'), 1.5, /not an integer/],
      [point('relay', 'coil', 0, 'bool'), 2, /outside bool range/],
      [point('flag', 'holding-register', 10, 'bool'), 1, /only for coils and discrete inputs/],
    ];
    for (const [p, value, problem] of bad) {
      const err = await d.write(p, value).catch((e: unknown) => e);
      assert.ok(err instanceof InvalidRequestError, String(err));
      assert.equal(err.code, 'InvalidRequest');
      assert.match(err.message, problem);
      assert.ok(err.message.startsWith(`lc-test: write ${p.key} = ${value} to ${p.wire.table} ${p.wire.address}: `), err.message);
    }
    assert.equal(device.requests.size, 0);
  });

  it('refuses points it cannot read, naming them', async (t) => {
    const device = await startTcpDevice(cardMemory());
    t.after(device.close);
    const d = driver(t, { port: device.port });
    const err = await d.read([point('tail', 'input-register', 65535, 'uint32')]).catch((e: unknown) => e);
    assert.ok(err instanceof InvalidRequestError, String(err));
    assert.match(err.message, /point tail: uint32 at address 65535 runs past the last address 65535/);
  });

  it('refuses bad options at creation', () => {
    const bad: [Partial<ModbusTcpOptions>, RegExp][] = [
      [{ host: '' }, /host is missing/],
      [{ port: 0 }, /port 0 is outside 1\.\.65535/],
      [{ port: 502, unitId: 256 }, /unitId 256/],
      [{ port: 502, timeoutMs: 0 }, /timeoutMs must be > 0/],
      [{ port: 502, maxRegistersPerRead: 200 }, /maxRegistersPerRead must be an integer in 4\.\.125/],
      [{ port: 502, maxGap: -1 }, /maxGap/],
      [{ port: 502, reconnect: { jitter: 2 } }, /reconnect\.jitter/],
    ];
    for (const [options, problem] of bad) {
      assert.throws(() => createModbusTcpDriver({ host: '127.0.0.1', port: 502, ...options }), problem);
    }
  });

  describe('close()', () => {
    /** Timers and client sockets alive, once handles closed just now are gone. */
    const liveResources = async (): Promise<string[]> => {
      await new Promise((r) => setImmediate(r));
      return process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap').sort();
    };

    it('leaves nothing running while backing off, and refuses further reads', async (t) => {
      const before = await liveResources();
      const d = driver(t, { port: await freePort(), device: 'gone', reconnect: { initialDelayMs: 10_000 } });
      const seen = states(d);
      await until(() => d.state === 'backoff', 2000, 'backoff');
      assert.ok((await liveResources()).length > before.length, 'the retry timer is pending');
      await d.close();
      assert.equal(d.state, 'closed');
      assert.deepEqual(seen, ['backoff', 'closed']);
      assert.deepEqual(await liveResources(), before);
      const err = await d.read([point('v', 'input-register', 0, 'uint16')]).catch((e: unknown) => e);
      assert.ok(err instanceof DeviceUnreachableError);
      assert.match(err.message, /the driver is closed/);
      await d.close(); // twice is fine
    });

    it('fails the request in flight and closes the connection', async (t) => {
      const device = await startScriptedDevice(() => undefined); // never answers
      t.after(device.close);
      const before = await liveResources();
      const d = driver(t, { port: device.port, device: 'silent', timeoutMs: 10_000 });
      const pending = d.read([point('v', 'input-register', 0, 'uint16')]).catch((e: unknown) => e);
      await until(() => device.requests.length === 1, 2000, 'the request');
      await d.close();
      const err = await pending;
      assert.ok(err instanceof DeviceUnreachableError, String(err));
      assert.match(err.message, /^silent: read input-register 0\+1: the driver was closed$/);
      assert.deepEqual(await liveResources(), before);
    });

    it('abandons a connection attempt in progress', async (t) => {
      // A non-routable address: the TCP connect hangs until our timeout.
      const before = await liveResources();
      const d = createModbusTcpDriver({ host: '10.255.255.1', port: 502, device: 'far', timeoutMs: 10_000 });
      t.after(() => d.close());
      assert.equal(d.state, 'connecting');
      const started = Date.now();
      await d.close();
      assert.ok(Date.now() - started < 500, 'close did not wait for the connect timeout');
      assert.deepEqual(await liveResources(), before);
    });
  });
});
