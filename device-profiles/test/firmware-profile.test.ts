/**
 * Issue 6 (device firmware where a profile declares how): the profile's `firmware` section, its
 * checks against the rest of the profile, the builtin profiles that declare it (and lanxin-ld4 that
 * does not), and the image header.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ProfileError } from '../src/errors.js';
import { encodeFirmwareImage, imageCrc32, parseFirmwareImageHeader } from '../src/firmware.js';
import { loadBuiltinProfiles } from '../src/load.js';
import { parseProfile } from '../src/parse.js';

const LC8 = new URL('../profiles/loop-detectors/quanlink-lc8.yaml', import.meta.url);

async function lc8(): Promise<Record<string, any>> {
  return parse(await readFile(LC8, 'utf8')) as Record<string, any>;
}

function expectError(profile: Record<string, any>, path: string, problem: string | RegExp): void {
  assert.throws(
    () => parseProfile(stringify(profile), 'loop-detectors/acme.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ProfileError, `not a ProfileError: ${String(err)}`);
      assert.equal(err.path, path, err.message);
      if (typeof problem === 'string') assert.equal(err.problem, problem);
      else assert.match(err.problem, problem);
      return true;
    },
  );
}

describe('issue 6: firmware section of a profile', () => {
  it('the builtin VMS-R1 and LC-8 declare modbus-block-transfer; LD-4 cannot be updated in the field', async () => {
    const profiles = await loadBuiltinProfiles();
    const vms = profiles.get('quanlink-vms-r1')!.firmware;
    assert.equal(vms?.method, 'modbus-block-transfer');
    assert.deepEqual(vms?.wire.version, { table: 'input-register', address: 20 });
    assert.equal(vms?.wire.window.registers, 120);
    assert.equal(vms?.rebootS, 8);
    assert.equal(profiles.get('quanlink-lc8')!.firmware?.wire.window.registers, 64);
    assert.equal(profiles.get('lanxin-ld4')!.firmware, undefined);
  });

  describe('refuses a bad firmware section, naming the field', () => {
    const cases: [string, (p: Record<string, any>) => void, string, string | RegExp][] = [
      ['an unknown method', (p) => (p.firmware.method = 'xmodem'), 'firmware.method', 'must be "modbus-block-transfer", got "xmodem"'],
      ['a block larger than one FC16 write', (p) => (p.firmware.wire.window.registers = 124), 'firmware.wire.window.registers', /123/],
      ['no reboot time', (p) => delete p.firmware.rebootS, 'firmware.rebootS', 'is missing'],
      ['a misspelt wire field', (p) => (p.firmware.wire.windw = {}), 'firmware.wire.windw', /^unknown field 'windw'/],
      ['version registers on a data point', (p) => (p.firmware.wire.version.address = 1), 'firmware.wire.version.address', /overlap point uptime/],
      ['window over the control registers', (p) => (p.firmware.wire.window.address = 602), 'firmware.wire.window.address', /overlap firmware control registers/],
      ['a window past the last address', (p) => (p.firmware.wire.window.address = 65500), 'firmware.wire.window.address', /run past the last address 65535/],
      ['two states with one code', (p) => (p.firmware.states.failed = 1), 'firmware.states.failed', 'code 1 is also receiving: every code must mean one thing'],
      ['a command 0', (p) => (p.firmware.commands = { begin: 0, block: 2, commit: 3, abort: 4 }), 'firmware.commands', /no command may be 0/],
      ['a firmware section on an ONVIF camera', (p) => ((p.protocol = 'onvif'), (p.kind = 'camera'), delete p.resources, delete p.identify, delete p.lanes), 'firmware.method', /needs a Modbus device, this profile speaks onvif/],
    ];
    for (const [name, edit, path, problem] of cases) {
      it(name, async () => {
        const p = await lc8();
        edit(p);
        expectError(p, path, problem);
      });
    }
  });

  it('on a sign, the firmware registers may not overlap the sign registers', async () => {
    const text = await readFile(new URL('../profiles/signs/quanlink-vms-r1.yaml', import.meta.url), 'utf8');
    const p = parse(text) as Record<string, any>;
    p.firmware.wire.window.address = 500;
    expectError(p, 'firmware.wire.window.address', /overlap sign message area/);
  });

  it('image header: profile and version round-trip; a foreign file is refused', () => {
    const image = encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '2.3.4', body: Buffer.from('body bytes') });
    assert.deepEqual(parseFirmwareImageHeader(image), { profile: 'quanlink-vms-r1', version: '2.3.4', headerBytes: 12 + 'quanlink-vms-r1'.length });
    assert.equal(imageCrc32(Buffer.from('123456789')), 0xcbf43926); // the CRC-32 check value
    assert.throws(() => parseFirmwareImageHeader(Buffer.from('MZ not firmware at all')), /no 'QLFW' header/);
    assert.throws(() => encodeFirmwareImage({ profile: 'x1', version: '1.0.0-rc.1', body: Buffer.alloc(0) }), /not major.minor.patch/);
  });
});
