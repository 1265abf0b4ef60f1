/**
 * Modbus frames as pure functions over Buffers (no sockets):
 * - the PDU of the public function codes 1, 2, 3, 4, 5, 6, 15, 16 (Modbus Application Protocol V1.1b3 §6, §7);
 * - the MBAP header of Modbus TCP and a stream reassembler for it (Messaging on TCP/IP Implementation Guide V1.0b §3.1.3);
 * - RTU framing with CRC-16/MODBUS (Modbus over Serial Line V1.02 §2.5.1, §6.2.2).
 */

export const FUNCTION_CODES = {
  readCoils: 0x01,
  readDiscreteInputs: 0x02,
  readHoldingRegisters: 0x03,
  readInputRegisters: 0x04,
  writeSingleCoil: 0x05,
  writeSingleRegister: 0x06,
  writeMultipleCoils: 0x0f,
  writeMultipleRegisters: 0x10,
} as const;

/** Exception codes (Application Protocol §7). */
export const EXCEPTION_CODES = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  serverDeviceFailure: 0x04,
  acknowledge: 0x05,
  serverDeviceBusy: 0x06,
  memoryParityError: 0x08,
  gatewayPathUnavailable: 0x0a,
  gatewayTargetFailedToRespond: 0x0b,
} as const;

/** Quantity limits per request (Application Protocol §6.1-§6.4, §6.11, §6.12). */
export const MODBUS_LIMITS = {
  maxReadBits: 2000,
  maxReadRegisters: 125,
  maxWriteCoils: 1968,
  maxWriteRegisters: 123,
  /** A PDU is at most 253 bytes (Application Protocol §4.1). */
  maxPduBytes: 253,
} as const;

export type ReadFunctionCode = 0x01 | 0x02 | 0x03 | 0x04;

export type ModbusRequest =
  | { functionCode: ReadFunctionCode; address: number; quantity: number }
  | { functionCode: 0x05; address: number; value: boolean }
  | { functionCode: 0x06; address: number; value: number }
  | { functionCode: 0x0f; address: number; values: boolean[] }
  | { functionCode: 0x10; address: number; values: number[] };

export type ModbusResponse =
  | { functionCode: 0x01 | 0x02; bits: readonly boolean[] }
  | { functionCode: 0x03 | 0x04; registers: readonly number[] }
  | { functionCode: 0x05; address: number; value: boolean }
  | { functionCode: 0x06; address: number; value: number }
  | { functionCode: 0x0f | 0x10; address: number; quantity: number };

export type FrameLayer = 'pdu' | 'mbap' | 'rtu';

/** A frame that cannot be decoded. `layer` says which part of the frame is wrong. */
export class ModbusFrameError extends Error {
  override readonly name: string = 'ModbusFrameError';
  constructor(
    readonly layer: FrameLayer,
    readonly problem: string,
  ) {
    super(`modbus ${layer}: ${problem}`);
  }
}

/**
 * A request PDU that a server must answer with an exception response (Application Protocol §7):
 * an unsupported function code (1), an address range past 65535 (2), a bad quantity, byte count
 * or value (3).
 */
export class ModbusRequestError extends ModbusFrameError {
  override readonly name: string = 'ModbusRequestError';
  constructor(
    readonly functionCode: number,
    readonly exceptionCode: number,
    problem: string,
  ) {
    super('pdu', `function ${functionCode}: ${problem}`);
  }
}

const COIL_ON = 0xff00;
const COIL_OFF = 0x0000;

function illegalValue(functionCode: number, problem: string): ModbusRequestError {
  return new ModbusRequestError(functionCode, EXCEPTION_CODES.illegalDataValue, problem);
}

function requireLength(pdu: Buffer, functionCode: number, length: number): void {
  if (pdu.length !== length) throw illegalValue(functionCode, `PDU is ${pdu.length} bytes, expected ${length}`);
}

function checkQuantity(functionCode: number, quantity: number, max: number): void {
  if (quantity < 1 || quantity > max) throw illegalValue(functionCode, `quantity ${quantity} outside 1..${max}`);
}

function checkRange(functionCode: number, address: number, quantity: number): void {
  if (address + quantity > 0x10000) {
    throw new ModbusRequestError(
      functionCode,
      EXCEPTION_CODES.illegalDataAddress,
      `address ${address} + quantity ${quantity} goes past 65535`,
    );
  }
}

/** Decodes a request PDU (function code + data). Throws ModbusRequestError, which carries the exception code to answer. */
export function decodeRequestPdu(pdu: Buffer): ModbusRequest {
  if (pdu.length === 0) throw new ModbusFrameError('pdu', 'empty PDU');
  const functionCode = pdu.readUInt8(0);
  switch (functionCode) {
    case FUNCTION_CODES.readCoils:
    case FUNCTION_CODES.readDiscreteInputs:
    case FUNCTION_CODES.readHoldingRegisters:
    case FUNCTION_CODES.readInputRegisters: {
      requireLength(pdu, functionCode, 5);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      const isBits = functionCode <= FUNCTION_CODES.readDiscreteInputs;
      checkQuantity(functionCode, quantity, isBits ? MODBUS_LIMITS.maxReadBits : MODBUS_LIMITS.maxReadRegisters);
      checkRange(functionCode, address, quantity);
      return { functionCode, address, quantity };
    }
    case FUNCTION_CODES.writeSingleCoil: {
      requireLength(pdu, functionCode, 5);
      const raw = pdu.readUInt16BE(3);
      if (raw !== COIL_ON && raw !== COIL_OFF) {
        throw illegalValue(functionCode, `coil value 0x${raw.toString(16).padStart(4, '0')} is neither 0xFF00 nor 0x0000`);
      }
      return { functionCode, address: pdu.readUInt16BE(1), value: raw === COIL_ON };
    }
    case FUNCTION_CODES.writeSingleRegister:
      requireLength(pdu, functionCode, 5);
      return { functionCode, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) };
    case FUNCTION_CODES.writeMultipleCoils:
    case FUNCTION_CODES.writeMultipleRegisters: {
      if (pdu.length < 6) throw illegalValue(functionCode, `PDU is ${pdu.length} bytes, expected at least 6`);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      const byteCount = pdu.readUInt8(5);
      const isCoils = functionCode === FUNCTION_CODES.writeMultipleCoils;
      checkQuantity(functionCode, quantity, isCoils ? MODBUS_LIMITS.maxWriteCoils : MODBUS_LIMITS.maxWriteRegisters);
      const expectedBytes = isCoils ? Math.ceil(quantity / 8) : quantity * 2;
      if (byteCount !== expectedBytes) {
        throw illegalValue(functionCode, `byte count ${byteCount} does not match quantity ${quantity} (expected ${expectedBytes})`);
      }
      requireLength(pdu, functionCode, 6 + byteCount);
      checkRange(functionCode, address, quantity);
      const data = pdu.subarray(6);
      if (isCoils) return { functionCode, address, values: unpackBits(data, quantity) };
      const values: number[] = [];
      for (let i = 0; i < quantity; i++) values.push(data.readUInt16BE(i * 2));
      return { functionCode, address, values };
    }
    default:
      throw new ModbusRequestError(functionCode, EXCEPTION_CODES.illegalFunction, 'function code not supported');
  }
}

/** Bits packed LSB-first: the first bit is bit 0 of the first byte; unused high bits are zero (Application Protocol §6.1). */
export function packBits(bits: readonly boolean[]): Buffer {
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    if (bit) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

export function unpackBits(data: Buffer, count: number): boolean[] {
  const bits: boolean[] = [];
  for (let i = 0; i < count; i++) bits.push(((data[i >> 3] ?? 0) & (1 << (i & 7))) !== 0);
  return bits;
}

function checkWord(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`${what} ${value} is not a 16-bit unsigned integer`);
}

/** Encodes a normal response PDU. Throws RangeError when the response cannot fit a PDU or holds non-16-bit values. */
export function encodeResponsePdu(response: ModbusResponse): Buffer {
  switch (response.functionCode) {
    case FUNCTION_CODES.readCoils:
    case FUNCTION_CODES.readDiscreteInputs: {
      if (response.bits.length < 1 || response.bits.length > MODBUS_LIMITS.maxReadBits) {
        throw new RangeError(`${response.bits.length} bits do not fit one response`);
      }
      const packed = packBits(response.bits);
      return Buffer.concat([Buffer.from([response.functionCode, packed.length]), packed]);
    }
    case FUNCTION_CODES.readHoldingRegisters:
    case FUNCTION_CODES.readInputRegisters: {
      const count = response.registers.length;
      if (count < 1 || count > MODBUS_LIMITS.maxReadRegisters) throw new RangeError(`${count} registers do not fit one response`);
      const out = Buffer.alloc(2 + count * 2);
      out[0] = response.functionCode;
      out[1] = count * 2;
      response.registers.forEach((word, i) => {
        checkWord(word, `register ${i}`);
        out.writeUInt16BE(word, 2 + i * 2);
      });
      return out;
    }
    case FUNCTION_CODES.writeSingleCoil:
    case FUNCTION_CODES.writeSingleRegister: {
      const value = response.functionCode === FUNCTION_CODES.writeSingleCoil ? (response.value ? COIL_ON : COIL_OFF) : response.value;
      checkWord(response.address, 'address');
      checkWord(value, 'value');
      const out = Buffer.alloc(5);
      out[0] = response.functionCode;
      out.writeUInt16BE(response.address, 1);
      out.writeUInt16BE(value, 3);
      return out;
    }
    case FUNCTION_CODES.writeMultipleCoils:
    case FUNCTION_CODES.writeMultipleRegisters: {
      checkWord(response.address, 'address');
      checkWord(response.quantity, 'quantity');
      const out = Buffer.alloc(5);
      out[0] = response.functionCode;
      out.writeUInt16BE(response.address, 1);
      out.writeUInt16BE(response.quantity, 3);
      return out;
    }
  }
}

/** Exception response PDU: function code with the high bit set, then the exception code (Application Protocol §7). */
export function encodeExceptionPdu(functionCode: number, exceptionCode: number): Buffer {
  if (!Number.isInteger(functionCode) || functionCode < 1 || functionCode > 0x7f) {
    throw new RangeError(`function code ${functionCode} outside 1..127`);
  }
  if (!Number.isInteger(exceptionCode) || exceptionCode < 1 || exceptionCode > 0xff) {
    throw new RangeError(`exception code ${exceptionCode} outside 1..255`);
  }
  return Buffer.from([functionCode | 0x80, exceptionCode]);
}

// ---------------------------------------------------------------------------------------------
// Modbus TCP: MBAP header (Implementation Guide §3.1.3)

/** MBAP header is 7 bytes: transaction id, protocol id (0), length (unit id + PDU), unit id. */
export const MBAP_HEADER_BYTES = 7;
/** The length field counts the unit id and the PDU: 1 + (1..253). */
export const MBAP_MIN_LENGTH = 2;
export const MBAP_MAX_LENGTH = 254;

export interface MbapFrame {
  transactionId: number;
  unitId: number;
  pdu: Buffer;
}

function checkByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`${what} ${value} outside 0..255`);
}

function checkPduLength(pdu: Buffer): void {
  if (pdu.length < 1 || pdu.length > MODBUS_LIMITS.maxPduBytes) throw new RangeError(`PDU of ${pdu.length} bytes outside 1..253`);
}

export function encodeMbapFrame(frame: MbapFrame): Buffer {
  checkWord(frame.transactionId, 'transaction id');
  checkByte(frame.unitId, 'unit id');
  checkPduLength(frame.pdu);
  const out = Buffer.alloc(MBAP_HEADER_BYTES + frame.pdu.length);
  out.writeUInt16BE(frame.transactionId, 0);
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(frame.pdu.length + 1, 4);
  out.writeUInt8(frame.unitId, 6);
  frame.pdu.copy(out, MBAP_HEADER_BYTES);
  return out;
}

/** Checks protocol id and length of a header; returns the full frame size in bytes. */
function mbapFrameSize(header: Buffer): number {
  const protocolId = header.readUInt16BE(2);
  if (protocolId !== 0) throw new ModbusFrameError('mbap', `protocol id ${protocolId}, expected 0 (Modbus)`);
  const length = header.readUInt16BE(4);
  if (length < MBAP_MIN_LENGTH || length > MBAP_MAX_LENGTH) {
    throw new ModbusFrameError('mbap', `length field ${length} outside ${MBAP_MIN_LENGTH}..${MBAP_MAX_LENGTH}`);
  }
  return 6 + length;
}

/** Decodes exactly one MBAP frame. */
export function decodeMbapFrame(buf: Buffer): MbapFrame {
  if (buf.length < MBAP_HEADER_BYTES + 1) throw new ModbusFrameError('mbap', `frame of ${buf.length} bytes is shorter than 8`);
  const size = mbapFrameSize(buf);
  if (buf.length !== size) throw new ModbusFrameError('mbap', `length field says ${size} bytes in all, got ${buf.length}`);
  return { transactionId: buf.readUInt16BE(0), unitId: buf.readUInt8(6), pdu: Buffer.from(buf.subarray(MBAP_HEADER_BYTES)) };
}

/**
 * Reassembles MBAP frames from a TCP byte stream: push chunks as they arrive, get the frames that
 * are complete. A bad header throws ModbusFrameError as soon as its first 6 bytes are in; the
 * stream cannot be resynchronised after that, so the framer refuses further input and the
 * connection should be closed.
 */
export class MbapFramer {
  private pending: Buffer = Buffer.alloc(0);
  private failure: ModbusFrameError | undefined;

  push(chunk: Buffer): MbapFrame[] {
    if (this.failure) throw this.failure;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: MbapFrame[] = [];
    try {
      while (this.pending.length >= 6) {
        const size = mbapFrameSize(this.pending);
        if (this.pending.length < size) break;
        frames.push(decodeMbapFrame(this.pending.subarray(0, size)));
        this.pending = this.pending.subarray(size);
      }
    } catch (err) {
      this.failure = err as ModbusFrameError;
      this.pending = Buffer.alloc(0);
      throw err;
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Modbus RTU (Serial Line V1.02 §2.5.1): unit id, PDU, CRC low byte first

/** RTU frame: 1 address byte + PDU (1..253) + 2 CRC bytes = 4..256 bytes (Serial Line §2.5.1). */
export const RTU_MIN_FRAME_BYTES = 4;
export const RTU_MAX_FRAME_BYTES = 256;

/**
 * CRC-16/MODBUS: polynomial 0xA001 (reflected 0x8005), initial value 0xFFFF (Serial Line §6.2.2).
 * Pass the CRC of the bytes before `buf` as `crc` to continue it over a stream.
 */
export function crc16Modbus(buf: Uint8Array, crc = 0xffff): number {
  for (const byte of buf) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export interface RtuFrame {
  unitId: number;
  pdu: Buffer;
}

export function encodeRtuFrame(frame: RtuFrame): Buffer {
  checkByte(frame.unitId, 'unit id');
  checkPduLength(frame.pdu);
  const out = Buffer.alloc(1 + frame.pdu.length + 2);
  out[0] = frame.unitId;
  frame.pdu.copy(out, 1);
  out.writeUInt16LE(crc16Modbus(out.subarray(0, out.length - 2)), out.length - 2);
  return out;
}

/** Decodes exactly one RTU frame (delimiting frames on the line by silence is the port's job). */
export function decodeRtuFrame(buf: Buffer): RtuFrame {
  if (buf.length < RTU_MIN_FRAME_BYTES || buf.length > RTU_MAX_FRAME_BYTES) {
    throw new ModbusFrameError('rtu', `frame of ${buf.length} bytes outside ${RTU_MIN_FRAME_BYTES}..${RTU_MAX_FRAME_BYTES}`);
  }
  const body = buf.subarray(0, buf.length - 2);
  const received = buf.readUInt16LE(buf.length - 2);
  const computed = crc16Modbus(body);
  if (received !== computed) {
    throw new ModbusFrameError(
      'rtu',
      `CRC 0x${received.toString(16).padStart(4, '0')} does not match computed 0x${computed.toString(16).padStart(4, '0')}`,
    );
  }
  return { unitId: body.readUInt8(0), pdu: Buffer.from(body.subarray(1)) };
}
