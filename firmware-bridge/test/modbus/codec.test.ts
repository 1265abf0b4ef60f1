import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeValue, encodeProblem, encodeValue, registerCount, tableTypeMismatch, type ValueLayout } from '../../src/modbus/codec.js';
import { RAW_TYPES, type Endianness, type RawType } from '../../src/modbus/wire.js';

const layout = (type: RawType, byteOrder: Endianness = 'big', wordOrder: Endianness = 'big'): ValueLayout => ({ type, byteOrder, wordOrder });

describe('register values (Modbus App Protocol 1.1b3 §4.2: registers are big-endian 16-bit words)', () => {
  // float32 123.456 is 0x42F6E979: the four byte orders devices use, as registers in address order.
  const FLOAT_ORDERS: [Endianness, Endianness, number[], string][] = [
    ['big', 'big', [0x42f6, 0xe979], 'ABCD'],
    ['big', 'little', [0xe979, 0x42f6], 'CDAB'],
    ['little', 'big', [0xf642, 0x79e9], 'BADC'],
    ['little', 'little', [0x79e9, 0xf642], 'DCBA'],
  ];
  for (const [byteOrder, wordOrder, words, name] of FLOAT_ORDERS) {
    it(`float32 in ${name} order decodes and encodes to the same registers`, () => {
      const l = layout('float32', byteOrder, wordOrder);
      assert.equal(Math.round(decodeValue(words, 0, l) * 1000) / 1000, 123.456);
      assert.deepEqual(encodeValue(123.456, l), words);
    });
  }

  const KNOWN: [ValueLayout, number, number[]][] = [
    [layout('int16'), -1, [0xffff]],
    [layout('int16'), -32768, [0x8000]],
    [layout('uint16', 'little'), 0x1234, [0x3412]],
    [layout('int32'), -2, [0xffff, 0xfffe]],
    [layout('uint32'), 0x12345678, [0x1234, 0x5678]],
    [layout('uint32', 'big', 'little'), 0x12345678, [0x5678, 0x1234]],
    [layout('uint64'), 2 ** 40 + 5, [0x0000, 0x0100, 0x0000, 0x0005]],
    [layout('int64'), -3, [0xffff, 0xffff, 0xffff, 0xfffd]],
    [layout('float64'), 1.5, [0x3ff8, 0, 0, 0]],
    [layout('float64', 'big', 'little'), 1.5, [0, 0, 0, 0x3ff8]],
    [layout('bool'), 1, [1]],
  ];
  for (const [l, value, words] of KNOWN) {
    it(`${l.type} ${value} (${l.byteOrder} bytes, ${l.wordOrder} words) is ${words.map((w) => w.toString(16)).join(' ')}`, () => {
      assert.deepEqual(encodeValue(value, l), words);
      assert.equal(decodeValue(words, 0, l), value);
    });
  }

  it('decodes at an offset inside a block of registers', () => {
    assert.equal(decodeValue([9, 9, 0x0001, 0x0002, 9], 2, layout('uint32')), 0x00010002);
  });

  it('round-trips every type in every byte and word order', () => {
    const samples: Record<RawType, number[]> = {
      bool: [0, 1],
      int16: [-32768, -1, 0, 32767],
      uint16: [0, 1, 65535],
      int32: [-(2 ** 31), -123456, 2 ** 31 - 1],
      uint32: [0, 4294967295, 305419896],
      float32: [0, -1.25, 3.4028234663852886e38],
      int64: [Number.MIN_SAFE_INTEGER, -1, Number.MAX_SAFE_INTEGER],
      uint64: [0, Number.MAX_SAFE_INTEGER],
      float64: [Math.PI, -1e300, 5e-324],
    };
    for (const type of RAW_TYPES) {
      for (const byteOrder of ['big', 'little'] as const) {
        for (const wordOrder of ['big', 'little'] as const) {
          for (const value of samples[type]) {
            const l = layout(type, byteOrder, wordOrder);
            const words = encodeValue(value, l);
            assert.equal(words.length, registerCount(type));
            assert.ok(words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff));
            assert.equal(decodeValue(words, 0, l), value, `${type} ${byteOrder}/${wordOrder} ${value}`);
          }
        }
      }
    }
  });

  it('returns 64-bit integers as numbers: exact up to 2^53 - 1, rounded beyond', () => {
    assert.equal(decodeValue([0x001f, 0xffff, 0xffff, 0xffff], 0, layout('uint64')), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeValue([0x0020, 0x0000, 0x0000, 0x0001], 0, layout('uint64')), 2 ** 53); // 2^53 + 1 rounds
    assert.equal(decodeValue([0xffff, 0xffff, 0xffff, 0xffff], 0, layout('uint64')), 2 ** 64);
    assert.throws(() => encodeValue(2 ** 53, layout('uint64')), /outside uint64 range/);
  });

  it('refuses values a type cannot hold, saying why', () => {
    assert.throws(() => encodeValue(70000, layout('uint16')), /70000 is outside uint16 range 0\.\.65535/);
    assert.throws(() => encodeValue(1.5, layout('int16')), /not an integer/);
    assert.throws(() => encodeValue(-1, layout('uint32')), /outside uint32/);
    assert.throws(() => encodeValue(1e39, layout('float32')), /beyond float32/);
    assert.throws(() => encodeValue(2 ** 60, layout('uint64')), /outside uint64/);
    assert.throws(() => encodeValue(Number.NaN, layout('float64')), /not a finite number/);
    assert.throws(() => encodeValue(2, layout('bool')), /outside bool/);
    assert.equal(encodeProblem('int32', -5), undefined);
  });

  it('refuses to decode past the registers read', () => {
    assert.throws(() => decodeValue([1], 0, layout('uint32')), /needs 2 registers, got 1/);
    assert.throws(() => decodeValue([], 0, layout('bool')), /past the 0 values read/);
  });

  it('keeps bits in bit tables and words in register tables', () => {
    assert.equal(tableTypeMismatch('coil', 'bool'), undefined);
    assert.equal(tableTypeMismatch('input-register', 'float32'), undefined);
    assert.match(tableTypeMismatch('discrete-input', 'uint16') ?? '', /must be bool/);
    assert.match(tableTypeMismatch('holding-register', 'bool') ?? '', /only for coils and discrete inputs/);
  });
});
