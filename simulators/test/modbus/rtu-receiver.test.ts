/**
 * Cutting RTU requests out of a byte stream (Modbus over Serial Line V1.02 §2.5.1.1): by the
 * length a function code implies, else by the silence; bad CRCs dropped with what follows them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RtuFrame } from '@quanlink/firmware-bridge';
import { RtuReceiver, rtuRequestLength } from '../../src/modbus/rtu-receiver.js';
import { sleep } from '../helpers/modbus-clients.js';
import { rtu } from '../helpers/rtu-clients.js';

function receiver(silenceMs = 20) {
  const frames: RtuFrame[] = [];
  const dropped: Array<[string, string]> = [];
  const r = new RtuReceiver({ silenceMs, onFrame: (f) => frames.push(f), onDiscard: (bytes, problem) => dropped.push([bytes.toString('hex'), problem]) });
  return { r, frames, dropped };
}

describe('rtuRequestLength', () => {
  it('knows the request length of the read and write function codes (App Protocol 1.1b3 §6)', () => {
    for (const fc of [1, 2, 3, 4, 5, 6]) assert.equal(rtuRequestLength(Buffer.from([1, fc])), 8, `fc ${fc}`);
    assert.equal(rtuRequestLength(Buffer.from('011000000002', 'hex')), 'more', 'FC 16 needs its byte count');
    assert.equal(rtuRequestLength(Buffer.from('01100000000204', 'hex')), 13);
    assert.equal(rtuRequestLength(Buffer.from('010f0000000a02', 'hex')), 11);
    assert.equal(rtuRequestLength(Buffer.from([1])), 'more');
    assert.equal(rtuRequestLength(Buffer.from([1, 8])), 'unknown');
  });
});

describe('RtuReceiver', () => {
  it('takes a request as soon as its length is in, even split over chunks; several in one chunk too', () => {
    const { r, frames } = receiver();
    const a = rtu(5, '03 0010 0002');
    r.push(a.subarray(0, 2));
    r.push(a.subarray(2, 5));
    assert.equal(frames.length, 0);
    r.push(a.subarray(5));
    assert.deepEqual(frames, [{ unitId: 5, pdu: Buffer.from('0300100002', 'hex') }]);
    const write = rtu(6, '10 0008 0002 04 0001 0002');
    r.push(Buffer.concat([write, rtu(7, '04 0000 0001')]));
    assert.deepEqual(
      frames.slice(1).map((f) => [f.unitId, f.pdu.toString('hex')]),
      [
        [6, '100008000204' + '00010002'],
        [7, '0400000001'],
      ],
    );
    r.close();
  });

  it('a bad CRC drops the frame and everything up to the next silence; then it frames again', async () => {
    const { r, frames, dropped } = receiver();
    const bad = rtu(5, '03 0010 0002');
    bad[7]! ^= 1;
    r.push(Buffer.concat([bad, rtu(5, '03 0010 0002')]));
    assert.equal(frames.length, 0, 'the good frame right behind it is part of the same burst');
    await sleep(50);
    assert.equal(dropped.length, 1);
    assert.match(dropped[0]![1], /^CRC 0x[0-9a-f]{4} does not match computed/);
    assert.equal(dropped[0]![0].length, 32, 'both frames dropped');
    r.push(rtu(5, '03 0010 0002'));
    assert.equal(frames.length, 1);
    r.close();
  });

  it('an unknown function code, or noise, is decided at the silence', async () => {
    const { r, frames, dropped } = receiver();
    r.push(rtu(9, '08 0000 abcd'));
    assert.equal(frames.length, 0);
    await sleep(50);
    assert.deepEqual(frames, [{ unitId: 9, pdu: Buffer.from('080000abcd', 'hex') }]);
    r.push(Buffer.from('0908ffee', 'hex'));
    await sleep(50);
    assert.equal(frames.length, 1);
    assert.match(dropped[0]![1], /CRC/);
    r.push(Buffer.from([0x42]));
    await sleep(50);
    assert.match(dropped[1]![1], /frame of 1 bytes outside 4\.\.256/);
    r.close();
  });

  it('a write whose byte count would pass 256 bytes is noise', async () => {
    const { r, frames, dropped } = receiver();
    r.push(Buffer.from('01100000007bff', 'hex'));
    await sleep(50);
    assert.equal(frames.length, 0);
    assert.match(dropped[0]![1], /request of 264 bytes is longer than an RTU frame \(256\)/);
    r.close();
  });
});
