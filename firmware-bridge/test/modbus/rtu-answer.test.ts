import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRtuFrame } from '../../src/modbus/frame.js';
import { describeUnmatched, matchRtuAnswer, rtuAnswerLength } from '../../src/modbus/rtu-answer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const frame = (unitId: number, pdu: string): Buffer => encodeRtuFrame({ unitId, pdu: hex(pdu) });
/** Unit 1's answer to FC4 of 2 registers: 0x0001 0x5678. */
const ANSWER = frame(1, '04 04 0001 5678');
const NOISE = hex('00 FF 55 AA 13');

describe('finding the RTU answer in the received bytes (Modbus over Serial Line V1.02 §2.5.1)', () => {
  it('answer lengths: exception 5, reads 3 + byte count + 2, writes 8', () => {
    assert.equal(rtuAnswerLength(0x84, undefined), 5);
    assert.equal(rtuAnswerLength(3, 6), 11);
    assert.equal(rtuAnswerLength(1, undefined), undefined, 'not known before the byte count');
    for (const fc of [5, 6, 15, 16]) assert.equal(rtuAnswerLength(fc, undefined), 8);
    assert.equal(rtuAnswerLength(0x2b, 1), undefined);
  });

  it('§2.5.1 a well-known frame: 01 03 0000 000A C5 CD is unit 1 function 3, 01 06 0000 000A 09 CD unit 1 function 6 (CRC low byte first)', () => {
    const match = matchRtuAnswer(hex('01 03 0000 000A C5 CD'), 1, 6);
    assert.deepEqual(match, { kind: 'pending' }, 'function 3 is not the answer to function 6');
    assert.deepEqual(matchRtuAnswer(hex('01 06 0000 000A 09 CD'), 1, 6), { kind: 'answer', pdu: hex('06 0000 000A'), skippedBytes: 0, trailingBytes: 0 });
    assert.equal(matchRtuAnswer(hex('01 06 0000 000A C5 CD'), 1, 6).kind, 'bad-crc', 'function byte changed, CRC not');
  });

  it('waits for the whole frame, byte by byte', () => {
    for (let n = 0; n < ANSWER.length; n++) assert.deepEqual(matchRtuAnswer(ANSWER.subarray(0, n), 1, 4), { kind: 'pending' }, `${n} bytes`);
    const match = matchRtuAnswer(ANSWER, 1, 4);
    assert.equal(match.kind, 'answer');
    assert.deepEqual(match.kind === 'answer' && match.pdu, hex('04 04 0001 5678'));
  });

  it('an exception answer is 5 bytes', () => {
    const match = matchRtuAnswer(frame(1, '84 02'), 1, 4);
    assert.ok(match.kind === 'answer');
    assert.deepEqual(match.pdu, hex('84 02'));
  });

  it('skips noise before and after the answer, and counts it', () => {
    const match = matchRtuAnswer(Buffer.concat([NOISE, ANSWER, NOISE]), 1, 4);
    assert.deepEqual(match, { kind: 'answer', pdu: hex('04 04 0001 5678'), skippedBytes: 5, trailingBytes: 5 });
  });

  it('§2.5.1.2 a complete answer whose CRC does not check is bad-crc at once', () => {
    const corrupt = Buffer.from(ANSWER);
    corrupt[4]! ^= 0x01;
    const match = matchRtuAnswer(corrupt, 1, 4);
    assert.equal(match.kind, 'bad-crc');
    assert.equal(match.kind === 'bad-crc' && match.received, ANSWER.readUInt16LE(ANSWER.length - 2));
  });

  it('a whole frame from another unit, or for another function, is never taken for the answer', () => {
    const stray = frame(2, '04 04 0001 5678');
    assert.deepEqual(matchRtuAnswer(stray, 1, 4), { kind: 'pending' });
    assert.match(describeUnmatched(stray, 1, 4), /expected an answer from unit 1 to function 4, got a frame from unit 2 with function 4/);
    // A late answer to an earlier request, then ours.
    const both = Buffer.concat([frame(1, '03 02 0007'), ANSWER]);
    const match = matchRtuAnswer(both, 1, 4);
    assert.ok(match.kind === 'answer');
    assert.deepEqual(match.pdu, hex('04 04 0001 5678'));
    assert.equal(match.skippedBytes, 7);
  });

  it('a stray whose data looks like our header does not pass for a bad answer', () => {
    // Unit 2's answer carries the bytes 01 04 in its data; they must not be read as a broken answer of unit 1.
    const stray = frame(2, '04 04 0104 0000');
    assert.deepEqual(matchRtuAnswer(stray, 1, 4), { kind: 'pending' });
    assert.equal(matchRtuAnswer(Buffer.concat([stray, ANSWER]), 1, 4).kind, 'answer');
  });

  it('says what arrived instead of an answer', () => {
    assert.equal(describeUnmatched(ANSWER.subarray(0, 6), 1, 4), 'truncated answer: 6 bytes of 9 (01 04 04 00 01 56)');
    assert.equal(describeUnmatched(NOISE, 1, 4), '5 bytes that hold no answer from unit 1 to function 4: 00 ff 55 aa 13');
    assert.match(describeUnmatched(Buffer.alloc(40, 0x55), 1, 4), /^40 bytes .*: (55 ){16}\.\.\.$/);
  });
});
