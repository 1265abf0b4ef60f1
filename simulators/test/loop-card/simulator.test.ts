import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuiltinProfiles, type DeviceProfile } from '@quanlink/device-profiles';
import { decodeValue, registerCount } from '@quanlink/firmware-bridge';
import { startLoopCardSimulator, type LoopCardOptions, type LoopCardSimulator } from '../../src/loop-card/simulator.js';
import { TrafficModel } from '../../src/loop-card/traffic.js';
import { lastWindowOf } from '../helpers/traffic-oracle.js';
import {
  RawConnection,
  capturingLogger,
  closeClient,
  connectClient,
  isException,
  isTimeout,
  mbap,
  pointOf,
  readPointRaw,
  sleep,
  waitFor,
  within,
  type ModbusClient,
} from '../helpers/modbus-clients.js';

const U32 = 2 ** 32;
let lc8: DeviceProfile;
let lanes: number[];

/** Simulators and clients a test started, closed after it whatever happens. */
function scope() {
  const sims: LoopCardSimulator[] = [];
  const clients: ModbusClient[] = [];
  const raws: RawConnection[] = [];
  const { logger, records } = capturingLogger();
  return {
    logs: records,
    async sim(opts: LoopCardOptions = {}): Promise<LoopCardSimulator> {
      const s = await startLoopCardSimulator({ profile: lc8, logger, ...opts });
      sims.push(s);
      return s;
    },
    async client(port: number, opts?: { unitId?: number; timeoutMs?: number }): Promise<ModbusClient> {
      const c = await connectClient(port, opts);
      clients.push(c);
      return c;
    },
    async raw(port: number): Promise<RawConnection> {
      const r = await RawConnection.open(port);
      raws.push(r);
      return r;
    },
    async close(): Promise<void> {
      for (const r of raws) r.close();
      await Promise.all(clients.map(closeClient));
      await Promise.all(sims.map((s) => s.close()));
    },
  };
}

async function readCounts(client: ModbusClient): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const lane of lanes) counts[String(lane)] = await readPointRaw(client, pointOf(lc8.points, 'vehicle-count', lane));
  return counts;
}

/** A read request PDU for the table of a point: FC 4 for input registers, FC 3 for holding registers. */
function readPdu(table: string, address: number, quantity: number): Buffer {
  const pdu = Buffer.alloc(5);
  pdu[0] = table === 'input-register' ? 4 : 3;
  pdu.writeUInt16BE(address, 1);
  pdu.writeUInt16BE(quantity, 3);
  return pdu;
}

/** A register address in the count point's table that the profile does not define. */
function undefinedAddress(): number {
  const table = pointOf(lc8.points, 'vehicle-count', 1).wire.table;
  const used = new Set<number>();
  for (const p of lc8.points.filter((q) => q.wire.table === table)) {
    for (let i = 0; i < registerCount(p.wire.type); i++) used.add(p.wire.address + i);
  }
  let address = 0;
  while (used.has(address)) address++;
  return address;
}

before(async () => {
  const profile = (await loadBuiltinProfiles()).get('quanlink-lc8');
  assert.ok(profile, 'builtin profile quanlink-lc8');
  lc8 = profile;
  lanes = Array.from({ length: lc8.lanes ?? 0 }, (_, i) => i + 1);
  assert.equal(lanes.length, 8);
});

describe('loop card simulator: registers against ground truth (modbus-serial client)', () => {
  const t = scope();
  after(() => t.close());

  it('serves every quantity at the profile address: counts = truth, occupancy and speed = the seeded model, uptime = sim seconds', async () => {
    const sim = await t.sim({ seed: 5, ratePerLane: 1, timeScale: 20 });
    await sleep(600);
    sim.pause();
    const truth = sim.truth();
    assert.ok(truth.total > 40, `only ${truth.total} vehicles in ${truth.simTimeS} s`);
    const model = new TrafficModel({ lanes: 8, seed: 5, ratePerLane: 1 });
    model.advanceTo(truth.simTimeS);
    const client = await t.client(sim.port);
    let speedsSeen = 0;
    for (const lane of lanes) {
      const count = pointOf(lc8.points, 'vehicle-count', lane);
      const occupancy = pointOf(lc8.points, 'occupancy', lane);
      const speed = pointOf(lc8.points, 'speed', lane);
      const window = lastWindowOf(model, lane);
      assert.equal(await readPointRaw(client, count), truth.lanes[String(lane)], `lane ${lane} count`);
      assert.equal(
        await readPointRaw(client, occupancy),
        Math.round((window.occupancyPct - occupancy.offset) / occupancy.scale),
        `lane ${lane} occupancy`,
      );
      const speedRaw = await readPointRaw(client, speed);
      assert.equal(speedRaw, Math.round((window.speedKmh - speed.offset) / speed.scale), `lane ${lane} speed`);
      const occupancyPct = (await readPointRaw(client, occupancy)) * occupancy.scale + occupancy.offset;
      const speedKmh = speedRaw * speed.scale + speed.offset;
      assert.ok(occupancyPct >= 0 && occupancyPct <= 100, `occupancy ${occupancyPct}`);
      const free = model.freeSpeed(lane);
      const [slowest, fastest] = [free.meanKmh - 3 * free.sdKmh - 0.05, free.meanKmh + 3 * free.sdKmh + 0.05];
      assert.ok(speedKmh === 0 || (speedKmh >= slowest && speedKmh <= fastest), `lane ${lane} speed ${speedKmh} outside the lane's ${slowest}..${fastest}`);
      if (speedKmh > 0) speedsSeen++;
    }
    assert.ok(speedsSeen > 0, 'some lane had vehicles in the last window');
    assert.equal(await readPointRaw(client, pointOf(lc8.points, 'uptime')), Math.floor(truth.simTimeS));
    assert.equal(await readPointRaw(client, pointOf(lc8.points, 'firmware-version')), 0x0100);
    for (const p of lc8.points) await readPointRaw(client, p); // every point the profile defines is served

    // The lane block is contiguous in quanlink-lc8: one read of all of it decodes to the same values.
    const lanePoints = lc8.points.filter((p) => p.lane !== undefined);
    const first = Math.min(...lanePoints.map((p) => p.wire.address));
    const last = Math.max(...lanePoints.map((p) => p.wire.address + registerCount(p.wire.type) - 1));
    const block = (await client.readInputRegisters(first, last - first + 1)).data;
    for (const p of lanePoints) {
      assert.equal(decodeValue(block, p.wire.address - first, p.wire), await readPointRaw(client, p), `${p.key} in one block read`);
    }
    assert.equal(lanes.reduce((sum, lane) => sum + truth.lanes[String(lane)]!, 0), truth.total);
  });

  it('same seed, same vehicles; another seed, other vehicles (durationS bounds the run)', async () => {
    const opts = { ratePerLane: 0.5, timeScale: 100, durationS: 20 };
    const [a, b, c] = await Promise.all([t.sim({ ...opts, seed: 7 }), t.sim({ ...opts, seed: 7 }), t.sim({ ...opts, seed: 8 })]);
    await waitFor(() => [a, b, c].every((s) => s.truth().simTimeS > 22), 5000, 'sim time past durationS');
    const [ta, tb, tc] = [a.truth(), b.truth(), c.truth()];
    assert.equal(ta.generating, false);
    assert.ok(ta.total > 30, `only ${ta.total} vehicles`);
    assert.deepEqual(ta.lanes, tb.lanes);
    assert.notDeepEqual(ta.lanes, tc.lanes);
    assert.deepEqual(await readCounts(await t.client(a.port)), ta.lanes);
    assert.deepEqual(await readCounts(await t.client(b.port)), tb.lanes);
  });

  it('after stopTraffic the count registers equal ground truth exactly and stay so', async () => {
    const sim = await t.sim({ seed: 3, ratePerLane: 3, timeScale: 10 });
    const client = await t.client(sim.port);
    const firstLane = pointOf(lc8.points, 'vehicle-count', 1);
    // While running, a register read never runs ahead of the truth read after it.
    for (let i = 0; i < 5; i++) {
      const reg = await readPointRaw(client, firstLane);
      assert.ok(reg <= sim.truth().lanes['1']!);
      await sleep(40);
    }
    sim.stopTraffic();
    const truth = sim.truth();
    assert.equal(truth.generating, false);
    assert.ok(truth.total > 20, `only ${truth.total} vehicles`);
    assert.deepEqual(await readCounts(client), truth.lanes);
    await sleep(300);
    assert.deepEqual(sim.truth().lanes, truth.lanes);
    assert.ok(sim.truth().simTimeS > truth.simTimeS, 'sim time goes on');
    assert.deepEqual(await readCounts(client), truth.lanes);
  });

  it('count registers wrap at 2^32 (uint32) while ground truth counts vehicles', async () => {
    const sim = await t.sim({ seed: 4, ratePerLane: 2, timeScale: 20, initialCounts: { 1: U32 - 3, 2: U32 - 100_000 } });
    await waitFor(() => sim.truth().lanes['1']! >= 5, 5000, 'lane 1 past the wrap');
    sim.stopTraffic();
    const truth = sim.truth();
    const client = await t.client(sim.port);
    const lane1 = await readPointRaw(client, pointOf(lc8.points, 'vehicle-count', 1));
    assert.equal(lane1, (U32 - 3 + truth.lanes['1']!) % U32);
    assert.ok(lane1 < truth.lanes['1']!, `lane 1 wrapped to ${lane1}`);
    assert.equal(await readPointRaw(client, pointOf(lc8.points, 'vehicle-count', 2)), U32 - 100_000 + truth.lanes['2']!);
    assert.equal(await readPointRaw(client, pointOf(lc8.points, 'vehicle-count', 3)), truth.lanes['3']);
  });
});

describe('loop card simulator: faults', () => {
  const t = scope();
  after(() => t.close());

  it('exception: every request is answered with the exception code until cleared (App Protocol 1.1b3 §7)', async () => {
    const sim = await t.sim({ seed: 1, startPaused: true });
    const client = await t.client(sim.port);
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    sim.setFault({ kind: 'exception', code: 6 });
    await assert.rejects(readPointRaw(client, count), isException(6));
    sim.setFault({ kind: 'exception', code: 4 });
    await assert.rejects(client.readHoldingRegisters(0, 1), isException(4));
    sim.setFault(null);
    assert.equal(await readPointRaw(client, count), 0);
  });

  it('delay: answers arrive late but right; a client with a shorter timeout times out', async () => {
    const sim = await t.sim({ seed: 2, ratePerLane: 2, timeScale: 20 });
    await sleep(200);
    sim.stopTraffic();
    const truth = sim.truth();
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    const patient = await t.client(sim.port, { timeoutMs: 2000 });
    const hasty = await t.client(sim.port, { timeoutMs: 100 });
    sim.setFault({ kind: 'delay', ms: 300 });
    const started = Date.now();
    assert.equal(await readPointRaw(patient, count), truth.lanes['1']);
    assert.ok(Date.now() - started >= 290, `answered after ${Date.now() - started} ms`);
    await assert.rejects(readPointRaw(hasty, count), isTimeout);
    sim.setFault(null);
    const again = Date.now();
    assert.equal(await readPointRaw(patient, count), truth.lanes['1']);
    assert.ok(Date.now() - again < 250, 'no delay once cleared');
  });

  it('silent: requests are read but never answered; the connection stays open', async () => {
    const sim = await t.sim({ seed: 3, startPaused: true });
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    const client = await t.client(sim.port, { timeoutMs: 200 });
    const raw = await t.raw(sim.port);
    sim.setFault({ kind: 'silent' });
    await assert.rejects(readPointRaw(client, count), isTimeout);
    raw.send(mbap(1, 1, readPdu(count.wire.table, count.wire.address, 2)));
    assert.equal(await raw.next(300), undefined);
    assert.equal(raw.closed, false);
    sim.setFault(null);
    raw.send(mbap(2, 1, readPdu(count.wire.table, count.wire.address, 2)));
    assert.equal((await raw.next())?.transactionId, 2);
  });

  it('garbage: a framed answer with a corrupt PDU; clients reject it, the server carries on', async () => {
    const sim = await t.sim({ seed: 4, startPaused: true });
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    const client = await t.client(sim.port, { timeoutMs: 500 });
    const raw = await t.raw(sim.port);
    sim.setFault({ kind: 'garbage' });
    await assert.rejects(readPointRaw(client, count), (err: unknown) => err instanceof Error && !isTimeout(err));
    const request = readPdu(count.wire.table, count.wire.address, 2);
    raw.send(mbap(0x4242, 1, request));
    const answer = await raw.next();
    assert.ok(answer, 'an answer arrived');
    assert.equal(answer.transactionId, 0x4242);
    assert.equal(answer.protocolId, 0);
    assert.equal(answer.unitId, 1);
    assert.equal(answer.pdu[0], request[0]);
    assert.equal(answer.pdu.length, 2 + 4 + 3, 'three bytes longer than the real answer');
    sim.setFault(null);
    raw.send(mbap(0x4243, 1, request));
    const good = await raw.next();
    assert.deepEqual(good?.pdu, Buffer.from([request[0]!, 4, 0, 0, 0, 0]));
    assert.equal(await readPointRaw(client, count), 0);
  });

  it('rejects faults it cannot play', async () => {
    const sim = await t.sim({ startPaused: true });
    assert.throws(() => sim.setFault({ kind: 'exception', code: 0 }), /exception code must be an integer 1\.\.255, got 0/);
    assert.throws(() => sim.setFault({ kind: 'delay', ms: -1 }), /delay ms must be >= 0/);
    assert.throws(() => sim.setFault({ kind: 'melt' } as never), /unknown fault kind "melt"/);
    assert.throws(() => sim.setFault({ kind: 'bad-crc' }), /Modbus TCP frames have no CRC; bad-crc needs an RTU transport/);
    assert.throws(() => sim.setFault({ kind: 'locked-on', lanes: [0] }), /lanes must be a non-empty list of lanes 1\.\.8, got \[0\]/);
    assert.throws(() => sim.setFault({ kind: 'dead', lanes: [] }), /lanes must be a non-empty list/);
    assert.throws(() => sim.setFault({ kind: 'chatter', lanes: [1], pulsesPerS: 100, pulseMs: 10 }), /would overlap/);
    assert.deepEqual(sim.faults(), [], 'refused faults change nothing');
  });

  it('drop: each request closes its connection unanswered; new connections are accepted and dropped in turn until cleared', async () => {
    const sim = await t.sim({ seed: 5, startPaused: true });
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    const request = readPdu(count.wire.table, count.wire.address, 2);
    const bystander = await t.raw(sim.port);
    sim.setFault({ kind: 'drop' });
    const first = await t.raw(sim.port);
    first.send(mbap(1, 1, request));
    await within(first.closedPromise, 1000, 'connection dropped');
    assert.equal(await first.next(50), undefined);
    assert.equal(bystander.closed, false, 'only the connection that asked is dropped');
    const second = await t.raw(sim.port);
    second.send(mbap(2, 1, request));
    await within(second.closedPromise, 1000, 'reconnection dropped too');
    sim.clearFault('drop');
    bystander.send(mbap(3, 1, request));
    assert.equal((await bystander.next())?.transactionId, 3);
  });

  it('faults combine: one communication fault at a time, lane faults per lane, and the list says what is on', async () => {
    const sim = await t.sim({ startPaused: true });
    sim.setFault({ kind: 'silent' });
    sim.setFault({ kind: 'delay', ms: 100 });
    sim.setFault({ kind: 'locked-on', lanes: [1, 2] });
    sim.setFault({ kind: 'dead', lanes: [2, 5], flagged: true });
    sim.setFault({ kind: 'constant' });
    assert.deepEqual(sim.faults(), [
      { kind: 'delay', ms: 100 },
      { kind: 'locked-on', lanes: [1], flagged: false },
      { kind: 'dead', lanes: [2, 5], flagged: true },
      { kind: 'constant' },
    ]);
    sim.clearFault('dead', [5]);
    sim.clearFault('delay');
    assert.deepEqual(sim.faults(), [
      { kind: 'locked-on', lanes: [1], flagged: false },
      { kind: 'dead', lanes: [2], flagged: true },
      { kind: 'constant' },
    ]);
    assert.deepEqual(sim.truth().faults, sim.faults());
    sim.setFault(null);
    assert.deepEqual(sim.faults(), []);
  });
});

describe('loop card simulator: connections', () => {
  const t = scope();
  after(() => t.close());

  it('closePort drops every client and refuses new ones; openPort listens on the same port with the state kept', async () => {
    const sim = await t.sim({ seed: 6, ratePerLane: 2, timeScale: 20 });
    await sleep(200);
    sim.pause();
    const truth = sim.truth();
    const port = sim.port;
    const client = await t.client(port, { timeoutMs: 300 });
    const raw = await t.raw(port);
    assert.deepEqual(await readCounts(client), truth.lanes);
    await sim.closePort();
    await within(raw.closedPromise, 1000, 'raw connection dropped');
    await assert.rejects(readPointRaw(client, pointOf(lc8.points, 'vehicle-count', 1)));
    await assert.rejects(connectClient(port), /ECONNREFUSED/);
    await sim.openPort();
    assert.equal(sim.port, port);
    assert.deepEqual(sim.truth(), truth);
    assert.deepEqual(await readCounts(await t.client(port)), truth.lanes);
  });

  it('serves several clients at once, each with consistent answers', async () => {
    const sim = await t.sim({ seed: 8, ratePerLane: 2, timeScale: 20 });
    await sleep(150);
    sim.pause();
    const truth = sim.truth();
    const clients = await Promise.all(Array.from({ length: 6 }, () => t.client(sim.port)));
    await Promise.all(
      clients.map(async (client, i) => {
        const lane = (i % 8) + 1;
        for (let k = 0; k < 25; k++) {
          assert.equal(await readPointRaw(client, pointOf(lc8.points, 'vehicle-count', lane)), truth.lanes[String(lane)]);
        }
      }),
    );
  });

  it('a malformed frame closes only that connection (TCP Implementation Guide V1.0b §3.1.3); others keep being served', async () => {
    const sim = await t.sim({ seed: 9, startPaused: true });
    const good = await t.client(sim.port);
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    for (const bad of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      mbap(1, 1, readPdu(count.wire.table, 0, 1)).fill(0x01, 2, 4), // protocol id 0x0101
      Buffer.from('000100000000', 'hex'), // length 0
      Buffer.from('00010000ffff01', 'hex'), // length 65535
    ]) {
      const raw = await t.raw(sim.port);
      raw.send(bad);
      await within(raw.closedPromise, 1000, `connection closed after ${bad.toString('hex')}`);
      assert.equal(await readPointRaw(good, count), 0);
    }
    const warnings = t.logs.filter((r) => r['operation'] === 'receive' && r['level'] === 40);
    assert.equal(warnings.length, 4);
    assert.match(String(warnings[0]!['device']), new RegExp(`^loop-card\\(quanlink-lc8, unit 1\\)@127\\.0\\.0\\.1:${sim.port}$`));
    assert.match(String(warnings[0]!['client']), /^127\.0\.0\.1:\d+$/);
    assert.match(String(warnings[0]!['problem']), /protocol id 21536, expected 0/);
    assert.match(String(warnings[3]!['problem']), /length field 65535 outside 2\.\.254/);
  });

  it('request errors are answered with exceptions and the connection stays open (App Protocol 1.1b3 §6, §7)', async () => {
    const sim = await t.sim({ seed: 10, startPaused: true });
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    const raw = await t.raw(sim.port);
    const fc = count.wire.table === 'input-register' ? 4 : 3;
    const cases: Array<[string, Buffer, Buffer]> = [
      ['§6.4 quantity 0', readPdu(count.wire.table, count.wire.address, 0), Buffer.from([fc | 0x80, 3])],
      ['§6.4 quantity 126', readPdu(count.wire.table, count.wire.address, 126), Buffer.from([fc | 0x80, 3])],
      ['§6.4 a register the profile does not define', readPdu(count.wire.table, undefinedAddress(), 1), Buffer.from([fc | 0x80, 2])],
      ['§6.3 holding registers at 65000', readPdu('holding-register', 65000, 1), Buffer.from([0x83, 2])],
      ['§6.12 byte count that disagrees with quantity', Buffer.from('1000000002030001', 'hex'), Buffer.from([0x90, 3])],
      ['§6.12 write to a register that is not writable', Buffer.concat([Buffer.from([0x10]), readPdu('x', count.wire.address, 1).subarray(1), Buffer.from([2, 0, 1])]), Buffer.from([0x90, 2])],
      ['§7 unsupported function 8 (diagnostics)', Buffer.from('0800000000', 'hex'), Buffer.from([0x88, 1])],
      ['§7 unsupported function 43', Buffer.from('2b0e0100', 'hex'), Buffer.from([0xab, 1])],
    ];
    let tid = 100;
    for (const [what, pdu, expected] of cases) {
      raw.send(mbap(++tid, 1, pdu));
      const answer = await raw.next();
      assert.equal(answer?.transactionId, tid, `${what}: answered`);
      assert.deepEqual(answer?.pdu, expected, what);
    }
    raw.send(mbap(++tid, 1, Buffer.from([0x00])));
    assert.equal(await raw.next(200), undefined, 'function code 0 has no exception response: no answer');
    raw.send(mbap(++tid, 1, readPdu(count.wire.table, count.wire.address, 2)));
    assert.deepEqual((await raw.next())?.pdu, Buffer.from([fc, 4, 0, 0, 0, 0]));
  });

  it('requests for another unit id get no answer, or exception 11 when configured (App Protocol 1.1b3 §7)', async () => {
    const count = pointOf(lc8.points, 'vehicle-count', 1);
    const request = readPdu(count.wire.table, count.wire.address, 2);
    const quiet = await t.sim({ unitId: 1, startPaused: true });
    const raw = await t.raw(quiet.port);
    raw.send(mbap(1, 2, request));
    raw.send(mbap(2, 0, request));
    assert.equal(await raw.next(300), undefined);
    raw.send(mbap(3, 1, request));
    assert.equal((await raw.next())?.transactionId, 3);

    const gateway = await t.sim({ unitId: 17, otherUnitIds: 'exception', startPaused: true });
    const raw2 = await t.raw(gateway.port);
    raw2.send(mbap(4, 2, request));
    const answer = await raw2.next();
    assert.equal(answer?.unitId, 2);
    assert.deepEqual(answer?.pdu, Buffer.from([request[0]! | 0x80, 11]));
    raw2.send(mbap(5, 17, request));
    assert.equal((await raw2.next())?.pdu[0], request[0]);
    assert.equal(gateway.unitId, 17);
  });

  it('pipelined requests in one segment are answered in order; a request split over segments is reassembled', async () => {
    const sim = await t.sim({ seed: 11, startPaused: true });
    const count = pointOf(lc8.points, 'vehicle-count', 2);
    const request = readPdu(count.wire.table, count.wire.address, 2);
    const raw = await t.raw(sim.port);
    raw.send(Buffer.concat([mbap(7, 1, request), mbap(8, 1, request), mbap(9, 1, request)]));
    const ids = [(await raw.next())?.transactionId, (await raw.next())?.transactionId, (await raw.next())?.transactionId];
    assert.deepEqual(ids, [7, 8, 9]);
    const frame = mbap(10, 1, request);
    for (const part of [frame.subarray(0, 3), frame.subarray(3, 8), frame.subarray(8)]) {
      raw.send(part);
      await sleep(20);
    }
    assert.equal((await raw.next())?.transactionId, 10);
  });

  it('rejects bad options before listening', async () => {
    await assert.rejects(startLoopCardSimulator({ profile: lc8, port: 70000 }), /port must be an integer 0\.\.65535, got 70000/);
    await assert.rejects(startLoopCardSimulator({ profile: lc8, unitId: 0 }), /unitId must be an integer 1\.\.255, got 0/);
    await assert.rejects(startLoopCardSimulator({ profile: lc8, initialCounts: { 9: 1 } }), /initialCounts: lane 9 outside 1\.\.8/);
    await assert.rejects(startLoopCardSimulator({ profile: lc8, initialCounts: { 1: -1 } }), /lane 1: count must be a non-negative integer/);
    await assert.rejects(startLoopCardSimulator({ profile: lc8, timeScale: 0 }), /timeScale must be a positive number/);
    await assert.rejects(startLoopCardSimulator({ profile: lc8, tickMs: 0 }), /tickMs must be > 0/);
    await assert.rejects(startLoopCardSimulator({ profile: lc8, ratePerLane: -1 }), /ratePerLane must be >= 0/);
  });
});
