/** issue 6: the identify section of a profile (how a technician's scan recognises a model) and its bad inputs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ProfileError } from '../src/errors.js';
import { identifyConstants } from '../src/identify.js';
import { loadBuiltinProfiles } from '../src/load.js';
import { parseProfile } from '../src/parse.js';

function base(identify: unknown): string {
  return stringify({
    schema: 'quanlink/device-profile@1',
    id: 'acme-ld2',
    kind: 'loop-detector',
    manufacturer: 'Acme',
    model: 'LD-2',
    protocol: 'modbus',
    lanes: { count: 2, stride: 10 },
    resources: [
      { name: 'firmware', wire: { table: 'input-register', address: 2, type: 'uint16' } },
      { name: 'occupancy', perLane: true, wire: { table: 'input-register', address: 100, type: 'uint16' }, value: { scale: 0.1, min: 0, max: 100 } },
    ],
    identify,
  });
}

function problemOf(identify: unknown): { path: string; problem: string } {
  try {
    parseProfile(base(identify), 'acme.yaml');
  } catch (err) {
    assert.ok(err instanceof ProfileError, String(err));
    return { path: err.path, problem: err.problem };
  }
  assert.fail('the profile was accepted');
}

describe('issue 6: profile identify section', () => {
  it('resolves raw reads (count from equals) and resource checks (every lane)', () => {
    const profile = parseProfile(base({ checks: [{ description: 'model id', table: 'input-register', address: 8, equals: [0x4143, 0x4d45] }, { resource: 'occupancy', max: 90 }] }));
    const [model, occupancy] = profile.identify!.checks;
    assert.deepEqual(model, { kind: 'registers', table: 'input-register', address: 8, count: 2, equals: [0x4143, 0x4d45], description: 'model id' });
    assert.equal(occupancy?.kind, 'resource');
    assert.deepEqual(occupancy?.kind === 'resource' && occupancy.points.map((p) => p.key), ['lane1.occupancy', 'lane2.occupancy']);
    assert.deepEqual(identifyConstants(profile.identify), [{ table: 'input-register', address: 8, words: [0x4143, 0x4d45] }]);
  });

  it('refuses bad checks, naming the field', () => {
    assert.deepEqual(problemOf({ checks: [{ resource: 'speed' }] }), { path: 'identify.checks[0].resource', problem: "no resource 'speed' in this profile (known: firmware, occupancy)" });
    assert.deepEqual(problemOf({ checks: [{ address: 3 }] }), { path: 'identify.checks[0].table', problem: 'is missing (give table and address, or resource)' });
    assert.deepEqual(problemOf({ checks: [{ table: 'input-register', address: 8, count: 3, equals: [1, 2] }] }), { path: 'identify.checks[0].equals', problem: 'has 2 values but count is 3' });
    assert.deepEqual(problemOf({ checks: [{ resource: 'firmware', table: 'input-register' }] }).path, 'identify.checks[0].resource');
    assert.deepEqual(problemOf({ checks: [{ resource: 'firmware', min: 5, max: 1 }] }), { path: 'identify.checks[0].min', problem: 'min 5 is above max 1' });
    assert.deepEqual(problemOf({ checks: [{ table: 'input-register', address: 2, equals: [7] }] }), {
      path: 'identify.checks[0].address',
      problem: 'the constant input-register 2+1 overlaps point firmware (input-register 2)',
    });
    assert.deepEqual(problemOf({ checks: [] }).path, 'identify.checks');
    assert.match(problemOf({ checks: [{ resource: 'firmware', model: 1 }] }).problem, /unknown field 'model'/);
  });

  it('is refused on a profile that does not speak Modbus', () => {
    const text = stringify({ schema: 'quanlink/device-profile@1', id: 'cam', kind: 'camera', manufacturer: 'A', model: 'B', protocol: 'onvif', identify: { checks: [{ table: 'input-register', address: 0 }] } });
    assert.throws(() => parseProfile(text, 'cam.yaml'), /identify: only a Modbus profile can be identified/);
  });

  it('the builtin Modbus loop-card and sign profiles can be identified; Quanlink ones by a model id', async () => {
    const profiles = await loadBuiltinProfiles();
    for (const id of ['quanlink-lc8', 'lanxin-ld4', 'quanlink-vms-r1']) assert.ok(profiles.get(id)?.identify, `${id} has no identify section`);
    assert.equal(identifyConstants(profiles.get('quanlink-lc8')!.identify).length, 1);
    assert.equal(identifyConstants(profiles.get('quanlink-vms-r1')!.identify).length, 1);
  });
});
