/**
 * The simulator serves whatever the profile says: a hand-made profile with other tables, types,
 * byte and word orders, scale and offset, units, bits and writable points, decoded here by hand.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceProfile, ResolvedPoint } from '@quanlink/device-profiles';
import type { ModbusWire } from '@quanlink/firmware-bridge';
import { startLoopCardSimulator, type LoopCardSimulator } from '../../src/loop-card/simulator.js';
import { toRaw } from '../../src/loop-card/registers.js';
import { TrafficModel } from '../../src/loop-card/traffic.js';
import { lastWindowOf } from '../helpers/traffic-oracle.js';
import { capturingLogger, closeClient, connectClient, isException, sleep, type ModbusClient } from '../helpers/modbus-clients.js';

const { logger } = capturingLogger();

function point(key: string, wire: Partial<ModbusWire> & Pick<ModbusWire, 'table' | 'address' | 'type'>, extra: Partial<ResolvedPoint> = {}): ResolvedPoint {
  return {
    key,
    resource: key.replace(/^lane\d+\./, ''),
    wire: { byteOrder: 'big', wordOrder: 'big', ...wire },
    scale: 1,
    offset: 0,
    cumulative: false,
    writable: false,
    ...extra,
  };
}

const lanePoints = (lane: number): ResolvedPoint[] => [
  // uint32, least significant word first, at holding registers 100, 110
  point(`lane${lane}.count`, { table: 'holding-register', address: 100 + (lane - 1) * 10, type: 'uint32', wordOrder: 'little' }, {
    lane,
    quantity: 'vehicle-count',
    cumulative: true,
    counterBits: 32,
  }),
  // float32 m/s right after it
  point(`lane${lane}.speed`, { table: 'holding-register', address: 102 + (lane - 1) * 10, type: 'float32' }, { lane, quantity: 'speed', unit: 'm/s' }),
  // int16 with bytes swapped, engineering = raw * 0.5 - 10
  point(`lane${lane}.occ`, { table: 'input-register', address: 200 + lane - 1, type: 'int16', byteOrder: 'little' }, {
    lane,
    quantity: 'occupancy',
    unit: '%',
    scale: 0.5,
    offset: -10,
  }),
  point(`lane${lane}.presence`, { table: 'discrete-input', address: lane - 1, type: 'bool' }, { lane, quantity: 'presence' }),
];

const custom: DeviceProfile = {
  id: 'test-2lane',
  kind: 'loop-detector',
  manufacturer: 'Test',
  model: '2L',
  protocol: 'modbus',
  lanes: 2,
  source: '<test>',
  points: [
    ...lanePoints(1),
    ...lanePoints(2),
    point('total', { table: 'input-register', address: 300, type: 'uint32' }, { quantity: 'vehicle-count', cumulative: true, counterBits: 32 }),
    point('setpoint', { table: 'holding-register', address: 400, type: 'uint16' }, { writable: true }),
    point('firmware', { table: 'holding-register', address: 401, type: 'uint16' }, { min: 7, max: 9 }),
    point('relay', { table: 'coil', address: 10, type: 'bool' }, { writable: true }),
  ],
};

describe('loop card simulator serves a custom profile', () => {
  let sim: LoopCardSimulator | undefined;
  let client: ModbusClient | undefined;
  after(async () => {
    if (client) await closeClient(client);
    await sim?.close();
  });

  it('decodes by hand to the model: word order, float, swapped bytes with scale and offset, bits, totals', async () => {
    sim = await startLoopCardSimulator({ profile: custom, logger, seed: 12, ratePerLane: 1.5, timeScale: 20, initialCounts: { 2: 2 ** 32 - 1 } });
    await sleep(500);
    sim.pause();
    const truth = sim.truth();
    assert.deepEqual(Object.keys(truth.lanes), ['1', '2']);
    const model = new TrafficModel({ lanes: 2, seed: 12, ratePerLane: 1.5 });
    model.advanceTo(truth.simTimeS);
    client = await connectClient(sim.port);
    for (const lane of [1, 2]) {
      const [lo, hi] = (await client.readHoldingRegisters(100 + (lane - 1) * 10, 4)).data as [number, number, number, number];
      const initial = lane === 2 ? 2 ** 32 - 1 : 0;
      assert.equal(hi * 65536 + lo, (initial + truth.lanes[String(lane)]!) % 2 ** 32, `lane ${lane} count, low word first`);
      const words = (await client.readHoldingRegisters(102 + (lane - 1) * 10, 2)).data;
      const bytes = Buffer.alloc(4);
      bytes.writeUInt16BE(words[0]!, 0);
      bytes.writeUInt16BE(words[1]!, 2);
      const expectedSpeedMs = lastWindowOf(model, lane).speedKmh / 3.6;
      assert.ok(Math.abs(bytes.readFloatBE(0) - expectedSpeedMs) < 1e-4, `lane ${lane} speed ${bytes.readFloatBE(0)} m/s`);
      const occWord: number = (await client.readInputRegisters(200 + lane - 1, 1)).data[0]!;
      const swapped: number = Buffer.from([occWord & 0xff, occWord >> 8]).readInt16BE(0);
      assert.equal(swapped, Math.round((lastWindowOf(model, lane).occupancyPct + 10) / 0.5), `lane ${lane} occupancy`);
    }
    const presence = (await client.readDiscreteInputs(0, 2)).data.slice(0, 2);
    assert.deepEqual(presence, [model.present(1), model.present(2)]);
    const [tHi, tLo] = (await client.readInputRegisters(300, 2)).data as [number, number];
    assert.equal(tHi * 65536 + tLo, (truth.total + 2 ** 32 - 1) % 2 ** 32, 'device-level count is the sum of the lanes');
    assert.deepEqual((await client.readHoldingRegisters(401, 1)).data, [7], 'a point without a modelled quantity holds a constant within its limits');
  });

  it('writes reach writable points only (App Protocol 1.1b3 §6.5, §6.6, §6.12)', async () => {
    assert.ok(client && sim);
    await client.writeRegister(400, 1234);
    assert.deepEqual((await client.readHoldingRegisters(400, 1)).data, [1234]);
    await client.writeRegisters(400, [4321]);
    assert.deepEqual((await client.readHoldingRegisters(400, 1)).data, [4321]);
    await client.writeCoil(10, true);
    assert.equal((await client.readCoils(10, 1)).data[0], true);
    await assert.rejects(client.writeRegister(401, 1), isException(2));
    await assert.rejects(client.writeRegisters(400, [1, 2]), isException(2), 'range runs into a read-only point');
    await assert.rejects(client.writeCoil(11, true), isException(2));
    await assert.rejects(client.readCoils(10, 2), isException(2));
  });

  it('refuses a profile whose units it cannot serve, or a lane quantity without a lane', async () => {
    const furlongs = { ...custom, points: custom.points.map((p) => (p.quantity === 'speed' ? { ...p, unit: 'furlong/fortnight' } : p)) };
    await assert.rejects(startLoopCardSimulator({ profile: furlongs, logger }), /point lane1\.speed: unit 'furlong\/fortnight' for speed not supported \(km\/h, m\/s, mph\)/);
    const laneless = { ...custom, points: [point('occ', { table: 'input-register', address: 0, type: 'uint16' }, { quantity: 'occupancy' }), ...lanePoints(1)] };
    await assert.rejects(startLoopCardSimulator({ profile: laneless, logger }), /point occ: occupancy needs a lane/);
    const overlapping = { ...custom, points: [...custom.points, point('clash', { table: 'holding-register', address: 101, type: 'uint16' })] };
    await assert.rejects(startLoopCardSimulator({ profile: overlapping, logger }), /point clash overlaps lane1\.count in holding-register/);
  });
});

describe('toRaw: engineering value -> raw value on the wire', () => {
  const u16 = point('x', { table: 'input-register', address: 0, type: 'uint16' }, { scale: 0.1 });
  it('inverts scale and offset and rounds to the nearest integer', () => {
    assert.equal(toRaw(u16, 12.34), 123);
    assert.equal(toRaw({ ...u16, offset: -40, scale: 0.5 }, 21.3), 123);
  });
  it('clamps a gauge to its raw type, wraps a counter at 2^counterBits', () => {
    assert.equal(toRaw(u16, 1e9), 65535);
    assert.equal(toRaw(u16, -5), 0);
    assert.equal(toRaw({ ...u16, wire: { ...u16.wire, type: 'int16' } }, -5000), -32768);
    const counter = { ...u16, scale: 1, cumulative: true, counterBits: 16 };
    assert.equal(toRaw(counter, 65536 + 7), 7);
    assert.equal(toRaw({ ...counter, counterBits: undefined, wire: { ...u16.wire, type: 'uint32' as const } }, 2 ** 32 + 1), 1);
  });
  it('keeps floats unrounded', () => {
    assert.equal(toRaw({ ...u16, scale: 1, wire: { ...u16.wire, type: 'float32' } }, 16.6667), 16.6667);
  });
});
