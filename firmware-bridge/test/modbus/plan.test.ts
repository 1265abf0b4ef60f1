import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBlock, planReads } from '../../src/modbus/plan.js';
import type { ModbusTable, RawType } from '../../src/modbus/wire.js';
import type { PointRef } from '../../src/types.js';

const point = (key: string, table: ModbusTable, address: number, type: RawType = 'uint16'): PointRef => ({
  key,
  wire: { table, address, type, byteOrder: 'big', wordOrder: 'big' },
});

const shape = (blocks: ReturnType<typeof planReads>) => blocks.map((b) => [b.table, b.address, b.count, b.slices.map((p) => p.key)]);

describe('read planning', () => {
  it('reads adjacent points of one table in one request, whatever their order', () => {
    const blocks = planReads([point('b', 'input-register', 2, 'uint32'), point('a', 'input-register', 0, 'int32'), point('c', 'input-register', 4)]);
    assert.deepEqual(shape(blocks), [['input-register', 0, 5, ['a', 'b', 'c']]]);
    assert.deepEqual(
      blocks[0]!.slices.map((s) => [s.key, s.offset, s.length]),
      [
        ['a', 0, 2],
        ['b', 2, 2],
        ['c', 4, 1],
      ],
    );
    const values = decodeBlock(blocks[0]!, [0xffff, 0xfffe, 0x0001, 0x0000, 7]);
    assert.deepEqual(Object.fromEntries(values), { a: -2, b: 0x10000, c: 7 });
  });

  it('reads each table separately', () => {
    const blocks = planReads([point('h', 'holding-register', 0), point('i', 'input-register', 0), point('c', 'coil', 0, 'bool'), point('d', 'discrete-input', 0, 'bool')]);
    assert.deepEqual(
      blocks.map((b) => b.table),
      ['coil', 'discrete-input', 'holding-register', 'input-register'],
    );
  });

  it('leaves holes unread by default and spans holes up to maxGap when asked', () => {
    const points = [point('a', 'holding-register', 10), point('b', 'holding-register', 14)];
    assert.deepEqual(shape(planReads(points)), [
      ['holding-register', 10, 1, ['a']],
      ['holding-register', 14, 1, ['b']],
    ]);
    assert.deepEqual(shape(planReads(points, { maxGap: 3 })), [['holding-register', 10, 5, ['a', 'b']]]);
    assert.equal(planReads(points, { maxGap: 2 }).length, 2);
  });

  it('keeps each request within 125 registers (Modbus App Protocol 1.1b3 §6.3) and never splits a value', () => {
    const points = Array.from({ length: 130 }, (_, i) => point(`p${i}`, 'input-register', i));
    assert.deepEqual(
      planReads(points).map((b) => [b.address, b.count]),
      [
        [0, 125],
        [125, 5],
      ],
    );
    const straddling = [point('a', 'input-register', 0, 'uint64'), point('b', 'input-register', 123, 'uint32')];
    assert.deepEqual(
      planReads(straddling, { maxRegistersPerRead: 124, maxGap: 200 }).map((b) => [b.address, b.count]),
      [
        [0, 4],
        [123, 2],
      ],
    );
  });

  it('keeps each bit request within 2000 bits (§6.1) and honours a smaller device limit', () => {
    const coils = Array.from({ length: 2001 }, (_, i) => point(`c${i}`, 'coil', i, 'bool'));
    assert.deepEqual(planReads(coils).map((b) => b.count), [2000, 1]);
    const registers = Array.from({ length: 20 }, (_, i) => point(`r${i}`, 'holding-register', i));
    assert.deepEqual(planReads(registers, { maxRegistersPerRead: 8 }).map((b) => b.count), [8, 8, 4]);
  });

  it('reads overlapping views of the same registers once', () => {
    const blocks = planReads([point('whole', 'input-register', 0, 'uint32'), point('high', 'input-register', 0), point('low', 'input-register', 1)]);
    assert.deepEqual(shape(blocks), [['input-register', 0, 2, ['whole', 'high', 'low']]]);
    const values = decodeBlock(blocks[0]!, [0x0001, 0x0002]);
    assert.deepEqual(Object.fromEntries(values), { whole: 0x10002, high: 1, low: 2 });
  });

  it('refuses points that cannot be read, naming them', () => {
    assert.throws(() => planReads([point('flag', 'holding-register', 0, 'bool')]), /point flag: .*only for coils/);
    assert.throws(() => planReads([point('count', 'coil', 0, 'uint16')]), /point count: .*must be bool/);
    assert.throws(() => planReads([point('tail', 'input-register', 65535, 'uint32')]), /point tail: .*past the last address 65535/);
    assert.throws(() => planReads([point('neg', 'input-register', -1)]), /point neg: address -1/);
    assert.throws(() => planReads([point('far', 'input-register', 70000)]), /point far: address 70000/);
    assert.throws(() => planReads([], { maxRegistersPerRead: 126 }), /maxRegistersPerRead must be an integer in 4\.\.125/);
    assert.throws(() => planReads([], { maxBitsPerRead: 0 }), /maxBitsPerRead must be an integer in 1\.\.2000/);
    assert.throws(() => planReads([], { maxGap: -1 }), /maxGap/);
  });

  it('refuses to decode a block from fewer values than it asked for', () => {
    const [block] = planReads([point('a', 'input-register', 0, 'uint32')]);
    assert.throws(() => decodeBlock(block!, [1]), /returned 1 values/);
  });
});
