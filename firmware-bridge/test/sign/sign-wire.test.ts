/**
 * Issue 4: the sign wire formats shared by drivers, profiles and simulator: MULTI in registers,
 * the register map checks, and the MQTT JSON payload parsers (hostile input included).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkModbusSignWire,
  multiToRegisters,
  registersToBytes,
  signInputSpan,
  type ModbusSignWire,
} from '../../src/sign/modbus-sign-wire.js';
import { parseSignAvailability, parseSignGet, parseSignReply, parseSignSet, parseSignState, signTopics, topicBaseFor } from '../../src/sign/mqtt-sign-wire.js';
import { rejectionOfLastError, SIGN_REJECTIONS } from '../../src/sign/sign-driver.js';

const wire = (): ModbusSignWire => ({
  messageArea: { address: 16, registers: 8 },
  messageLength: 14,
  expectedCrc: 15,
  activate: 0,
  brightness: 1,
  status: 0,
  statusBits: { doorOpen: 0, powerFault: 1, controllerFault: 2, pixelFailure: 3, activationRejected: 4 },
  pixelFailures: 1,
  displayedCrc: 2,
  lastError: 3,
});

describe('issue 4: MULTI in registers', () => {
  it('packs UTF-8 two bytes per register, big-endian, the last one zero padded', () => {
    assert.deepEqual(multiToRegisters('ABC'), { bytes: 3, words: [0x4142, 0x4300] });
    const cjk = multiToRegisters('[jl3]前');
    assert.equal(cjk.bytes, 8);
    assert.equal(registersToBytes(cjk.words, cjk.bytes).toString('utf8'), '[jl3]前');
    assert.deepEqual(multiToRegisters(''), { bytes: 0, words: [] });
  });
});

describe('issue 4: Modbus sign register map checks', () => {
  it('accepts a sound map and reads its input registers as one span', () => {
    assert.equal(checkModbusSignWire(wire()), undefined);
    assert.deepEqual(signInputSpan(wire()), { first: 0, count: 4 });
  });

  const cases: [string, (w: ModbusSignWire) => void, string, RegExp][] = [
    ['length inside the message area', (w) => (w.messageLength = 20), 'messageLength', /messageLength \(holding-register 20\) overlaps messageArea \(holding-register 16\.\.23\)/],
    ['two inputs on one register', (w) => (w.lastError = 1), 'lastError', /overlaps pixelFailures/],
    ['a shared status bit', (w) => (w.statusBits.activationRejected = 2), 'statusBits.activationRejected', /bit 2 is already controllerFault/],
    ['a status bit beyond 15', (w) => (w.statusBits.doorOpen = 16), 'statusBits.doorOpen', /bit position 0\.\.15/],
    ['an area past 65535', (w) => (w.messageArea.address = 65530), 'messageArea.registers', /run past address 65535/],
    ['an empty area', (w) => (w.messageArea.registers = 0), 'messageArea.registers', /integer >= 1/],
    ['inputs too far apart for one read', (w) => (w.lastError = 200), 'lastError', /span 0\.\.200/],
    ['a negative address', (w) => (w.activate = -1), 'activate', /address 0\.\.65535/],
  ];
  for (const [what, change, path, problem] of cases) {
    it(`refuses ${what}`, () => {
      const w = wire();
      change(w);
      const found = checkModbusSignWire(w);
      assert.ok(found, 'a problem');
      assert.equal(found.path.join('.'), path);
      assert.match(found.problem, problem);
    });
  }

  it('maps last-error values to reasons', () => {
    assert.equal(rejectionOfLastError(1)?.reason, 'CRC mismatch');
    assert.equal(rejectionOfLastError(4), SIGN_REJECTIONS.other);
    assert.equal(rejectionOfLastError(0), undefined);
    assert.equal(rejectionOfLastError(99), undefined);
  });
});

describe('issue 4: MQTT sign payloads', () => {
  it('names the topics under a base made from a pattern', () => {
    assert.equal(topicBaseFor('vms/{device}', 'sign-1'), 'vms/sign-1');
    assert.deepEqual(signTopics('vms/s'), { set: 'vms/s/set', get: 'vms/s/get', reply: 'vms/s/reply', state: 'vms/s/state', availability: 'vms/s/availability' });
  });

  it('parses the three kinds of set, get, replies, state and availability', () => {
    assert.deepEqual(parseSignSet('{"tx":"a-1","multi":"HI","crc":513}'), { tx: 'a-1', multi: 'HI', crc: 513 });
    assert.deepEqual(parseSignSet('{"tx":"a-2","blank":true}'), { tx: 'a-2', blank: true });
    assert.deepEqual(parseSignSet(Buffer.from('{"tx":"a-3","brightness":80}')), { tx: 'a-3', brightness: 80 });
    assert.deepEqual(parseSignGet('{"tx":"a-4"}'), { tx: 'a-4' });
    assert.deepEqual(parseSignReply('{"tx":"a-1","ok":true}'), { tx: 'a-1', ok: true });
    assert.deepEqual(parseSignReply('{"tx":"a-1","ok":false,"error":{"code":"CrcMismatch","message":"no"}}'), {
      tx: 'a-1',
      ok: false,
      error: { code: 'CrcMismatch', message: 'no' },
    });
    const state = { displayedCrc: 0, multi: '', doorOpen: false, powerFault: false, controllerFault: false, pixelFailures: 0, brightness: 80, ts: 1, tx: 'a-4' };
    assert.deepEqual(parseSignState(JSON.stringify(state)), state);
    assert.equal(parseSignAvailability('offline'), 'offline');
  });

  const hostile: [string, () => unknown, RegExp][] = [
    ['not JSON', () => parseSignReply('{oops'), /^not JSON/],
    ['an array', () => parseSignState('[]'), /not a JSON object/],
    ['a tx with a wildcard', () => parseSignGet('{"tx":"#"}'), /tx must be a string matching/],
    ['a CRC beyond 16 bits', () => parseSignSet('{"tx":"a","multi":"x","crc":70000}'), /crc must be an integer 0\.\.65535, got 70000/],
    ['blank: false', () => parseSignSet('{"tx":"a","blank":false}'), /blank must be true/],
    ['two commands at once', () => parseSignSet('{"tx":"a","multi":"x","crc":1,"blank":true}'), /unknown field 'blank'/],
    ['no command', () => parseSignSet('{"tx":"a"}'), /carries multi and crc, blank, or brightness/],
    ['a failed reply without error', () => parseSignReply('{"tx":"a","ok":false}'), /carries error/],
    ['a state with a text CRC', () => parseSignState('{"displayedCrc":"1"}'), /displayedCrc must be an integer/],
    ['a state with an extra field', () => parseSignState('{"displayedCrc":1,"evil":1}'), /unknown field 'evil'/],
    ['a huge payload', () => parseSignReply(Buffer.alloc(70_000, 0x20)), /larger than 65536/],
    ['an unknown availability', () => parseSignAvailability('maybe'), /online or offline/],
  ];
  for (const [what, parse, problem] of hostile) {
    it(`refuses ${what}`, () => assert.throws(parse, (err: unknown) => (err as Error).name === 'SignPayloadError' && problem.test((err as Error).message)));
  }
});
