/**
 * Where a Modbus sign keeps its message and its state (the `sign.modbus` block of a vms device
 * profile), and how MULTI travels in registers. The driver, the profile checks and the simulator
 * all use this one definition.
 *
 * Holding registers (written by the driver):
 *   messageArea    MULTI as UTF-8, 2 bytes per register, big-endian, the last one zero padded
 *   messageLength  bytes of MULTI in the message area
 *   expectedCrc    the NTCIP 1203 CRC the sign must compute over the message, else it refuses it
 *   activate       write 1: show the message area; write 0: blank. A refused activation is
 *                  answered with exception 04 (server device failure) and lastError says why.
 *   brightness     0-100 (optional)
 * Input registers (read by the driver in one request):
 *   status         bit flags at the positions of statusBits
 *   pixelFailures  number of failed pixels
 *   displayedCrc   CRC of what is displayed, 0 when blank
 *   lastError      0 ok, 1 CRC mismatch, 2 MULTI syntax, 3 does not fit the sign, 4 other
 */
import { MODBUS_LIMITS } from '../modbus/frame.js';

export interface ModbusSignWire {
  messageArea: { address: number; registers: number };
  messageLength: number;
  expectedCrc: number;
  activate: number;
  brightness?: number;
  status: number;
  statusBits: { doorOpen: number; powerFault: number; controllerFault: number; pixelFailure: number; activationRejected: number };
  pixelFailures: number;
  displayedCrc: number;
  lastError: number;
}

export type SignStatusBit = keyof ModbusSignWire['statusBits'];
export const SIGN_STATUS_BITS: readonly SignStatusBit[] = ['doorOpen', 'powerFault', 'controllerFault', 'pixelFailure', 'activationRejected'];

/** The single holding registers and the input registers of the wire, by field name. */
export const SIGN_HOLDING_FIELDS = ['messageLength', 'expectedCrc', 'activate', 'brightness'] as const;
export const SIGN_INPUT_FIELDS = ['status', 'pixelFailures', 'displayedCrc', 'lastError'] as const;
export type SignInputField = (typeof SIGN_INPUT_FIELDS)[number];

export interface SignWireProblem {
  /** Field path inside the wire block, e.g. ['statusBits', 'doorOpen']. */
  path: (string | number)[];
  problem: string;
}

interface Span {
  path: (string | number)[];
  name: string;
  start: number;
  end: number;
}

const isAddress = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
const spanText = (s: Span): string => (s.end - s.start === 1 ? `${s.start}` : `${s.start}..${s.end - 1}`);

function firstOverlap(table: string, spans: Span[]): SignWireProblem | undefined {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const [prev, next] = [sorted[i - 1]!, sorted[i]!];
    if (next.start < prev.end) {
      // Blame the field written later in the block, so that the error points at one place.
      const later = spans.indexOf(next) > spans.indexOf(prev) ? next : prev;
      const other = later === next ? prev : next;
      return { path: later.path, problem: `${later.name} (${table} ${spanText(later)}) overlaps ${other.name} (${table} ${spanText(other)})` };
    }
  }
  return undefined;
}

/**
 * The first thing wrong with a wire: an address out of range, a message area running past
 * 65535, two fields on one register, two status flags on one bit, or input registers that one
 * read request (125 registers) cannot cover.
 */
export function checkModbusSignWire(wire: ModbusSignWire): SignWireProblem | undefined {
  const { address, registers } = wire.messageArea;
  if (!isAddress(address)) return { path: ['messageArea', 'address'], problem: `must be an address 0..65535, got ${String(address)}` };
  if (!Number.isInteger(registers) || registers < 1) return { path: ['messageArea', 'registers'], problem: `must be an integer >= 1, got ${String(registers)}` };
  if (address + registers > 0x10000) return { path: ['messageArea', 'registers'], problem: `${registers} registers from ${address} run past address 65535` };

  const holding: Span[] = [{ path: ['messageArea', 'address'], name: 'messageArea', start: address, end: address + registers }];
  for (const field of SIGN_HOLDING_FIELDS) {
    const at = wire[field];
    if (at === undefined && field === 'brightness') continue;
    if (!isAddress(at)) return { path: [field], problem: `must be an address 0..65535, got ${String(at)}` };
    holding.push({ path: [field], name: field, start: at, end: at + 1 });
  }
  const input: Span[] = [];
  for (const field of SIGN_INPUT_FIELDS) {
    const at = wire[field];
    if (!isAddress(at)) return { path: [field], problem: `must be an address 0..65535, got ${String(at)}` };
    input.push({ path: [field], name: field, start: at, end: at + 1 });
  }
  const overlap = firstOverlap('holding-register', holding) ?? firstOverlap('input-register', input);
  if (overlap) return overlap;

  const { first, count } = signInputSpan(wire);
  if (count > MODBUS_LIMITS.maxReadRegisters) {
    return {
      path: [SIGN_INPUT_FIELDS.find((f) => wire[f] === first + count - 1)!],
      problem: `the input registers span ${first}..${first + count - 1} (${count}); the driver reads them in one request of at most ${MODBUS_LIMITS.maxReadRegisters}`,
    };
  }

  const bits = new Map<number, SignStatusBit>();
  for (const flag of SIGN_STATUS_BITS) {
    const bit = wire.statusBits[flag];
    if (!Number.isInteger(bit) || bit < 0 || bit > 15) return { path: ['statusBits', flag], problem: `must be a bit position 0..15, got ${String(bit)}` };
    const taken = bits.get(bit);
    if (taken) return { path: ['statusBits', flag], problem: `bit ${bit} is already ${taken}` };
    bits.set(bit, flag);
  }
  return undefined;
}

/** The input registers from the lowest to the highest one the wire uses: one read request. */
export function signInputSpan(wire: ModbusSignWire): { first: number; count: number } {
  const addresses = SIGN_INPUT_FIELDS.map((f) => wire[f]);
  const first = Math.min(...addresses);
  return { first, count: Math.max(...addresses) - first + 1 };
}

/** Bytes the message area holds. */
export const messageAreaBytes = (wire: ModbusSignWire): number => wire.messageArea.registers * 2;

/** MULTI -> registers: UTF-8, 2 bytes per register big-endian, the last register zero padded. */
export function multiToRegisters(multi: string): { bytes: number; words: number[] } {
  const utf8 = Buffer.from(multi, 'utf8');
  const words: number[] = [];
  for (let i = 0; i < utf8.length; i += 2) words.push((utf8[i]! << 8) | (utf8[i + 1] ?? 0));
  return { bytes: utf8.length, words };
}

/** Registers -> the first `bytes` bytes (not yet decoded: a sign checks the UTF-8 itself). */
export function registersToBytes(words: readonly number[], bytes: number): Buffer {
  const out = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => out.writeUInt16BE(w & 0xffff, i * 2));
  return out.subarray(0, bytes);
}
