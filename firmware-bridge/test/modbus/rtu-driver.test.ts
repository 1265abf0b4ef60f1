/**
 * The Modbus RTU driver and its shared bus, on real lines: a serial line (a pty pair joined by
 * socat) and RTU over TCP (a server standing in for a serial-to-Ethernet converter). The same
 * behaviours are checked on both; transport-specific ones follow.
 */
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { DeviceProtocolError, DeviceTimeoutError, DeviceUnreachableError, InvalidRequestError, ModbusExceptionError } from '../../src/errors.js';
import { openRtuOverTcpBus, openSerialBus } from '../../src/modbus/open-bus.js';
import type { ModbusBus, ModbusBusOptions } from '../../src/modbus/rtu-bus.js';
import { createModbusRtuDriver, type ModbusRtuDriver, type ModbusRtuOptions } from '../../src/modbus/rtu-driver.js';
import type { ModbusTable, RawType } from '../../src/modbus/wire.js';
import type { DriverState, PointRef } from '../../src/types.js';
import { emptyMemory, freePort, setWords, until, type DeviceMemory } from '../helpers/modbus-devices.js';
import { openPtyPair } from '../helpers/pty.js';
import { NOISE, startConverterDevices, startSerialDevices, type RtuDevices } from '../helpers/rtu-devices.js';

const point = (key: string, table: ModbusTable, address: number, type: RawType, wordOrder: 'big' | 'little' = 'big'): PointRef => ({
  key,
  wire: { table, address, type, byteOrder: 'big', wordOrder },
});

/** A loop card's map; `total` differs per unit so that an answer from the wrong unit shows. */
function cardMemory(unitId: number): DeviceMemory {
  const memory = emptyMemory();
  setWords(memory.input, 0, [unitId, 0x5678]); // uint32 unit * 65536 + 0x5678
  setWords(memory.input, 2, [0xfffb]); // int16 -5
  setWords(memory.input, 3, [0xe979, 0x42f6]); // float32 123.456, word-swapped (CDAB)
  setWords(memory.input, 5, [0x0000, 0x0001, 0x0000, 0x0002]); // uint64 2^32 + 2
  setWords(memory.holding, 10, [500, 0, 0]);
  memory.coils.set(0, true).set(1, false);
  memory.discrete.set(7, true);
  return memory;
}
const totalOf = (unitId: number): number => unitId * 65536 + 0x5678;

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
const TOTAL = [point('total', 'input-register', 0, 'uint32')];

/** The devices' end of a line, set up and waiting for a bus. */
interface FarEnd {
  /** Units 1, 2 and 3 are on the line with cardMemory, answering unless told otherwise. */
  devices: RtuDevices;
  /** Opens a bus on the other end; the test closes it when it ends. */
  openBus(t: TestContext, options: ModbusBusOptions): ModbusBus;
  /** Drops the TCP connections (RTU over TCP only), as a converter that restarts. */
  dropConnections?(): void;
}

interface Line {
  bus: ModbusBus;
  devices: RtuDevices;
  far: FarEnd;
}

interface Transport {
  name: string;
  /** The far end alone; everything is closed when the test ends. */
  start(t: TestContext): Promise<FarEnd>;
}

function withCards(devices: RtuDevices): RtuDevices {
  for (const unitId of [1, 2, 3]) devices.memory.set(unitId, cardMemory(unitId));
  return devices;
}

/** The far end and an open bus to it. */
async function setup(transport: Transport, t: TestContext, options: ModbusBusOptions = {}): Promise<Line> {
  const far = await transport.start(t);
  const bus = far.openBus(t, options);
  await until(() => bus.state === 'connected', 3000, `bus ${bus.name} to open`);
  return { bus, devices: far.devices, far };
}

const serial: Transport = {
  name: 'serial line (pty pair)',
  async start(t) {
    const pty = await openPtyPair();
    t.after(() => pty.close());
    const far = await startSerialDevices(pty.devicePath);
    t.after(() => far.close());
    return {
      devices: withCards(far.devices),
      openBus(t, options) {
        // 115200 baud: t3.5 is the fixed 1.75 ms (Serial Line §2.5.1.1), so timings in the tests stay crisp.
        const bus = openSerialBus({ path: pty.busPath, baudRate: 115200, ...options });
        t.after(() => bus.close());
        return bus;
      },
    };
  },
};

const rtuOverTcp: Transport = {
  name: 'RTU over TCP (serial-to-Ethernet converter)',
  async start(t) {
    const far = await startConverterDevices();
    t.after(() => far.close());
    return {
      devices: withCards(far.devices),
      dropConnections: far.dropConnections,
      openBus(t, options) {
        const bus = openRtuOverTcpBus({ host: '127.0.0.1', port: far.port, baudRate: 115200, ...options });
        t.after(() => bus.close());
        return bus;
      },
    };
  },
};

function driver(t: TestContext, bus: ModbusBus, unitId: number, options: Partial<ModbusRtuOptions> = {}): ModbusRtuDriver {
  const d = createModbusRtuDriver({ bus, unitId, device: `lc-${unitId}`, ...options });
  t.after(() => d.close());
  return d;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

function timed<T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = performance.now();
  return Promise.allSettled([promise]).then(([result]) => ({ ms: performance.now() - started, result: result! }));
}

for (const transport of [serial, rtuOverTcp]) {
  describe(`Modbus RTU driver on a ${transport.name} (Modbus over Serial Line V1.02)`, () => {
    it('reads every point with one request per table and decodes each raw type (§2.5.1 frames, App Protocol §6.1-§6.4)', async (t) => {
      const { bus, devices } = await setup(transport, t);
      const d = driver(t, bus, 1);
      const values = await d.read(CARD_POINTS);
      assert.deepEqual(Object.fromEntries([...values].map(([k, v]) => [k, k === 'speed' ? Math.round(v * 1000) / 1000 : v])), {
        total: totalOf(1),
        temperature: -5,
        speed: 123.456,
        uptime: 2 ** 32 + 2,
        period: 500,
        relay1: 1,
        relay2: 0,
        door: 1,
      });
      assert.deepEqual(
        devices.requests.map((r) => r.functionCode).sort(),
        [1, 2, 3, 4],
        'one request per table',
      );
      assert.equal(d.state, 'connected');
      assert.ok(d.endpoint.startsWith(transport === serial ? 'modbus-rtu:///' : 'modbus-rtu-tcp://127.0.0.1:'), d.endpoint);
      assert.match(d.endpoint, transport === serial ? /\?unit=1&baud=115200$/ : /\/1$/);
    });

    it('reassembles an answer that arrives in pieces', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'answer', splitAfter: 3 });
      const d = driver(t, bus, 1);
      assert.equal((await d.read(CARD_POINTS)).get('total'), totalOf(1));
    });

    it('serves two cards while a third unit is silent: the silent one costs one timeout per round, no more (§2.4.1)', async (t) => {
      const { bus, devices } = await setup(transport, t, { unitBackoff: { afterTimeouts: 100 } });
      devices.behaviour.set(3, { kind: 'silent' });
      const timeoutMs = 600;
      const [d1, d2, d3] = [1, 2, 3].map((unitId) => driver(t, bus, unitId, { timeoutMs }));
      for (let round = 0; round < 2; round++) {
        const first = devices.requests.length;
        // The silent unit's request goes first in the queue: the worst case for the others.
        const started = performance.now();
        const [r3, r1, r2] = await Promise.allSettled([d3!.read(TOTAL), d1!.read(CARD_POINTS), d2!.read(CARD_POINTS)]);
        const ms = performance.now() - started;
        assert.equal(r1.status === 'fulfilled' && r1.value.get('total'), totalOf(1));
        assert.equal(r2.status === 'fulfilled' && r2.value.get('total'), totalOf(2));
        assert.ok(r3.status === 'rejected' && r3.reason instanceof DeviceTimeoutError, String(r3.status === 'rejected' && r3.reason));
        assert.match(r3.reason.message, /^lc-3: read input-register 0\+2: no answer within 600 ms$/);
        // On the wire: the silent unit's one request, then the 8 others once its timeout is over.
        assert.deepEqual(devices.requests.slice(first).map((r) => r.unitId), [3, 1, 2, 1, 2, 1, 2, 1, 2]);
        // One timeout and 8 quick requests (about 40 ms here, a few hundred on a loaded machine): less than two timeouts.
        assert.ok(ms < 2 * timeoutMs, `round ${round} took ${ms.toFixed(0)} ms`);
      }
      assert.equal(bus.stats().timeouts, 2);
      assert.equal(devices.overlaps, 0);
    });

    it('sets a silent unit aside after N timeouts: its requests fail fast naming unit and bus; it is probed and comes back', async (t) => {
      const { bus, devices } = await setup(transport, t, { unitBackoff: { afterTimeouts: 2, initialDelayMs: 300, maxDelayMs: 300, jitter: 0 } });
      devices.behaviour.set(3, { kind: 'silent' });
      const [d1, d2, d3] = [1, 2, 3].map((unitId) => driver(t, bus, unitId, { timeoutMs: 250 }));
      const states: DriverState[] = [];
      d3!.on('state', (s) => states.push(s));
      for (let i = 0; i < 2; i++) assert.ok((await failure(d3!.read(TOTAL))) instanceof DeviceTimeoutError);
      assert.equal(d3!.state, 'backoff');
      assert.deepEqual(states, ['backoff']);
      assert.equal(bus.unitState(3), 'backoff');
      assert.deepEqual(bus.stats().unitsInBackoff, [3]);
      assert.equal(d1!.state, 'connected', 'the other units are not affected');

      // Set aside: no wire time, an immediate DeviceUnreachableError; the others are served as usual.
      const sent = devices.requestsFor(3).length;
      const setAside = timed(d3!.read(TOTAL));
      const round = await Promise.all([setAside, d1!.read(CARD_POINTS), d2!.read(CARD_POINTS)]);
      const [{ ms, result }, v1, v2] = round;
      assert.ok(ms < 50, `refused in ${ms.toFixed(1)} ms, without waiting for the wire`);
      assert.ok(result.status === 'rejected');
      const err: unknown = result.reason;
      assert.ok(err instanceof DeviceUnreachableError, String(err));
      assert.equal(err.device, 'lc-3');
      assert.match(err.message, new RegExp(`^lc-3: read input-register 0\\+2: unit 3 on bus ${bus.name.replace(/[.]/g, '\\.')} did not answer the last 2 requests; next try in \\d+ ms$`));
      assert.equal(v1.get('total'), totalOf(1));
      assert.equal(v2.get('total'), totalOf(2));
      assert.equal(devices.requestsFor(3).length, sent, 'nothing was sent to unit 3');

      // Past the pause, one request goes out as a probe; still silent, so the pause starts again.
      await new Promise((r) => setTimeout(r, 320));
      assert.ok((await failure(d3!.read(TOTAL))) instanceof DeviceTimeoutError);
      assert.equal(devices.requestsFor(3).length, sent + 1, 'one probe');
      assert.ok((await failure(d3!.read(TOTAL))) instanceof DeviceUnreachableError);

      // It answers again: the next probe brings it back.
      devices.behaviour.set(3, { kind: 'answer' });
      const giveUpAt = Date.now() + 2000;
      let back: unknown;
      while (!((back = await d3!.read(TOTAL).catch((e: unknown) => e)) instanceof Map) && Date.now() < giveUpAt) {
        assert.ok(back instanceof DeviceUnreachableError, String(back));
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(back instanceof Map, String(back));
      assert.equal(back.get('total'), totalOf(3));
      assert.equal(bus.unitState(3), 'answering');
      assert.deepEqual(states, ['backoff', 'connected']);
      assert.deepEqual(bus.stats().unitsInBackoff, []);
    });

    it('a bad CRC is a DeviceProtocolError naming the CRC, and the next request works (§2.5.1.2)', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'bad-crc' });
      const d1 = driver(t, bus, 1, { timeoutMs: 1000 });
      const d2 = driver(t, bus, 2);
      const { ms, result } = await timed(d1.read(TOTAL));
      assert.ok(result.status === 'rejected' && result.reason instanceof DeviceProtocolError, String(result.status === 'rejected' && result.reason));
      assert.equal(result.reason.code, 'DeviceProtocolError');
      assert.match(result.reason.message, /^lc-1: read input-register 0\+2: CRC 0x[0-9a-f]{4} of the answer does not match its computed 0x[0-9a-f]{4} \(Serial Line §2\.5\.1\.2\)$/);
      assert.ok(ms < 500, `reported when the answer is complete, not at the timeout (${ms.toFixed(0)} ms)`);
      assert.equal((await d2.read(TOTAL)).get('total'), totalOf(2));
      devices.behaviour.delete(1);
      assert.equal((await d1.read(TOTAL)).get('total'), totalOf(1));
      assert.equal(bus.stats().crcErrors, 1);
      assert.equal(d1.state, 'connected', 'a unit that answers, however badly, is not set aside');
    });

    it('noise without an answer is a DeviceProtocolError showing the bytes; the next request starts clean', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'garbage' });
      const d1 = driver(t, bus, 1, { timeoutMs: 100 });
      const err = await failure(d1.read(TOTAL));
      assert.ok(err instanceof DeviceProtocolError, String(err));
      assert.match(err.message, /^lc-1: read input-register 0\+2: 7 bytes that hold no answer from unit 1 to function 4: 00 ff 55 aa 13 37 42$/);
      assert.equal((await driver(t, bus, 2).read(TOTAL)).get('total'), totalOf(2));
      assert.equal(bus.stats().malformed, 1);
    });

    it('noise before and after an answer is discarded and the answer is read', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'noisy' });
      const d1 = driver(t, bus, 1);
      const d2 = driver(t, bus, 2);
      for (let i = 0; i < 3; i++) {
        const [v1, v2] = await Promise.all([d1.read(CARD_POINTS), d2.read(CARD_POINTS)]);
        assert.equal(v1.get('total'), totalOf(1));
        assert.equal(v1.get('door'), 1);
        assert.equal(v2.get('total'), totalOf(2));
      }
      await until(() => bus.stats().discardedBytes >= 4 * 2 * 3 * NOISE.length, 1000, 'the trailing noise');
    });

    it('an answer from another unit is a DeviceProtocolError, never taken as data (§2.4.1 unicast)', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'as-unit', unitId: 2 });
      const d1 = driver(t, bus, 1, { timeoutMs: 100 });
      const err = await failure(d1.read(TOTAL));
      assert.ok(err instanceof DeviceProtocolError, String(err));
      assert.match(err.message, /expected an answer from unit 1 to function 4, got a frame from unit 2 with function 4/);
    });

    it('a late answer times out and is not taken for the answer to the next request (§2.4.1 turnaround timeout)', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'late', ms: 150 });
      const d1 = driver(t, bus, 1, { timeoutMs: 80 });
      const d2 = driver(t, bus, 2, { timeoutMs: 300 });
      // Unit 2 answers 100 ms after its request, so unit 1's late answer arrives while unit 2's is awaited.
      devices.behaviour.set(2, { kind: 'answer', delayMs: 100 });
      const err = await failure(d1.read(TOTAL));
      assert.ok(err instanceof DeviceTimeoutError, String(err));
      assert.equal((await d2.read(TOTAL)).get('total'), totalOf(2));
      devices.behaviour.delete(1);
      assert.equal((await d1.read(TOTAL)).get('total'), totalOf(1));
    });

    it('names a Modbus exception (App Protocol §7) and carries on', async (t) => {
      const { bus, devices } = await setup(transport, t);
      const d1 = driver(t, bus, 1);
      const missing = await failure(d1.read([point('missing', 'input-register', 900, 'uint32')]));
      assert.ok(missing instanceof ModbusExceptionError, String(missing));
      assert.equal(missing.message, 'lc-1: read input-register 900+2: Modbus exception 2 (IllegalDataAddress)');
      devices.behaviour.set(1, { kind: 'exception', code: 6 });
      const busy = await failure(d1.read(TOTAL));
      assert.ok(busy instanceof ModbusExceptionError);
      assert.equal(busy.code, 'ModbusServerDeviceBusy');
      devices.behaviour.delete(1);
      assert.equal((await d1.read(TOTAL)).get('total'), totalOf(1));
      assert.equal(bus.stats().exceptions, 2);
    });

    it('puts one request on the wire at a time, FIFO across devices, with the inter-frame silence between (§2.4.1, §2.5.1.1)', async (t) => {
      const { bus, devices } = await setup(transport, t, { interFrameDelayMs: 15 });
      for (const unitId of [1, 2, 3]) devices.behaviour.set(unitId, { kind: 'answer', delayMs: 3, splitAfter: 4 });
      const drivers = [1, 2, 3].map((unitId) => driver(t, bus, unitId));
      const reads: Promise<Map<string, number>>[] = [];
      for (let i = 0; i < 4; i++) for (const d of drivers) reads.push(d.read(TOTAL));
      assert.equal(bus.stats().queueDepth, 11, 'one on the wire, eleven waiting');
      const values = await Promise.all(reads);
      assert.deepEqual(
        values.map((v) => v.get('total')),
        Array.from({ length: 4 }, () => [1, 2, 3].map(totalOf)).flat(),
      );
      assert.deepEqual(
        devices.requests.map((r) => r.unitId),
        [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3],
        'FIFO order across devices',
      );
      assert.equal(devices.overlaps, 0, 'never a request while an answer was due');
      assert.equal(devices.gapsMs.length, 11);
      assert.ok(Math.min(...devices.gapsMs) >= 14, `gaps ${devices.gapsMs.map((g) => g.toFixed(1)).join(', ')} ms`);
      const stats = bus.stats();
      assert.equal(stats.requests, 12);
      assert.equal(stats.answers, 12);
      assert.equal(stats.maxQueueDepth, 11);
      assert.equal(stats.queueDepth, 0);
    });

    it('writes FC6, FC16 for wide values and FC5, read back from the device', async (t) => {
      const { bus, devices } = await setup(transport, t);
      const d = driver(t, bus, 2);
      await d.write(point('period', 'holding-register', 10, 'uint16'), 900);
      await d.write(point('limit', 'holding-register', 11, 'int32'), -70000);
      await d.write(point('relay2', 'coil', 1, 'bool'), 1);
      const memory = devices.memory.get(2)!;
      assert.equal(memory.holding.get(10), 900);
      assert.deepEqual([memory.holding.get(11), memory.holding.get(12)], [0xfffe, 0xee90]);
      assert.equal(memory.coils.get(1), true);
      assert.deepEqual(devices.requests.map((r) => r.functionCode), [6, 16, 5]);
      assert.equal((await d.read([point('limit', 'holding-register', 11, 'int32')])).get('limit'), -70000);
      assert.equal(devices.memory.get(1)!.holding.get(10), 500, 'unit 1 untouched');
    });

    it('refuses writes a point cannot take and points it cannot read, before anything goes on the wire', async (t) => {
      const { bus, devices } = await setup(transport, t);
      const d = driver(t, bus, 1);
      const write = await failure(d.write(point('total', 'input-register', 0, 'uint32'), 1));
      assert.ok(write instanceof InvalidRequestError);
      assert.match(write.message, /^lc-1: write total = 1 to input-register 0: a input-register is read-only/);
      const read = await failure(d.read([point('tail', 'input-register', 65535, 'uint32')]));
      assert.ok(read instanceof InvalidRequestError);
      assert.equal(devices.requests.length, 0);
    });

    it('close() of a driver fails its own requests only; the bus and the other drivers go on', async (t) => {
      const { bus, devices } = await setup(transport, t);
      devices.behaviour.set(1, { kind: 'answer', delayMs: 50 });
      const d1 = driver(t, bus, 1);
      const d2 = driver(t, bus, 2);
      const inFlight = d1.read(TOTAL).catch((e: unknown) => e);
      const queued = d1.read(TOTAL).catch((e: unknown) => e);
      const other = d2.read(TOTAL);
      await until(() => devices.requests.length === 1, 1000, 'the first request');
      await d1.close();
      for (const err of [await inFlight, await queued]) {
        assert.ok(err instanceof DeviceUnreachableError, String(err));
        assert.match(err.message, /^lc-1: read input-register 0\+2: the driver was closed$/);
      }
      assert.equal(d1.state, 'closed');
      assert.equal((await other).get('total'), totalOf(2));
      assert.equal(bus.state, 'connected');
      assert.equal(devices.overlaps, 0, 'unit 2 waited for the answer of the abandoned request');
      assert.match(String(await failure(d1.read(TOTAL))), /the driver is closed/);
      await d1.close(); // twice is fine
    });

    it('bus.close() fails whatever is pending and leaves nothing running', async (t) => {
      const far = await transport.start(t);
      const before = await liveResources();
      const bus = far.openBus(t, {});
      const { devices } = far;
      await until(() => bus.state === 'connected', 3000, 'the bus to open');
      assert.ok((await liveResources()).length > before.length, 'the bus holds its line open');
      devices.behaviour.set(1, { kind: 'silent' });
      const d1 = driver(t, bus, 1, { timeoutMs: 10_000 });
      const d2 = driver(t, bus, 2);
      const states: DriverState[] = [];
      d2.on('state', (s) => states.push(s));
      const pending = [d1.read(TOTAL), d2.read(TOTAL)].map((p) => p.catch((e: unknown) => e));
      await until(() => devices.requests.length === 1, 1000, 'the first request');
      await bus.close();
      for (const err of await Promise.all(pending)) {
        assert.ok(err instanceof DeviceUnreachableError, String(err));
        assert.match(err.message, new RegExp(`bus ${bus.name.replace(/[.]/g, '\\.')} was closed$`));
      }
      assert.equal(bus.state, 'closed');
      assert.deepEqual(states, ['closed']);
      assert.match(String(await failure(d2.read(TOTAL))), /is closed/);
      await d1.close();
      await d2.close();
      await bus.close(); // twice is fine
      // The far end is still there: all that went is the bus's.
      assert.deepEqual(await liveResources(), before);
    });
  });
}

/**
 * Timers, sockets and open terminals (a serial port's poller is not among Node's active resources,
 * its file descriptor is), once handles closed just now are gone.
 */
async function liveResources(): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 20));
  const terminals = readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith('/dev/pts/') || target === '/dev/ptmx' ? [`tty ${target}`] : [];
    } catch {
      return []; // the descriptor readdir itself used, closed by now
    }
  });
  const handles = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'FSReqCallback');
  return [...handles, ...terminals].sort();
}

describe('Modbus RTU bus transports', () => {
  it('a serial bus on a missing device keeps retrying in the background; requests fail fast naming the path', async (t) => {
    const before = await liveResources();
    const bus = openSerialBus({ path: '/dev/quanlink-no-such-tty', reconnect: { initialDelayMs: 40, maxDelayMs: 100 } });
    t.after(() => bus.close());
    const states: string[] = [];
    bus.on('state', (s) => states.push(s));
    const d = driver(t, bus, 1);
    const err = await failure(d.read(TOTAL));
    assert.ok(err instanceof DeviceUnreachableError, String(err));
    assert.match(err.message, /^lc-1: read input-register 0\+2: bus \/dev\/quanlink-no-such-tty is not open: open failed: .*No such file or directory.*; next attempt in \d+ ms$/);
    await until(() => states.filter((s) => s === 'backoff').length >= 2, 2000, 'a second attempt');
    assert.equal(d.state, 'backoff');
    await bus.close();
    assert.equal(d.state, 'closed');
    await d.close();
    assert.deepEqual(await liveResources(), before);
  });

  it('RTU over TCP: a dropped converter connection fails the request on the wire, and the bus reconnects', async (t) => {
    const { bus, devices, far } = await setup(rtuOverTcp, t, { reconnect: { initialDelayMs: 30, maxDelayMs: 100 } });
    let connections = 0;
    bus.on('state', (state) => void (state === 'connected' && (connections += 1)));
    devices.behaviour.set(1, { kind: 'silent' });
    const d1 = driver(t, bus, 1, { timeoutMs: 5000 });
    const pending = d1.read(TOTAL).catch((e: unknown) => e);
    await until(() => devices.requests.length === 1, 1000, 'the request');
    far.dropConnections!();
    const err = await pending;
    assert.ok(err instanceof DeviceUnreachableError, String(err));
    assert.match(err.message, new RegExp(`^lc-1: read input-register 0\\+2: bus ${bus.name.replace(/[.]/g, '\\.')}: `));
    await until(() => connections === 1, 3000, 'the reconnection');
    devices.behaviour.delete(1);
    assert.equal((await d1.read(TOTAL)).get('total'), totalOf(1));
  });

  it('RTU over TCP to a port nobody listens on: DeviceUnreachable at once, with the reason', async (t) => {
    const port = await freePort();
    const bus = openRtuOverTcpBus({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 5000 } });
    t.after(() => bus.close());
    await until(() => bus.state === 'backoff', 2000, 'backoff');
    const err = await failure(driver(t, bus, 4).read(TOTAL));
    assert.ok(err instanceof DeviceUnreachableError);
    assert.match(err.message, /^lc-4: read input-register 0\+2: bus 127\.0\.0\.1:\d+ is not open: open failed: connect ECONNREFUSED .*; next attempt in \d+ ms$/);
    assert.equal(bus.stats().failedFast, 1);
  });

  it('refuses bad options at creation', async (t) => {
    const bus = openRtuOverTcpBus({ host: '127.0.0.1', port: await freePort(), reconnect: { initialDelayMs: 5000 } });
    t.after(() => bus.close());
    const badDrivers: [Partial<ModbusRtuOptions>, RegExp][] = [
      [{ unitId: 0 }, /unitId 0 is outside 1\.\.247/],
      [{ unitId: 248 }, /unitId 248 is outside 1\.\.247/],
      [{ timeoutMs: 0 }, /timeoutMs must be > 0/],
      [{ maxRegistersPerRead: 126 }, /maxRegistersPerRead must be an integer in 4\.\.125/],
      [{ bus: undefined as unknown as ModbusBus }, /bus is missing/],
    ];
    for (const [options, problem] of badDrivers) assert.throws(() => createModbusRtuDriver({ bus, unitId: 1, ...options }), problem);
    const badBuses: [() => unknown, RegExp][] = [
      [() => openSerialBus({ path: '' }), /path is missing/],
      [() => openSerialBus({ path: '/dev/x', baudRate: 0 }), /baudRate must be an integer 300\.\.4000000, got 0/],
      [() => openSerialBus({ path: '/dev/x', parity: 'mark' as 'odd' }), /parity must be none, even or odd/],
      [() => openSerialBus({ path: '/dev/x', dataBits: 7 as 8 }), /RTU needs 8 data bits/],
      [() => openSerialBus({ path: '/dev/x', stopBits: 3 as 1 }), /stopBits must be 1 or 2/],
      [() => openSerialBus({ path: '/dev/x', interFrameDelayMs: -1 }), /interFrameDelayMs must be >= 0/],
      [() => openSerialBus({ path: '/dev/x', unitBackoff: { afterTimeouts: 0 } }), /unitBackoff\.afterTimeouts must be an integer >= 1/],
      [() => openRtuOverTcpBus({ host: '', port: 502 }), /host is missing/],
      [() => openRtuOverTcpBus({ host: 'converter', port: 70000 }), /port 70000 is outside 1\.\.65535/],
    ];
    for (const [open, problem] of badBuses) assert.throws(open, problem);
  });
});
