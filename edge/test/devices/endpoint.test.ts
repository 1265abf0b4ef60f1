import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { describeEndpoint } from '../../src/devices/drivers.js';

describe('device endpoints in the birth', () => {
  it('issue 4: an MQTT screen is described by broker and topics, never with its credentials', async () => {
    const profile = (await loadBuiltinProfiles()).get('quanlink-vms-g1')!;
    const endpoint = describeEndpoint(
      { id: 'gantry-7', profile: profile.id, transport: { kind: 'mqtt', url: 'mqtt://user:inurl@10.0.0.7:1883', username: 'u', password: 'secret' } },
      profile,
    );
    assert.equal(endpoint, 'mqtt://10.0.0.7:1883/vms/gantry-7');
    const own = describeEndpoint({ id: 'g', profile: profile.id, transport: { kind: 'mqtt', url: 'mqtts://broker.local', topicBase: 'signs/{device}/x' } }, profile);
    assert.equal(own, 'mqtts://broker.local/signs/g/x');
  });
});
