import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeResponsePdu, encodeRequestPdu, exceptionCodeOf } from '../../src/modbus/client-pdu.js';
import { ModbusFrameError, type ModbusRequest } from '../../src/modbus/frame.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// The request/response bytes are the worked examples of the Modbus Application Protocol V1.1b3.
describe('client request PDUs (Modbus App Protocol 1.1b3 §6)', () => {
  const cases: [string, ModbusRequest, string][] = [
    ['§6.1 Read Coils', { functionCode: 1, address: 0x13, quantity: 0x13 }, '01 0013 0013'],
    ['§6.2 Read Discrete Inputs', { functionCode: 2, address: 0xc4, quantity: 0x16 }, '02 00C4 0016'],
    ['§6.3 Read Holding Registers', { functionCode: 3, address: 0x6b, quantity: 3 }, '03 006B 0003'],
    ['§6.4 Read Input Registers', { functionCode: 4, address: 8, quantity: 1 }, '04 0008 0001'],
    ['§6.5 Write Single Coil', { functionCode: 5, address: 0xac, value: true }, '05 00AC FF00'],
    ['§6.5 Write Single Coil off', { functionCode: 5, address: 0xac, value: false }, '05 00AC 0000'],
    ['§6.6 Write Single Register', { functionCode: 6, address: 1, value: 3 }, '06 0001 0003'],
    [
      '§6.11 Write Multiple Coils',
      { functionCode: 15, address: 0x13, values: [1, 0, 1, 1, 0, 0, 1, 1, 1, 0].map(Boolean) },
      '0F 0013 000A 02 CD 01',
    ],
    ['§6.12 Write Multiple Registers', { functionCode: 16, address: 1, values: [0x000a, 0x0102] }, '10 0001 0002 04 000A 0102'],
  ];
  for (const [name, request, bytes] of cases) {
    it(`${name}: ${bytes}`, () => assert.deepEqual(encodeRequestPdu(request), hex(bytes)));
  }

  it('refuses what the protocol cannot carry', () => {
    const bad: [ModbusRequest, RegExp][] = [
      [{ functionCode: 3, address: 0, quantity: 126 }, /quantity 126 outside 1\.\.125/],
      [{ functionCode: 1, address: 0, quantity: 0 }, /quantity 0 outside 1\.\.2000/],
      [{ functionCode: 4, address: 65535, quantity: 2 }, /goes past 65535/],
      [{ functionCode: 6, address: 70000, value: 1 }, /address 70000 is not a 16-bit/],
      [{ functionCode: 6, address: 0, value: -1 }, /value -1 is not a 16-bit/],
      [{ functionCode: 16, address: 0, values: [] }, /quantity 0 outside 1\.\.123/],
      [{ functionCode: 16, address: 0, values: [0x10000] }, /register 0 65536/],
    ];
    for (const [request, problem] of bad) assert.throws(() => encodeRequestPdu(request), problem);
  });
});

describe('client answer PDUs, checked against their request (Modbus App Protocol 1.1b3 §6, §7)', () => {
  it('§6.1 Read Coils answer 01 03 CD 6B 05 is 19 coils, LSB first', () => {
    const response = decodeResponsePdu({ functionCode: 1, address: 0x13, quantity: 19 }, hex('01 03 CD 6B 05'));
    assert.deepEqual(response, { functionCode: 1, bits: [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1].map(Boolean) });
  });

  it('§6.3 Read Holding Registers answer 03 06 022B 0000 0064', () => {
    assert.deepEqual(decodeResponsePdu({ functionCode: 3, address: 0x6b, quantity: 3 }, hex('03 06 022B 0000 0064')), {
      functionCode: 3,
      registers: [555, 0, 100],
    });
  });

  it('§6.5, §6.6, §6.11, §6.12 write answers echo the request', () => {
    assert.deepEqual(decodeResponsePdu({ functionCode: 5, address: 0xac, value: true }, hex('05 00AC FF00')), { functionCode: 5, address: 0xac, value: true });
    assert.deepEqual(decodeResponsePdu({ functionCode: 6, address: 1, value: 3 }, hex('06 0001 0003')), { functionCode: 6, address: 1, value: 3 });
    assert.deepEqual(decodeResponsePdu({ functionCode: 16, address: 1, values: [10, 258] }, hex('10 0001 0002')), { functionCode: 16, address: 1, quantity: 2 });
  });

  it('§7 an exception answer gives its code; a normal one gives none', () => {
    const request: ModbusRequest = { functionCode: 4, address: 0, quantity: 1 };
    assert.equal(exceptionCodeOf(request, hex('84 02')), 2);
    assert.equal(exceptionCodeOf(request, hex('83 02')), undefined, 'the exception of another function');
    assert.equal(exceptionCodeOf(request, hex('04 02 000A')), undefined);
  });

  it('rejects an answer that does not fit its request, saying how', () => {
    const bad: [ModbusRequest, string, RegExp][] = [
      [{ functionCode: 4, address: 0, quantity: 1 }, '03 02 000A', /function code 3, the request had 4/],
      [{ functionCode: 4, address: 0, quantity: 2 }, '04 02 000A', /byte count 2 does not match quantity 2 \(expected 4\)/],
      [{ functionCode: 4, address: 0, quantity: 1 }, '04 02 00', /PDU is 3 bytes, expected 4/],
      [{ functionCode: 1, address: 0, quantity: 9 }, '01 01 FF', /byte count 1 does not match quantity 9 \(expected 2\)/],
      [{ functionCode: 6, address: 1, value: 3 }, '06 0002 0003', /echoes address 2, the request had 1/],
      [{ functionCode: 6, address: 1, value: 3 }, '06 0001 0004', /echoes value 4, the request had 3/],
      [{ functionCode: 5, address: 1, value: true }, '05 0001 0000', /echoes value 0, the request had 65280/],
      [{ functionCode: 16, address: 1, values: [1, 2] }, '10 0001 0003', /echoes quantity 3, the request had 2/],
    ];
    for (const [request, pdu, problem] of bad) {
      assert.throws(
        () => decodeResponsePdu(request, hex(pdu)),
        (err: unknown) => err instanceof ModbusFrameError && err.layer === 'pdu' && problem.test(err.message),
        `${pdu}: ${problem}`,
      );
    }
  });
});
