import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MbapFramer,
  ModbusFrameError,
  ModbusRequestError,
  crc16Modbus,
  decodeMbapFrame,
  decodeRequestPdu,
  decodeRtuFrame,
  encodeExceptionPdu,
  encodeMbapFrame,
  encodeResponsePdu,
  encodeRtuFrame,
  packBits,
  unpackBits,
} from '../../src/modbus/frame.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const toHex = (b: Buffer): string => b.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');

function assertRequestError(pdu: string, exceptionCode: number, problem: RegExp): void {
  assert.throws(
    () => decodeRequestPdu(hex(pdu)),
    (err: unknown) => {
      assert.ok(err instanceof ModbusRequestError, `expected ModbusRequestError, got ${String(err)}`);
      assert.equal(err.exceptionCode, exceptionCode);
      assert.equal(err.functionCode, hex(pdu)[0]);
      assert.match(err.message, problem);
      return true;
    },
  );
}

// The request/response bytes below are the worked examples of the Modbus Application Protocol V1.1b3.
describe('request PDU decoding (Modbus App Protocol 1.1b3 §6)', () => {
  it('§6.1 Read Coils: 01 0013 0013 is 19 coils from address 19', () => {
    assert.deepEqual(decodeRequestPdu(hex('01 00 13 00 13')), { functionCode: 1, address: 19, quantity: 19 });
  });
  it('§6.2 Read Discrete Inputs: 02 00C4 0016', () => {
    assert.deepEqual(decodeRequestPdu(hex('02 00 C4 00 16')), { functionCode: 2, address: 196, quantity: 22 });
  });
  it('§6.3 Read Holding Registers: 03 006B 0003', () => {
    assert.deepEqual(decodeRequestPdu(hex('03 00 6B 00 03')), { functionCode: 3, address: 107, quantity: 3 });
  });
  it('§6.4 Read Input Registers: 04 0008 0001', () => {
    assert.deepEqual(decodeRequestPdu(hex('04 00 08 00 01')), { functionCode: 4, address: 8, quantity: 1 });
  });
  it('§6.5 Write Single Coil: FF00 is ON, 0000 is OFF', () => {
    assert.deepEqual(decodeRequestPdu(hex('05 00 AC FF 00')), { functionCode: 5, address: 172, value: true });
    assert.deepEqual(decodeRequestPdu(hex('05 00 AC 00 00')), { functionCode: 5, address: 172, value: false });
  });
  it('§6.6 Write Single Register: 06 0001 0003', () => {
    assert.deepEqual(decodeRequestPdu(hex('06 00 01 00 03')), { functionCode: 6, address: 1, value: 3 });
  });
  it('§6.11 Write Multiple Coils: 0F 0013 000A 02 CD01 sets 10 coils LSB first', () => {
    assert.deepEqual(decodeRequestPdu(hex('0F 00 13 00 0A 02 CD 01')), {
      functionCode: 15,
      address: 19,
      values: [true, false, true, true, false, false, true, true, true, false],
    });
  });
  it('§6.12 Write Multiple Registers: 10 0001 0002 04 000A 0102', () => {
    assert.deepEqual(decodeRequestPdu(hex('10 00 01 00 02 04 00 0A 01 02')), { functionCode: 16, address: 1, values: [10, 258] });
  });
  it('quantity limits at the edges are accepted: 2000 bits, 125 registers, 1968 coils, 123 registers written', () => {
    assert.equal((decodeRequestPdu(hex('01 00 00 07 D0')) as { quantity: number }).quantity, 2000);
    assert.equal((decodeRequestPdu(hex('03 00 00 00 7D')) as { quantity: number }).quantity, 125);
    const coils = Buffer.concat([hex('0F 00 00 07 B0 F6'), Buffer.alloc(246)]);
    assert.equal((decodeRequestPdu(coils) as { values: boolean[] }).values.length, 1968);
    const regs = Buffer.concat([hex('10 00 00 00 7B F6'), Buffer.alloc(246)]);
    assert.equal((decodeRequestPdu(regs) as { values: number[] }).values.length, 123);
  });
  it('the last register 65535 can be read alone', () => {
    assert.deepEqual(decodeRequestPdu(hex('04 FF FF 00 01')), { functionCode: 4, address: 65535, quantity: 1 });
  });
});

describe('request PDU validation -> exception to answer (Modbus App Protocol 1.1b3 §6 state diagrams, §7)', () => {
  it('§7 unsupported function codes are IllegalFunction (1)', () => {
    assertRequestError('08 00 00 00 00', 1, /function 8: function code not supported/);
    assertRequestError('2B 0E 01 00', 1, /not supported/);
  });
  it('§6.1/§6.2 bit reads need 1..2000', () => {
    assertRequestError('01 00 00 00 00', 3, /quantity 0 outside 1\.\.2000/);
    assertRequestError('02 00 00 07 D1', 3, /quantity 2001 outside 1\.\.2000/);
  });
  it('§6.3/§6.4 register reads need 1..125', () => {
    assertRequestError('03 00 00 00 00', 3, /quantity 0 outside 1\.\.125/);
    assertRequestError('04 00 00 00 7E', 3, /quantity 126 outside 1\.\.125/);
  });
  it('§6.12 register writes need 1..123 and byte count = 2 x quantity', () => {
    const tooMany = Buffer.concat([hex('10 00 00 00 7C F8'), Buffer.alloc(248)]);
    assertRequestError(tooMany.toString('hex'), 3, /quantity 124 outside 1\.\.123/);
    assertRequestError('10 00 01 00 02 03 00 0A 01', 3, /byte count 3 does not match quantity 2 \(expected 4\)/);
    assertRequestError('10 00 01 00 02 04 00 0A 01', 3, /PDU is 9 bytes, expected 10/);
  });
  it('§6.11 coil writes need 1..1968 and byte count = ceil(quantity / 8)', () => {
    assertRequestError('0F 00 13 00 00 00', 3, /quantity 0 outside 1\.\.1968/);
    assertRequestError('0F 00 13 00 0A 01 CD', 3, /byte count 1 does not match quantity 10 \(expected 2\)/);
  });
  it('§6.5 a coil value other than FF00/0000 is IllegalDataValue', () => {
    assertRequestError('05 00 AC 00 01', 3, /coil value 0x0001 is neither/);
  });
  it('a truncated or padded PDU is IllegalDataValue', () => {
    assertRequestError('03 00 6B 00', 3, /PDU is 4 bytes, expected 5/);
    assertRequestError('06 00 01 00 03 00', 3, /PDU is 6 bytes, expected 5/);
    assertRequestError('10 00 01', 3, /expected at least 6/);
  });
  it('§6.3 a range past 65535 is IllegalDataAddress (2)', () => {
    assertRequestError('03 FF FF 00 02', 2, /address 65535 \+ quantity 2 goes past 65535/);
  });
  it('an empty PDU is a frame error without an exception to answer', () => {
    assert.throws(() => decodeRequestPdu(Buffer.alloc(0)), (err: unknown) => err instanceof ModbusFrameError && !(err instanceof ModbusRequestError));
  });
});

describe('response PDU encoding (Modbus App Protocol 1.1b3 §6, §7)', () => {
  it('§6.1 Read Coils response: 01 03 CD 6B 05 (coils 27..20, 35..28, 38..36)', () => {
    const bits = unpackBits(hex('CD 6B 05'), 19);
    assert.equal(toHex(encodeResponsePdu({ functionCode: 1, bits })), '01 03 CD 6B 05');
  });
  it('§6.2 Read Discrete Inputs response: 02 03 AC DB 35', () => {
    const bits = unpackBits(hex('AC DB 35'), 22);
    assert.equal(toHex(encodeResponsePdu({ functionCode: 2, bits })), '02 03 AC DB 35');
  });
  it('§6.3 Read Holding Registers response: 03 06 022B 0000 0064', () => {
    assert.equal(toHex(encodeResponsePdu({ functionCode: 3, registers: [555, 0, 100] })), '03 06 02 2B 00 00 00 64');
  });
  it('§6.4 Read Input Registers response: 04 02 000A', () => {
    assert.equal(toHex(encodeResponsePdu({ functionCode: 4, registers: [10] })), '04 02 00 0A');
  });
  it('§6.5/§6.6 single writes echo the request', () => {
    assert.equal(toHex(encodeResponsePdu({ functionCode: 5, address: 172, value: true })), '05 00 AC FF 00');
    assert.equal(toHex(encodeResponsePdu({ functionCode: 6, address: 1, value: 3 })), '06 00 01 00 03');
  });
  it('§6.11/§6.12 multiple writes answer address and quantity', () => {
    assert.equal(toHex(encodeResponsePdu({ functionCode: 15, address: 19, quantity: 10 })), '0F 00 13 00 0A');
    assert.equal(toHex(encodeResponsePdu({ functionCode: 16, address: 1, quantity: 2 })), '10 00 01 00 02');
  });
  it('§7 exception response: 81 02 for Read Coils IllegalDataAddress', () => {
    assert.equal(toHex(encodeExceptionPdu(1, 2)), '81 02');
    assert.equal(toHex(encodeExceptionPdu(4, 11)), '84 0B');
  });
  it('rejects responses that cannot be encoded', () => {
    assert.throws(() => encodeResponsePdu({ functionCode: 3, registers: [] }), RangeError);
    assert.throws(() => encodeResponsePdu({ functionCode: 3, registers: new Array(126).fill(0) }), RangeError);
    assert.throws(() => encodeResponsePdu({ functionCode: 4, registers: [65536] }), /register 0 65536/);
    assert.throws(() => encodeResponsePdu({ functionCode: 4, registers: [1.5] }), RangeError);
    assert.throws(() => encodeResponsePdu({ functionCode: 1, bits: new Array(2001).fill(false) }), RangeError);
    assert.throws(() => encodeExceptionPdu(0x83, 2), /function code 131/);
    assert.throws(() => encodeExceptionPdu(3, 0), /exception code 0/);
  });
  it('bits pack LSB first and unpack back, unused high bits zero', () => {
    const bits = [true, false, false, false, false, false, false, false, true];
    assert.equal(toHex(packBits(bits)), '01 01');
    assert.deepEqual(unpackBits(packBits(bits), 9), bits);
  });
});

describe('MBAP header (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3)', () => {
  it('§3.1.3 encodes transaction id, protocol 0, length = unit id + PDU, unit id', () => {
    const frame = encodeMbapFrame({ transactionId: 0x1234, unitId: 0x11, pdu: hex('03 00 6B 00 03') });
    assert.equal(toHex(frame), '12 34 00 00 00 06 11 03 00 6B 00 03');
  });
  it('§3.1.3 decodes one frame', () => {
    assert.deepEqual(decodeMbapFrame(hex('00 01 00 00 00 06 FF 04 00 08 00 01')), {
      transactionId: 1,
      unitId: 255,
      pdu: hex('04 00 08 00 01'),
    });
  });
  it('rejects a non-zero protocol id, a length outside 2..254 and a size that disagrees with the length', () => {
    assert.throws(() => decodeMbapFrame(hex('00 01 00 01 00 06 01 04 00 08 00 01')), /modbus mbap: protocol id 1, expected 0/);
    assert.throws(() => decodeMbapFrame(hex('00 01 00 00 00 01 01 04')), /length field 1 outside 2\.\.254/);
    assert.throws(() => decodeMbapFrame(hex('00 01 00 00 00 07 01 04 00 08 00 01')), /says 13 bytes in all, got 12/);
    assert.throws(() => decodeMbapFrame(hex('00 01 00 00 00')), /shorter than 8/);
  });
  it('refuses to encode a PDU outside 1..253 bytes or ids out of range', () => {
    assert.throws(() => encodeMbapFrame({ transactionId: 1, unitId: 1, pdu: Buffer.alloc(0) }), RangeError);
    assert.throws(() => encodeMbapFrame({ transactionId: 1, unitId: 1, pdu: Buffer.alloc(254) }), RangeError);
    assert.throws(() => encodeMbapFrame({ transactionId: 65536, unitId: 1, pdu: hex('03') }), /transaction id/);
    assert.throws(() => encodeMbapFrame({ transactionId: 1, unitId: 256, pdu: hex('03') }), /unit id/);
  });
});

describe('MbapFramer: MBAP frames reassembled from a TCP stream (Implementation Guide V1.0b §3.1.3)', () => {
  const a = hex('00 01 00 00 00 06 01 03 00 00 00 02');
  const b = hex('00 02 00 00 00 06 01 04 00 10 00 08');

  it('returns frames split byte by byte once they are complete', () => {
    const framer = new MbapFramer();
    const stream = Buffer.concat([a, b]);
    const got = [];
    for (let i = 0; i < stream.length; i++) {
      const frames = framer.push(stream.subarray(i, i + 1));
      if (i < a.length - 1) assert.equal(frames.length, 0, `no frame before byte ${i}`);
      got.push(...frames);
    }
    assert.deepEqual(
      got.map((f) => f.transactionId),
      [1, 2],
    );
    assert.deepEqual(got[1]?.pdu, hex('04 00 10 00 08'));
    assert.equal(framer.bufferedBytes, 0);
  });
  it('returns several frames from one chunk and keeps a partial tail', () => {
    const framer = new MbapFramer();
    const frames = framer.push(Buffer.concat([a, b, b.subarray(0, 5)]));
    assert.equal(frames.length, 2);
    assert.equal(framer.bufferedBytes, 5);
    assert.equal(framer.push(b.subarray(5)).length, 1);
  });
  it('a bad protocol id fails as soon as the header is in, and the framer stays failed', () => {
    const framer = new MbapFramer();
    assert.deepEqual(framer.push(hex('00 01 12')), []);
    assert.throws(() => framer.push(hex('34 00 06')), (err: unknown) => err instanceof ModbusFrameError && err.layer === 'mbap' && /protocol id 4660/.test(err.message));
    assert.throws(() => framer.push(a), /protocol id 4660/);
  });
  it('a length field of 0 or 255+ is rejected (no waiting for bytes that would never make sense)', () => {
    assert.throws(() => new MbapFramer().push(hex('00 01 00 00 00 00')), /length field 0 outside 2\.\.254/);
    assert.throws(() => new MbapFramer().push(hex('00 01 00 00 01 00')), /length field 256 outside 2\.\.254/);
    assert.throws(() => new MbapFramer().push(hex('47 45 54 20 2F 20 48 54 54 50')), /protocol id/); // "GET / HTTP"
  });
});

describe('RTU framing and CRC (Modbus over Serial Line V1.02 §2.5.1.2, §6.2.2)', () => {
  it('CRC-16/MODBUS of "123456789" is 0x4B37 (check value of the catalogue)', () => {
    assert.equal(crc16Modbus(Buffer.from('123456789', 'ascii')), 0x4b37);
  });
  it('§2.5.1.2 the CRC is appended low byte first: 01 03 0000 000A -> C5 CD', () => {
    assert.equal(toHex(encodeRtuFrame({ unitId: 1, pdu: hex('03 00 00 00 0A') })), '01 03 00 00 00 0A C5 CD');
  });
  it('decodes a frame with a good CRC and rejects a corrupted one', () => {
    assert.deepEqual(decodeRtuFrame(hex('01 03 00 00 00 0A C5 CD')), { unitId: 1, pdu: hex('03 00 00 00 0A') });
    assert.throws(() => decodeRtuFrame(hex('01 03 00 00 00 0B C5 CD')), /modbus rtu: CRC 0xcdc5 does not match computed/);
    assert.throws(() => decodeRtuFrame(hex('01 03 00 00 00 0A CD C5')), /CRC/);
  });
  it('round-trips the largest frame and rejects sizes outside 4..256', () => {
    const pdu = Buffer.alloc(253, 0x5a);
    pdu[0] = 0x10;
    const frame = encodeRtuFrame({ unitId: 247, pdu });
    assert.equal(frame.length, 256);
    assert.deepEqual(decodeRtuFrame(frame), { unitId: 247, pdu });
    assert.throws(() => decodeRtuFrame(hex('01 03 40')), /3 bytes outside 4\.\.256/);
    assert.throws(() => decodeRtuFrame(Buffer.alloc(257)), /257 bytes/);
    assert.throws(() => encodeRtuFrame({ unitId: 1, pdu: Buffer.alloc(0) }), RangeError);
  });
});
