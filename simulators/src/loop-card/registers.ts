/**
 * The loop card's Modbus data model, laid out by its device profile: each profile point is
 * served at its wire address, table, raw type, byte and word order, with the inverse of its
 * scale and offset, and the constants its identify section names (a model id) as they are.
 * Registers the profile does not define answer IllegalDataAddress, except the
 * holes between defined ones on a device that answers holes (a profile with modbus.maxGap > 0),
 * which read as 0.
 */
import { identifyConstants, type DeviceProfile, type ResolvedPoint } from '@quanlink/device-profiles';
import {
  INTEGER_RANGES,
  EXCEPTION_CODES,
  FUNCTION_CODES,
  encodeExceptionPdu,
  encodeResponsePdu,
  encodeValue,
  isBitTable,
  registerCount,
  type ModbusRequest,
  type ModbusTable,
} from '@quanlink/firmware-bridge';

/** Engineering value (already in the point's unit) of a point at this instant. */
export type PointValue = (point: ResolvedPoint) => number;

interface RegisterSlot {
  point: ResolvedPoint;
  /** Which of the point's registers this address holds. */
  word: number;
}


/** Raw value of a point for an engineering value: inverse scale, then wrap (counters) or clamp to the raw type. */
export function toRaw(point: ResolvedPoint, value: number): number {
  const unscaled = (value - point.offset) / point.scale;
  const type = point.wire.type;
  if (type === 'float32' || type === 'float64') return unscaled;
  const raw = Math.round(unscaled);
  if (point.cumulative) {
    const modulus = 2 ** (point.counterBits ?? registerCount(type) * 16);
    return ((raw % modulus) + modulus) % modulus;
  }
  const [min, max] = INTEGER_RANGES[type];
  return Math.min(max, Math.max(min, raw));
}

export class RegisterMap {
  private readonly registers = new Map<ModbusTable, Map<number, RegisterSlot>>();
  private readonly bits = new Map<ModbusTable, Map<number, ResolvedPoint>>();
  /** Values written by clients to writable points; they replace the modelled value from then on. */
  private readonly writtenWords = new Map<number, number>();
  private readonly writtenCoils = new Map<number, boolean>();
  /** Words the profile's identify section says the card serves as constants (its model id). */
  private readonly constants = new Map<ModbusTable, Map<number, number>>();

  /** Lowest and highest defined address per table, for answering holes. */
  private readonly spans = new Map<ModbusTable, [number, number]>();

  constructor(
    readonly profile: DeviceProfile,
    private readonly valueOf: PointValue,
    private readonly options: { holesReadAsZero?: boolean } = {},
  ) {
    for (const point of profile.points) {
      const { table, address } = point.wire;
      if (isBitTable(table)) {
        const slots = this.bitTable(table);
        if (slots.has(address)) throw this.overlap(point, slots.get(address)!);
        slots.set(address, point);
        continue;
      }
      const slots = this.registerTable(table);
      const words = registerCount(point.wire.type);
      for (let word = 0; word < words; word++) {
        const existing = slots.get(address + word);
        if (existing) throw this.overlap(point, existing.point);
        if (address + word > 0xffff) throw new RangeError(`profile ${profile.id}: point ${point.key} goes past register 65535`);
        slots.set(address + word, { point, word });
      }
    }
    for (const { table, address, words } of identifyConstants(profile.identify)) {
      const slots = this.constants.get(table) ?? new Map<number, number>();
      words.forEach((word, i) => slots.set(address + i, word));
      this.constants.set(table, slots);
    }
    for (const point of profile.points) {
      const { table, address, type } = point.wire;
      const last = address + (isBitTable(table) ? 1 : registerCount(type)) - 1;
      const span = this.spans.get(table);
      this.spans.set(table, span ? [Math.min(span[0], address), Math.max(span[1], last)] : [address, last]);
    }
  }

  /** A hole the device answers with zero: not defined, but between defined addresses of its table. */
  private isAnsweredHole(table: ModbusTable, address: number): boolean {
    const span = this.spans.get(table);
    return this.options.holesReadAsZero === true && span !== undefined && address >= span[0] && address <= span[1];
  }

  /** Answers one decoded request with a response PDU or an exception PDU. */
  answer(request: ModbusRequest): Buffer {
    const fc = request.functionCode;
    switch (fc) {
      case FUNCTION_CODES.readCoils:
      case FUNCTION_CODES.readDiscreteInputs: {
        const bits = this.readBits(fc === FUNCTION_CODES.readCoils ? 'coil' : 'discrete-input', request.address, request.quantity);
        return bits ? encodeResponsePdu({ functionCode: fc, bits }) : illegalAddress(fc);
      }
      case FUNCTION_CODES.readHoldingRegisters:
      case FUNCTION_CODES.readInputRegisters: {
        const table = fc === FUNCTION_CODES.readHoldingRegisters ? 'holding-register' : 'input-register';
        const registers = this.readRegisters(table, request.address, request.quantity);
        return registers ? encodeResponsePdu({ functionCode: fc, registers }) : illegalAddress(fc);
      }
      case FUNCTION_CODES.writeSingleCoil:
      case FUNCTION_CODES.writeMultipleCoils: {
        const values = fc === FUNCTION_CODES.writeSingleCoil ? [request.value] : request.values;
        if (!this.writableBits(request.address, values.length)) return illegalAddress(fc);
        values.forEach((v, i) => this.writtenCoils.set(request.address + i, v));
        return fc === FUNCTION_CODES.writeSingleCoil
          ? encodeResponsePdu({ functionCode: fc, address: request.address, value: request.value })
          : encodeResponsePdu({ functionCode: fc, address: request.address, quantity: values.length });
      }
      case FUNCTION_CODES.writeSingleRegister:
      case FUNCTION_CODES.writeMultipleRegisters: {
        const values = fc === FUNCTION_CODES.writeSingleRegister ? [request.value] : request.values;
        if (!this.writableRegisters(request.address, values.length)) return illegalAddress(fc);
        values.forEach((v, i) => this.writtenWords.set(request.address + i, v));
        return fc === FUNCTION_CODES.writeSingleRegister
          ? encodeResponsePdu({ functionCode: fc, address: request.address, value: request.value })
          : encodeResponsePdu({ functionCode: fc, address: request.address, quantity: values.length });
      }
    }
  }

  /** The 16-bit words of a register range, or undefined when any register in it is not defined. */
  readRegisters(table: ModbusTable, address: number, quantity: number): number[] | undefined {
    const slots = this.registers.get(table);
    const constants = this.constants.get(table);
    if (!slots && !constants) return undefined;
    const encoded = new Map<ResolvedPoint, number[]>();
    const words: number[] = [];
    for (let a = address; a < address + quantity; a++) {
      const constant = constants?.get(a);
      if (constant !== undefined) {
        words.push(constant);
        continue;
      }
      const slot = slots?.get(a);
      if (!slot) {
        if (!this.isAnsweredHole(table, a)) return undefined;
        words.push(0);
        continue;
      }
      const written = table === 'holding-register' ? this.writtenWords.get(a) : undefined;
      if (written !== undefined) {
        words.push(written);
        continue;
      }
      let pointWords = encoded.get(slot.point);
      if (!pointWords) {
        pointWords = encodeValue(toRaw(slot.point, this.valueOf(slot.point)), slot.point.wire);
        encoded.set(slot.point, pointWords);
      }
      words.push(pointWords[slot.word] ?? 0);
    }
    return words;
  }

  readBits(table: ModbusTable, address: number, quantity: number): boolean[] | undefined {
    const slots = this.bits.get(table);
    const constants = this.constants.get(table);
    if (!slots && !constants) return undefined;
    const bits: boolean[] = [];
    for (let a = address; a < address + quantity; a++) {
      const constant = constants?.get(a);
      if (constant !== undefined) {
        bits.push(constant !== 0);
        continue;
      }
      const point = slots?.get(a);
      if (!point) {
        if (!this.isAnsweredHole(table, a)) return undefined;
        bits.push(false);
        continue;
      }
      bits.push((table === 'coil' ? this.writtenCoils.get(a) : undefined) ?? (this.valueOf(point) !== 0));
    }
    return bits;
  }

  private writableRegisters(address: number, quantity: number): boolean {
    const slots = this.registers.get('holding-register');
    for (let a = address; a < address + quantity; a++) if (!slots?.get(a)?.point.writable) return false;
    return true;
  }

  private writableBits(address: number, quantity: number): boolean {
    const slots = this.bits.get('coil');
    for (let a = address; a < address + quantity; a++) if (!slots?.get(a)?.writable) return false;
    return true;
  }

  private registerTable(table: ModbusTable): Map<number, RegisterSlot> {
    let slots = this.registers.get(table);
    if (!slots) this.registers.set(table, (slots = new Map()));
    return slots;
  }

  private bitTable(table: ModbusTable): Map<number, ResolvedPoint> {
    let slots = this.bits.get(table);
    if (!slots) this.bits.set(table, (slots = new Map()));
    return slots;
  }

  private overlap(point: ResolvedPoint, other: ResolvedPoint): Error {
    return new RangeError(`profile ${this.profile.id}: point ${point.key} overlaps ${other.key} in ${point.wire.table}`);
  }
}

function illegalAddress(functionCode: number): Buffer {
  return encodeExceptionPdu(functionCode, EXCEPTION_CODES.illegalDataAddress);
}
