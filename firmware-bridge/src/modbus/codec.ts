/**
 * Raw values <-> 16-bit registers, honouring byte order inside a register and word order across
 * registers. Devices disagree on both (ABCD, CDAB, BADC, DCBA), so every multi-register value goes
 * through here, on the driver side and in the simulators alike.
 */
import type { ModbusTable, ModbusWire, RawType } from './wire.js';

/** What decoding needs of a point's wire. */
export type ValueLayout = Pick<ModbusWire, 'type' | 'byteOrder' | 'wordOrder'>;

const WORDS: Record<RawType, number> = {
  bool: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
};

/** How many registers (or bits, for bool) a value of this type occupies. */
export function registerCount(type: RawType): number {
  return WORDS[type];
}

/** Coils and discrete inputs hold bits; the other two tables hold 16-bit registers. */
export function isBitTable(table: ModbusTable): boolean {
  return table === 'coil' || table === 'discrete-input';
}

/** Tables a client may write to. */
export function isWritableTable(table: ModbusTable): boolean {
  return table === 'coil' || table === 'holding-register';
}

/** Why a type cannot live in a table, or undefined when it can. */
export function tableTypeMismatch(table: ModbusTable, type: RawType): string | undefined {
  if (isBitTable(table) && type !== 'bool') return `a ${table} holds single bits, so its type must be bool, not ${type}`;
  if (!isBitTable(table) && type === 'bool') return `a ${table} holds 16-bit words; bool is only for coils and discrete inputs`;
  return undefined;
}

const swap16 = (word: number): number => ((word & 0xff) << 8) | ((word >> 8) & 0xff);

/** Word `i` (0 = most significant) of an n-word value at `offset`, in big-endian byte order. */
function wordOf(words: ArrayLike<number>, offset: number, i: number, layout: ValueLayout): number {
  const n = WORDS[layout.type];
  const word = words[layout.wordOrder === 'big' ? offset + i : offset + n - 1 - i];
  if (word === undefined) throw new RangeError(`${layout.type} at register offset ${offset} needs ${n} registers, got ${words.length - offset}`);
  return layout.byteOrder === 'big' ? word & 0xffff : swap16(word & 0xffff);
}

/** Registers in device order -> bytes most significant first. */
function toBigEndianBytes(words: ArrayLike<number>, offset: number, layout: ValueLayout): DataView {
  const n = WORDS[layout.type];
  const view = new DataView(new ArrayBuffer(n * 2));
  for (let i = 0; i < n; i++) {
    const source = layout.wordOrder === 'big' ? offset + i : offset + n - 1 - i;
    const word = words[source];
    if (word === undefined) throw new RangeError(`${layout.type} at register offset ${offset} needs ${n} registers, got ${words.length - offset}`);
    view.setUint16(i * 2, layout.byteOrder === 'big' ? word & 0xffff : swap16(word & 0xffff));
  }
  return view;
}

/** Bytes most significant first -> registers in device order. */
function fromBigEndianBytes(layout: ValueLayout, view: DataView): number[] {
  const n = WORDS[layout.type];
  const words = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const word = view.getUint16(i * 2);
    words[layout.wordOrder === 'big' ? i : n - 1 - i] = layout.byteOrder === 'big' ? word : swap16(word);
  }
  return words;
}

/**
 * Decodes one value from registers (as read, in address order) starting at `offset`; for bool,
 * `words` holds bits as 0/1. 64-bit integers come back as JavaScript numbers, exact up to 2^53
 * (Number.MAX_SAFE_INTEGER) and rounded beyond it; counters never get that far in practice.
 */
export function decodeValue(words: ArrayLike<number>, offset: number, layout: ValueLayout): number {
  if (layout.type === 'bool') {
    const bit = words[offset];
    if (bit === undefined) throw new RangeError(`bool at offset ${offset} is past the ${words.length} values read`);
    return bit ? 1 : 0;
  }
  // 16- and 32-bit integers, most of what devices hold, without allocating: polling decodes thousands a second.
  switch (layout.type) {
    case 'int16':
      return (wordOf(words, offset, 0, layout) << 16) >> 16;
    case 'uint16':
      return wordOf(words, offset, 0, layout);
    case 'int32':
      return (wordOf(words, offset, 0, layout) << 16) | wordOf(words, offset, 1, layout);
    case 'uint32':
      return wordOf(words, offset, 0, layout) * 0x10000 + wordOf(words, offset, 1, layout);
  }
  const view = toBigEndianBytes(words, offset, layout);
  switch (layout.type) {
    case 'float32':
      return view.getFloat32(0);
    case 'int64':
      return Number(view.getBigInt64(0));
    case 'uint64':
      return Number(view.getBigUint64(0));
    case 'float64':
      return view.getFloat64(0);
  }
}

export type IntegerRawType = Exclude<RawType, 'float32' | 'float64'>;

/** The values each integer raw type can carry; 64-bit ones only within JS's safe integer range. */
export const INTEGER_RANGES: Readonly<Record<IntegerRawType, readonly [number, number]>> = {
  bool: [0, 1],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};
const FLOAT32_MAX = 3.4028234663852886e38;

/** Why `value` cannot be written as `type`, or undefined when it can. */
export function encodeProblem(type: RawType, value: number): string | undefined {
  if (!Number.isFinite(value)) return `${value} is not a finite number`;
  const range = type === 'float32' || type === 'float64' ? undefined : INTEGER_RANGES[type];
  if (range) {
    if (!Number.isInteger(value)) return `${value} is not an integer, as ${type} needs`;
    if (value < range[0] || value > range[1]) return `${value} is outside ${type} range ${range[0]}..${range[1]}`;
  }
  if (type === 'float32' && Math.abs(value) > FLOAT32_MAX) return `${value} is beyond float32 range`;
  return undefined;
}

/**
 * Encodes a value into 16-bit words in device order (a bool becomes [0] or [1]). Throws RangeError
 * for a value the type cannot hold; 64-bit integers must be safe integers (|v| <= 2^53 - 1).
 */
export function encodeValue(value: number, layout: ValueLayout): number[] {
  const problem = encodeProblem(layout.type, value);
  if (problem) throw new RangeError(problem);
  if (layout.type === 'bool') return [value];
  const view = new DataView(new ArrayBuffer(WORDS[layout.type] * 2));
  switch (layout.type) {
    case 'int16':
      view.setInt16(0, value);
      break;
    case 'uint16':
      view.setUint16(0, value);
      break;
    case 'int32':
      view.setInt32(0, value);
      break;
    case 'uint32':
      view.setUint32(0, value);
      break;
    case 'float32':
      view.setFloat32(0, value);
      break;
    case 'int64':
      view.setBigInt64(0, BigInt(value));
      break;
    case 'uint64':
      view.setBigUint64(0, BigInt(value));
      break;
    case 'float64':
      view.setFloat64(0, value);
      break;
  }
  return fromBigEndianBytes(layout, view);
}
