/**
 * The client's half of the PDU (Modbus Application Protocol V1.1b3 §6, §7): requests out, answers
 * in, each answer checked against the request it answers. Pure functions over Buffers; frame.ts
 * has the server's half.
 */
import { FUNCTION_CODES, MODBUS_LIMITS, ModbusFrameError, packBits, unpackBits, type ModbusRequest, type ModbusResponse } from './frame.js';

const COIL_ON = 0xff00;

function checkWord(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`${what} ${value} is not a 16-bit unsigned integer`);
}

function checkQuantity(quantity: number, max: number, address: number): void {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > max) throw new RangeError(`quantity ${quantity} outside 1..${max}`);
  if (address + quantity > 0x10000) throw new RangeError(`address ${address} + quantity ${quantity} goes past 65535`);
}

function header(functionCode: number, address: number, word: number, extra = 0): Buffer {
  const out = Buffer.alloc(5 + extra);
  out[0] = functionCode;
  out.writeUInt16BE(address, 1);
  out.writeUInt16BE(word, 3);
  return out;
}

/** Encodes a request PDU; throws RangeError for an address, quantity or value the protocol cannot carry. */
export function encodeRequestPdu(request: ModbusRequest): Buffer {
  checkWord(request.address, 'address');
  switch (request.functionCode) {
    case FUNCTION_CODES.readCoils:
    case FUNCTION_CODES.readDiscreteInputs:
    case FUNCTION_CODES.readHoldingRegisters:
    case FUNCTION_CODES.readInputRegisters: {
      const isBits = request.functionCode <= FUNCTION_CODES.readDiscreteInputs;
      checkQuantity(request.quantity, isBits ? MODBUS_LIMITS.maxReadBits : MODBUS_LIMITS.maxReadRegisters, request.address);
      return header(request.functionCode, request.address, request.quantity);
    }
    case FUNCTION_CODES.writeSingleCoil:
      return header(request.functionCode, request.address, request.value ? COIL_ON : 0);
    case FUNCTION_CODES.writeSingleRegister:
      checkWord(request.value, 'value');
      return header(request.functionCode, request.address, request.value);
    case FUNCTION_CODES.writeMultipleCoils: {
      checkQuantity(request.values.length, MODBUS_LIMITS.maxWriteCoils, request.address);
      const packed = packBits(request.values);
      const out = header(request.functionCode, request.address, request.values.length, 1 + packed.length);
      out[5] = packed.length;
      packed.copy(out, 6);
      return out;
    }
    case FUNCTION_CODES.writeMultipleRegisters: {
      checkQuantity(request.values.length, MODBUS_LIMITS.maxWriteRegisters, request.address);
      const out = header(request.functionCode, request.address, request.values.length, 1 + request.values.length * 2);
      out[5] = request.values.length * 2;
      request.values.forEach((word, i) => {
        checkWord(word, `register ${i}`);
        out.writeUInt16BE(word, 6 + i * 2);
      });
      return out;
    }
  }
}

/** The exception code when `pdu` is an exception response to `request` (§7), else undefined. */
export function exceptionCodeOf(request: ModbusRequest, pdu: Buffer): number | undefined {
  return pdu.length === 2 && pdu[0] === (request.functionCode | 0x80) ? pdu[1] : undefined;
}

function malformed(problem: string): ModbusFrameError {
  return new ModbusFrameError('pdu', problem);
}

function requireLength(pdu: Buffer, length: number): void {
  if (pdu.length !== length) throw malformed(`answer PDU is ${pdu.length} bytes, expected ${length}`);
}

function requireEcho(what: string, got: number, sent: number): void {
  if (got !== sent) throw malformed(`answer echoes ${what} ${got}, the request had ${sent}`);
}

/**
 * Decodes a normal answer to `request`; throws ModbusFrameError (layer 'pdu') when it answers a
 * different function, carries a byte count or length the request does not call for, or echoes a
 * different address, value or quantity. Exception answers are for exceptionCodeOf.
 */
export function decodeResponsePdu(request: ModbusRequest, pdu: Buffer): ModbusResponse {
  const functionCode = pdu[0];
  if (functionCode !== request.functionCode) throw malformed(`answer has function code ${functionCode}, the request had ${request.functionCode}`);
  switch (request.functionCode) {
    case FUNCTION_CODES.readCoils:
    case FUNCTION_CODES.readDiscreteInputs:
    case FUNCTION_CODES.readHoldingRegisters:
    case FUNCTION_CODES.readInputRegisters: {
      const { functionCode: fc, quantity } = request;
      const isBits = fc === FUNCTION_CODES.readCoils || fc === FUNCTION_CODES.readDiscreteInputs;
      const expectedBytes = isBits ? Math.ceil(quantity / 8) : quantity * 2;
      const byteCount = pdu[1];
      if (byteCount !== expectedBytes) throw malformed(`answer byte count ${byteCount} does not match quantity ${quantity} (expected ${expectedBytes})`);
      requireLength(pdu, 2 + expectedBytes);
      const data = pdu.subarray(2);
      if (isBits) return { functionCode: fc, bits: unpackBits(data, quantity) };
      const registers: number[] = new Array(quantity);
      for (let i = 0; i < quantity; i++) registers[i] = data.readUInt16BE(i * 2);
      return { functionCode: fc, registers };
    }
    case FUNCTION_CODES.writeSingleCoil:
    case FUNCTION_CODES.writeSingleRegister: {
      requireLength(pdu, 5);
      requireEcho('address', pdu.readUInt16BE(1), request.address);
      const raw = pdu.readUInt16BE(3);
      if (request.functionCode === FUNCTION_CODES.writeSingleRegister) {
        requireEcho('value', raw, request.value);
        return { functionCode: request.functionCode, address: request.address, value: raw };
      }
      requireEcho('value', raw, request.value ? COIL_ON : 0);
      return { functionCode: request.functionCode, address: request.address, value: request.value };
    }
    case FUNCTION_CODES.writeMultipleCoils:
    case FUNCTION_CODES.writeMultipleRegisters: {
      requireLength(pdu, 5);
      requireEcho('address', pdu.readUInt16BE(1), request.address);
      requireEcho('quantity', pdu.readUInt16BE(3), request.values.length);
      return { functionCode: request.functionCode, address: request.address, quantity: request.values.length };
    }
  }
}
