/** Issue 5: camera profiles (kind camera, protocol onvif): no Modbus resources, no sign section. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ProfileError } from '../src/errors.js';
import { parseProfile } from '../src/parse.js';

function camera(): Record<string, any> {
  return { schema: 'quanlink/device-profile@1', id: 'acme-cam', kind: 'camera', manufacturer: 'Acme', model: 'C-1', protocol: 'onvif' };
}

function problemOf(profile: Record<string, any>): { path: string; problem: string } {
  try {
    parseProfile(stringify(profile), 'acme-cam.yaml');
  } catch (err) {
    assert.ok(err instanceof ProfileError, String(err));
    return { path: err.path, problem: err.problem };
  }
  return assert.fail('expected the profile to be refused');
}

describe('issue 5: camera profiles', () => {
  it('a minimal ONVIF camera loads, with no points', () => {
    const profile = parseProfile(stringify(camera()), 'acme-cam.yaml');
    assert.deepEqual([profile.kind, profile.protocol, profile.points, profile.sign], ['camera', 'onvif', [], undefined]);
  });

  it('refuses a camera over Modbus, Modbus resources on a camera, and a sign over ONVIF', () => {
    const modbus = camera();
    modbus.protocol = 'modbus';
    assert.deepEqual(problemOf(modbus), { path: 'protocol', problem: 'a camera profile speaks onvif, not modbus' });
    const withResources = camera();
    withResources.resources = [{ name: 'count', wire: { table: 'input-register', address: 0, type: 'uint16' } }];
    assert.deepEqual(problemOf(withResources), { path: 'resources', problem: 'a camera has no Modbus resources (its video is configured in the device binding)' });
    const loop = camera();
    loop.kind = 'loop-detector';
    assert.deepEqual(problemOf(loop), { path: 'protocol', problem: 'a loop-detector profile speaks modbus, not onvif' });
  });
});
