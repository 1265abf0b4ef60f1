import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLANK_CRC, crc16x25, crcOfDisplayed, messageCrc } from '@quanlink/sign-content';

test('ISO/IEC 3309 CRC-16 (CRC-16/X-25): the check value of "123456789" is 0x906E', () => {
  assert.equal(crc16x25(Buffer.from('123456789', 'ascii')), 0x906e);
  assert.equal(crc16x25(new Uint8Array()), 0x0000);
});

test('NTCIP 1203 dmsMessageCRC: over the UTF-8 MULTI, then the beacon and pixel-service bytes', () => {
  const multi = '[jl3]前方拥堵[nl]请绕行';
  const bytes = Buffer.concat([Buffer.from(multi, 'utf8'), Buffer.from([0, 0])]);
  assert.equal(messageCrc(multi), crc16x25(bytes));
  assert.equal(messageCrc(multi, 1, 0), crc16x25(Buffer.concat([Buffer.from(multi, 'utf8'), Buffer.from([1, 0])])));
  assert.notEqual(messageCrc(multi, 0, 1), messageCrc(multi));
  assert.notEqual(messageCrc('[jl3]前方拥堵[nl]请绕行.'), messageCrc(multi), 'one more character changes the CRC');
  assert.ok(messageCrc(multi) >= 0 && messageCrc(multi) <= 0xffff);
});

test('issue 4: a blank screen reports CRC 0, not the CRC of the empty string', () => {
  assert.equal(BLANK_CRC, 0);
  assert.equal(crcOfDisplayed(''), 0);
  assert.notEqual(messageCrc(''), 0);
  assert.equal(crcOfDisplayed('A'), messageCrc('A'));
});
