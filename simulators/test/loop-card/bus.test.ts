/**
 * Several cards on one Modbus RTU line: on a real pseudo-terminal pair (socat) read with
 * modbus-serial's RTU client or raw frames, and as RTU frames over TCP (a serial-to-Ethernet
 * converter). Modbus over Serial Line V1.02: §2.1 broadcast, §2.2 addressing, §2.5.1 RTU framing,
 * §2.5.1.2 CRC.
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuiltinProfiles, type DeviceProfile, type ResolvedPoint } from '@quanlink/device-profiles';
import { startLoopCardBus, type LoopCardBus, type LoopCardBusOptions } from '../../src/loop-card/bus.js';
import type { CardOptions } from '../../src/loop-card/card.js';
import { capturingLogger, closeClient, isException, isTimeout, readPointRaw, sleep, within, type ModbusClient } from '../helpers/modbus-clients.js';
import { openSerialCable, type SerialCable } from '../../src/serial-cable.js';
import { RawLine, connectRtuSerialClient, connectRtuTcpClient, crc16, rtu } from '../helpers/rtu-clients.js';

const builtin = await loadBuiltinProfiles();
const lc8 = builtin.get('quanlink-lc8')!;
const ld4 = builtin.get('lanxin-ld4')!;
const countPoint = (profile: DeviceProfile, lane: number): ResolvedPoint => profile.points.find((p) => p.quantity === 'vehicle-count' && p.lane === lane)!;

/** lanxin-ld4 plus one writable holding register, for broadcast writes. */
const ld4Writable: DeviceProfile = {
  ...ld4,
  id: 'ld4-writable',
  points: [...ld4.points, { key: 'setpoint', resource: 'setpoint', wire: { table: 'holding-register', address: 8, type: 'uint16', byteOrder: 'big', wordOrder: 'big' }, scale: 1, offset: 0, cumulative: false, writable: true }],
};

/** What one test opened, closed after it whatever happens. */
function scope() {
  const closers: Array<() => Promise<void>> = [];
  const { logger, records } = capturingLogger();
  return {
    logs: records,
    async cable(): Promise<SerialCable> {
      const cable = await openSerialCable();
      closers.push(() => cable.close());
      return cable;
    },
    async bus(opts: Omit<LoopCardBusOptions, 'logger'>): Promise<LoopCardBus> {
      const bus = await startLoopCardBus({ logger, ...opts });
      closers.push(() => bus.close());
      return bus;
    },
    async client(connect: Promise<ModbusClient>): Promise<ModbusClient> {
      const client = await connect;
      closers.push(() => closeClient(client));
      return client;
    },
    async raw(open: Promise<RawLine>): Promise<RawLine> {
      const line = await open;
      closers.push(() => line.close());
      return line;
    },
    async close(): Promise<void> {
      // Clients before the bus, the bus before the cable.
      for (const close of closers.reverse().splice(0)) await close();
    },
  };
}

const twoCards = (extra: CardOptions = {}): CardOptions[] => [
  { unitId: 3, seed: 1, profile: ld4, ratePerLane: 1.5, timeScale: 20, ...extra },
  { unitId: 7, seed: 2, profile: lc8, ratePerLane: 1.5, timeScale: 20, ...extra },
];

const tcpPort = (bus: LoopCardBus): number => {
  assert.equal(bus.transport.kind, 'rtu-tcp');
  return bus.transport.port;
};

describe('loop card bus on a serial line (socat pty pair)', () => {
  const t = scope();
  afterEach(() => t.close());

  it('two cards on one bus answer their own unit ids, with counts matching each card\'s truth (§2.2)', async () => {
    const cable = await t.cable();
    const bus = await t.bus({ transport: { kind: 'rtu-serial', path: cable.devicePath, baudRate: 19200 }, cards: twoCards() });
    assert.deepEqual(bus.transport, { kind: 'rtu-serial', path: cable.devicePath, baudRate: 19200 });
    await sleep(500);
    for (const card of bus.cards) card.pause();
    const client = await t.client(connectRtuSerialClient(cable.clientPath, { baudRate: 19200 }));
    const truths = new Map(bus.cards.map((c) => [c.unitId, c.truth()]));
    for (const [unitId, profile] of [
      [3, ld4],
      [7, lc8],
    ] as const) {
      client.setID(unitId);
      for (let lane = 1; lane <= profile.lanes!; lane++) {
        assert.equal(await readPointRaw(client, countPoint(profile, lane)), truths.get(unitId)!.lanes[String(lane)], `unit ${unitId} lane ${lane}`);
      }
    }
    assert.ok(truths.get(3)!.total > 20 && truths.get(7)!.total > 20, 'both cards had traffic');
    assert.notDeepEqual(Object.values(truths.get(3)!.lanes), Object.values(truths.get(7)!.lanes).slice(0, 4), 'each card has its own traffic');
    assert.equal(bus.card(7).profileId, 'quanlink-lc8');
    assert.throws(() => bus.card(9), /no card with unit id 9 \(units 3, 7\)/);
  });

  it('a silent card does not keep the other from answering; an id nobody has gets silence, as on RS-485', async () => {
    const cable = await t.cable();
    const bus = await t.bus({ transport: { kind: 'rtu-serial', path: cable.devicePath }, cards: twoCards({ startPaused: true }) });
    bus.card(3).setFault({ kind: 'silent' });
    const client = await t.client(connectRtuSerialClient(cable.clientPath, { timeoutMs: 300 }));
    client.setID(3);
    await assert.rejects(readPointRaw(client, countPoint(ld4, 1)), isTimeout);
    client.setID(7);
    assert.equal(await readPointRaw(client, countPoint(lc8, 1)), 0);
    client.setID(9);
    await assert.rejects(readPointRaw(client, countPoint(lc8, 1)), isTimeout);
    bus.card(3).setFault(null);
    client.setID(3);
    assert.equal(await readPointRaw(client, countPoint(ld4, 1)), 0);
  });

  it('raw frames: a bad CRC from the client gets no answer, the next good request does (§2.5.1.2); the answer is a well-formed frame', async () => {
    const cable = await t.cable();
    const bus = await t.bus({ transport: { kind: 'rtu-serial', path: cable.devicePath }, cards: twoCards({ startPaused: true }) });
    const line = await t.raw(RawLine.serial(cable.clientPath));
    // The spec's own example frame, to show the hand-written CRC is right (Serial Line V1.02 §6.2.2 style check).
    assert.deepEqual(rtu(1, '03 0000 0001'), Buffer.from('010300000001840a', 'hex'));
    const request = rtu(3, '03 0010 0004'); // unit 3 (ld4): lane 1 count and classes
    const corrupt = Buffer.from(request);
    corrupt[corrupt.length - 1]! ^= 0x01;
    line.send(corrupt);
    assert.equal((await line.receive(150)).length, 0, 'no answer to a bad CRC');
    line.send(request);
    const answer = await line.receive(100);
    assert.equal(answer.length, 3 + 8 + 2);
    assert.deepEqual([...answer.subarray(0, 3)], [3, 0x03, 8]);
    assert.equal(answer.readUInt16LE(answer.length - 2), crc16(answer.subarray(0, answer.length - 2)), 'CRC low byte first');
    line.send(rtu(0x22, '03 0010 0004'));
    assert.equal((await line.receive(150)).length, 0, 'unit 0x22 is not on the bus');
    const dropped = t.logs.filter((r) => r['operation'] === 'receive');
    assert.match(String(dropped[0]?.['problem']), /^CRC 0x[0-9a-f]{4} does not match computed 0x[0-9a-f]{4}$/);
    assert.match(String(dropped[0]?.['device']), /^loop-card-bus\(units 3,7\)@.*device$/);
    assert.equal(bus.cards.length, 2);
  });

  it('frames end at a silence: a request split by a pause shorter than t3.5 is one frame, a longer pause splits it and both halves are dropped', async () => {
    const cable = await t.cable();
    // A long t3.5 (as at a very low baud rate) so that the pauses are clearly on either side of it.
    await t.bus({ transport: { kind: 'rtu-serial', path: cable.devicePath }, cards: twoCards({ startPaused: true }), silenceMs: 200 });
    const line = await t.raw(RawLine.serial(cable.clientPath));
    const request = rtu(7, '04 0064 0002');
    line.send(request.subarray(0, 3));
    await sleep(5);
    line.send(request.subarray(3));
    const answer = await line.receive(150);
    assert.deepEqual([...answer.subarray(0, 7)], [7, 4, 4, 0, 0, 0, 0], 'reassembled and answered');
    line.send(request.subarray(0, 3));
    await sleep(500);
    line.send(request.subarray(3));
    assert.equal((await line.receive(400)).length, 0, 'two fragments, neither a valid frame');
    line.send(request);
    assert.equal((await line.receive(150)).length, 9, 'the line recovers');
  });

  it('a function code whose length is unknown is framed by the silence and answered with exception 1 (App Protocol §7)', async () => {
    const cable = await t.cable();
    await t.bus({ transport: { kind: 'rtu-serial', path: cable.devicePath }, cards: twoCards({ startPaused: true }) });
    const line = await t.raw(RawLine.serial(cable.clientPath));
    line.send(rtu(7, '08 0000 a537')); // diagnostics, return query data
    const answer = await line.receive(150);
    assert.deepEqual(answer, rtu(7, '88 01'));
  });

  it('broadcast (unit 0) writes are carried out by every card and answered by none (§2.1)', async () => {
    const cable = await t.cable();
    const bus = await t.bus({
      transport: { kind: 'rtu-serial', path: cable.devicePath },
      cards: [
        { unitId: 3, profile: ld4Writable, startPaused: true },
        { unitId: 4, profile: ld4Writable, startPaused: true },
      ],
    });
    const line = await t.raw(RawLine.serial(cable.clientPath));
    line.send(rtu(0, '06 0008 04d2'));
    assert.equal((await line.receive(200)).length, 0, 'no answer to a broadcast');
    await line.close();
    const client = await t.client(connectRtuSerialClient(cable.clientPath));
    for (const unitId of [3, 4]) {
      client.setID(unitId);
      assert.deepEqual((await client.readHoldingRegisters(8, 1)).data, [1234], `unit ${unitId} took the write`);
    }
    assert.equal(bus.cards.length, 2);
  });

  it('faults on RTU: exception, bad CRC (client rejects it), garbage on the line, slow answers; drop is refused on a serial line', async () => {
    const cable = await t.cable();
    const bus = await t.bus({ transport: { kind: 'rtu-serial', path: cable.devicePath }, cards: twoCards({ startPaused: true }) });
    const client = await t.client(connectRtuSerialClient(cable.clientPath, { unitId: 3, timeoutMs: 400 }));
    const card = bus.card(3);
    const count = countPoint(ld4, 1);

    card.setFault({ kind: 'exception', code: 4 });
    await assert.rejects(readPointRaw(client, count), isException(4));
    card.setFault({ kind: 'bad-crc' });
    await assert.rejects(readPointRaw(client, count), /CRC error/);
    card.setFault({ kind: 'delay', ms: 250 });
    const started = Date.now();
    assert.equal(await readPointRaw(client, count), 0);
    assert.ok(Date.now() - started >= 240, 'answered late');
    assert.throws(() => card.setFault({ kind: 'drop' }), /a serial line has no connection to drop/);
    assert.deepEqual(card.faults(), [{ kind: 'delay', ms: 250 }], 'the refused fault changed nothing');
    card.setFault({ kind: 'garbage' });
    await closeClient(client);
    const line = await t.raw(RawLine.serial(cable.clientPath));
    line.send(rtu(3, '03 0010 0001'));
    const noise = await line.receive(150);
    assert.ok(noise.length >= 4, `${noise.length} bytes of noise`);
    assert.notEqual(noise.readUInt16LE(noise.length - 2), crc16(noise.subarray(0, noise.length - 2)), 'not a valid frame');
    line.send(rtu(7, '04 0064 0002'));
    assert.equal((await line.receive(150)).length, 9, 'the other card answers normally');
  });
});

describe('loop card bus, RTU over TCP (serial-to-Ethernet converter)', () => {
  const t = scope();
  after(() => t.close());

  it('two cards behind one port answer their own unit ids; an unknown id and a bad CRC get silence', async () => {
    const bus = await t.bus({ transport: { kind: 'rtu-tcp' }, cards: twoCards() });
    assert.ok(tcpPort(bus) > 0);
    await sleep(300);
    for (const card of bus.cards) card.pause();
    const client = await t.client(connectRtuTcpClient(tcpPort(bus), { timeoutMs: 300 }));
    for (const [unitId, profile] of [
      [3, ld4],
      [7, lc8],
    ] as const) {
      client.setID(unitId);
      const truth = bus.card(unitId).truth();
      for (let lane = 1; lane <= profile.lanes!; lane++) assert.equal(await readPointRaw(client, countPoint(profile, lane)), truth.lanes[String(lane)]);
    }
    client.setID(5);
    await assert.rejects(readPointRaw(client, countPoint(lc8, 1)), isTimeout);
    const line = await t.raw(RawLine.tcp(tcpPort(bus)));
    const corrupt = rtu(7, '04 0064 0002');
    corrupt[2]! ^= 0x40;
    line.send(corrupt);
    assert.equal((await line.receive(150)).length, 0);
    line.send(rtu(7, '04 0064 0002'));
    assert.equal((await line.receive(150)).length, 9);
  });

  it('drop closes the connection on the next request; garbage sends noise; other connections carry on', async () => {
    const bus = await t.bus({ transport: { kind: 'rtu-tcp' }, cards: twoCards({ startPaused: true }) });
    const victim = await t.raw(RawLine.tcp(tcpPort(bus)));
    const bystander = await t.raw(RawLine.tcp(tcpPort(bus)));
    bus.card(3).setFault({ kind: 'drop' });
    victim.send(rtu(3, '03 0010 0001'));
    await within(victim.closedPromise, 1000, 'the connection dropped');
    bystander.send(rtu(7, '04 0064 0002'));
    assert.equal((await bystander.receive(150)).length, 9);
    bus.card(7).setFault({ kind: 'garbage' });
    bystander.send(rtu(7, '04 0064 0002'));
    const noise = await bystander.receive(150);
    assert.ok(noise.length > 0 && noise.readUInt16LE(noise.length - 2) !== crc16(noise.subarray(0, noise.length - 2)));
  });

  it('rejects bad bus options before serving', async () => {
    await assert.rejects(startLoopCardBus({ transport: { kind: 'rtu-tcp' }, cards: [] }), /a bus needs at least one card/);
    await assert.rejects(startLoopCardBus({ transport: { kind: 'rtu-tcp' }, cards: [{ unitId: 2 }, { unitId: 2 }] }), /cards\[1\]: unit id 2 is already taken by cards\[0\]/);
    await assert.rejects(startLoopCardBus({ transport: { kind: 'rtu-tcp' }, cards: [{ unitId: 248 }] }), /unitId must be an integer 1\.\.247 on an RTU bus, got 248/);
    await assert.rejects(startLoopCardBus({ transport: { kind: 'rtu-serial', path: '' }, cards: [{}] }), /rtu-serial needs a device path/);
    await assert.rejects(startLoopCardBus({ transport: { kind: 'modbus-x' } as never, cards: [{}] }), /transport kind must be 'rtu-serial' or 'rtu-tcp'/);
    await assert.rejects(
      startLoopCardBus({ transport: { kind: 'rtu-serial', path: '/nonexistent/tty-quanlink' }, cards: [{ startPaused: true }] }),
      /cannot open serial device/,
    );
    await assert.rejects(startLoopCardBus({ transport: { kind: 'rtu-tcp' }, cards: [{ faults: [{ kind: 'locked-on', lanes: [9] }] }] }), /lanes must be a non-empty list of lanes 1\.\.8, got \[9\]/);
  });
});
