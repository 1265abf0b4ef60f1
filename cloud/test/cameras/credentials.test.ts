/** Camera credentials are stripped from URIs (RFC 3986 §3.2.1 userinfo, and credential query parameters); other URIs are left alone. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stripBirthCredentials, stripUriCredentials } from '../../src/cameras/credentials.js';

test('issue 5 / RFC 3986 §3.2.1: userinfo and credential query parameters are removed, everything else kept', () => {
  const cases: [string, string, boolean][] = [
    ['rtsp://admin:secret@10.0.0.9:554/Streaming/Channels/101', 'rtsp://10.0.0.9:554/Streaming/Channels/101', true],
    ['rtsp://admin@10.0.0.9/live', 'rtsp://10.0.0.9/live', true],
    ['RTSP://a:b@[fe80::1]:554/x', 'RTSP://[fe80::1]:554/x', true],
    ['rtsp://a:p%40ss@host/x', 'rtsp://host/x', true],
    ['rtsp://host/cam/realmonitor?channel=1&subtype=0&user=admin&password=secret', 'rtsp://host/cam/realmonitor?channel=1&subtype=0', true],
    ['http://host/snap.jpg?pwd=x#frag', 'http://host/snap.jpg#frag', true],
    ['rtsp://10.0.0.9:554/main', 'rtsp://10.0.0.9:554/main', false],
    ['rtsp://host/path?channel=1', 'rtsp://host/path?channel=1', false],
    ['modbus-tcp://10.0.0.5:502/1', 'modbus-tcp://10.0.0.5:502/1', false],
    ['not a uri @ all', 'not a uri @ all', false],
  ];
  for (const [input, uri, stripped] of cases) assert.deepEqual(stripUriCredentials(input), { uri, stripped }, input);
});

test('issue 5: stripBirthCredentials cleans endpoints and stream URIs and names where, tolerating malformed births', () => {
  const birth = {
    devices: [
      { id: 'cam-1', endpoint: 'http://u:p@h/onvif', camera: { profiles: [{ token: 'a', streamUri: 'rtsp://u:p@h/a' }, { token: 'b' }, null] } },
      { id: 'loop-1', endpoint: 'modbus-tcp://h:502/1' },
      null,
      'junk',
    ],
  };
  assert.deepEqual(stripBirthCredentials(birth), ['devices[0].endpoint', 'devices[0].camera.profiles[0].streamUri']);
  assert.equal(birth.devices[0] && (birth.devices[0] as any).camera.profiles[0].streamUri, 'rtsp://h/a');
  assert.deepEqual(stripBirthCredentials(null), []);
  assert.deepEqual(stripBirthCredentials({ devices: 'x' }), []);
});
