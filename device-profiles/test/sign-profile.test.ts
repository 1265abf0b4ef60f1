/**
 * Issue 4: profiles of guidance screens (kind vms): the sign section, its capabilities checked
 * by sign-content, a Modbus register map or MQTT topics, and the errors for each way to get them wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { RAMP_SIGN_128x32 } from '@quanlink/sign-content';
import { ProfileError } from '../src/errors.js';
import { parseProfile } from '../src/parse.js';

function modbusSign(): Record<string, any> {
  return {
    schema: 'quanlink/device-profile@1',
    id: 'acme-vms',
    kind: 'vms',
    manufacturer: 'Acme',
    model: 'V-1',
    protocol: 'modbus',
    sign: {
      capabilities: structuredClone(RAMP_SIGN_128x32),
      modbus: {
        messageArea: { address: 100, registers: 512 },
        messageLength: 10,
        expectedCrc: 11,
        activate: 12,
        brightness: 13,
        status: 0,
        statusBits: { doorOpen: 0, powerFault: 1, controllerFault: 2, pixelFailure: 3, activationRejected: 4 },
        pixelFailures: 1,
        displayedCrc: 2,
        lastError: 3,
      },
    },
  };
}

function mqttSign(): Record<string, any> {
  const p = modbusSign();
  p.protocol = 'mqtt';
  p.sign.mqtt = { topicBase: 'signs/{device}' };
  delete p.sign.modbus;
  return p;
}

function expectError(profile: Record<string, any>, path: string, problem: string | RegExp): void {
  assert.throws(
    () => parseProfile(stringify(profile), 'signs/acme-vms.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ProfileError, `not a ProfileError: ${String(err)}`);
      assert.equal(err.file, 'signs/acme-vms.yaml');
      assert.equal(err.path, path, err.message);
      if (typeof problem === 'string') assert.equal(err.problem, problem);
      else assert.match(err.problem, problem);
      assert.ok(err.line !== undefined && err.line > 0, 'names a line');
      return true;
    },
  );
}

describe('issue 4: vms profiles', () => {
  it('resolves a Modbus sign: capabilities and register map, no points', () => {
    const profile = parseProfile(stringify(modbusSign()), 'acme.yaml');
    assert.deepEqual([profile.kind, profile.protocol, profile.points], ['vms', 'modbus', []]);
    assert.deepEqual(profile.sign?.capabilities, RAMP_SIGN_128x32);
    assert.equal(profile.sign?.modbus?.messageArea.registers, 512);
    assert.equal(profile.sign?.mqtt, undefined);
  });

  it('resolves an MQTT sign with its topic base pattern', () => {
    const profile = parseProfile(stringify(mqttSign()));
    assert.equal(profile.protocol, 'mqtt');
    assert.deepEqual(profile.sign?.mqtt, { topicBase: 'signs/{device}' });
    assert.equal(profile.sign?.modbus, undefined);
  });

  it('a brightness register is optional', () => {
    const p = modbusSign();
    delete p.sign.modbus.brightness;
    assert.equal(parseProfile(stringify(p)).sign?.modbus?.brightness, undefined);
  });

  describe('refuses a bad sign profile, naming file, field and problem', () => {
    const cases: [string, (p: Record<string, any>) => void, string, string | RegExp][] = [
      ['no sign section', (p) => delete p.sign, 'sign', /^is missing: a vms profile says what the screen can show/],
      ['a sign section on a loop detector', (p) => (p.kind = 'loop-detector'), 'sign', 'only a vms profile has a sign section, this one is loop-detector'],
      ['an unknown protocol', (p) => (p.protocol = 'ntcip'), 'protocol', 'must be one of modbus, mqtt, onvif, got "ntcip"'],
      ['missing capabilities', (p) => delete p.sign.capabilities, 'sign.capabilities', 'is missing'],
      ['a misspelt capability', (p) => (p.sign.capabilities.widthPixels = 1), 'sign.capabilities.widthPixels', /^unknown field 'widthPixels' \(known: widthPx, heightPx/],
      ['a bad colour scheme', (p) => (p.sign.capabilities.colourScheme = 'rgb'), 'sign.capabilities.colourScheme', /got "rgb"/],
      ['a font without a height', (p) => delete p.sign.capabilities.fonts[1].heightPx, 'sign.capabilities.fonts[1].heightPx', 'is missing'],
      ['an unknown font as default', (p) => (p.sign.capabilities.defaultFont = 7), 'sign.capabilities.defaultFont', 'defaultFont 7 is not one of the fonts (1, 2)'],
      ['a font taller than the sign', (p) => (p.sign.capabilities.fonts[1].heightPx = 40), 'sign.capabilities.fonts[1]', 'font 2 is 40 px high, sign is 32 px high'],
      [
        'a monochrome sign without monochromeColour',
        (p) => (p.sign.capabilities.colourScheme = 'monochrome1bit'),
        'sign.capabilities.monochromeColour',
        'monochromeColour is required for a monochrome1bit sign',
      ],
      ['no wire for a modbus sign', (p) => delete p.sign.modbus, 'sign.modbus', /^is missing: a modbus sign needs its register map/],
      ['an mqtt wire on a modbus sign', (p) => (p.sign.mqtt = { topicBase: 'x' }), 'sign.mqtt', 'a modbus sign has no mqtt wire; remove sign.mqtt or set protocol: mqtt'],
      ['a missing register', (p) => delete p.sign.modbus.displayedCrc, 'sign.modbus.displayedCrc', 'is missing'],
      ['an address beyond 65535', (p) => (p.sign.modbus.activate = 70000), 'sign.modbus.activate', /less or equal to 65535, got 70000/],
      [
        'the length register inside the message area',
        (p) => (p.sign.modbus.messageLength = 300),
        'sign.modbus.messageLength',
        'messageLength (holding-register 300) overlaps messageArea (holding-register 100..611)',
      ],
      ['two holding fields on one register', (p) => (p.sign.modbus.activate = 11), 'sign.modbus.activate', 'activate (holding-register 11) overlaps expectedCrc (holding-register 11)'],
      ['two input fields on one register', (p) => (p.sign.modbus.lastError = 2), 'sign.modbus.lastError', 'lastError (input-register 2) overlaps displayedCrc (input-register 2)'],
      ['a message area past 65535', (p) => (p.sign.modbus.messageArea.address = 65400), 'sign.modbus.messageArea.registers', '512 registers from 65400 run past address 65535'],
      [
        'a message area smaller than maxMultiLength',
        (p) => (p.sign.modbus.messageArea.registers = 100),
        'sign.modbus.messageArea.registers',
        '100 registers hold 200 bytes, less than capabilities.maxMultiLength 1024',
      ],
      ['input registers one read cannot cover', (p) => (p.sign.modbus.lastError = 500), 'sign.modbus.lastError', /span 0\.\.500 \(501\); the driver reads them in one request of at most 125/],
      ['two status flags on one bit', (p) => (p.sign.modbus.statusBits.powerFault = 0), 'sign.modbus.statusBits.powerFault', 'bit 0 is already doorOpen'],
      ['a status bit beyond 15', (p) => (p.sign.modbus.statusBits.doorOpen = 16), 'sign.modbus.statusBits.doorOpen', /less or equal to 15, got 16/],
      ['resources on an mqtt sign', (p) => {
        Object.assign(p, mqttSign());
        p.resources = [{ name: 'uptime', wire: { table: 'input-register', address: 0, type: 'uint32' } }];
      }, 'resources', 'an mqtt sign has no Modbus resources'],
      ['no topic base on an mqtt sign', (p) => {
        Object.assign(p, mqttSign());
        delete p.sign.mqtt;
      }, 'sign.mqtt', /^is missing: an mqtt sign needs its topicBase/],
      ['a wildcard in the topic base', (p) => {
        Object.assign(p, mqttSign());
        p.sign.mqtt.topicBase = 'vms/#';
      }, 'sign.mqtt.topicBase', /does not match/],
    ];
    for (const [what, change, path, problem] of cases) {
      it(what, () => {
        const p = modbusSign();
        change(p);
        expectError(p, path, problem);
      });
    }

    it('a loop detector still needs resources, and speaks modbus', () => {
      const p = modbusSign();
      p.kind = 'loop-detector';
      delete p.sign;
      expectError(p, 'resources', 'is missing');
      p.resources = [{ name: 'uptime', wire: { table: 'input-register', address: 0, type: 'uint32' } }];
      p.protocol = 'mqtt';
      expectError(p, 'protocol', 'a loop-detector profile speaks modbus, not mqtt');
    });
  });
});
