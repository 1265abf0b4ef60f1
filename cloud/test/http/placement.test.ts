/**
 * Device placement on the map (issue 7: devices drawn from coordinates) and cancelling a pending
 * credential rotation (issue 6), over the real HTTP API of a started cloud.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { hashSecret } from '../../src/auth/secrets.js';
import { registerGateway } from '../../src/registry.js';
import { bearer, captureLogger } from '../helpers.js';

const ADMIN_TOKEN = 'placement-test-admin-token-0123456789';
const PASSWORD = 'placement password 1';

describe('issue 7: device placement and issue 6: cancel a pending rotation over HTTP', () => {
  let cloud: RunningCloud;
  const tokens: Record<string, string> = {};

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers: { ...bearer(token), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const place = (body: unknown, token = tokens.technician!, device = 'loop-1') => call('PUT', `/api/v1/gateways/gw-map/devices/${device}/placement`, token, body);

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('error').logger });
    for (const role of ['technician', 'controller', 'viewer'] as const) {
      await cloud.accounts.createUser({ username: `pl-${role}`, role, password: PASSWORD });
      tokens[role] = (await cloud.accounts.issueApiToken(`pl-${role}`, 'placement test')).token;
    }
    await registerGateway(cloud.store, 'gw-map');
    await cloud.store.applyBirth(
      'gw-map',
      { v: 1, ts: Date.now(), agentVersion: '0.1.0', startedAt: Date.now(), stream: 'stream-map-0001', devices: [{ id: 'loop-1', profile: 'p', kind: 'loop-detector' }, { id: 'cam-1', profile: 'p', kind: 'camera' }] },
      Date.now(),
    );
  });
  after(() => cloud?.close());

  test('issue 7: a technician places a device; device list and detail carry it as location; audited', async () => {
    const placed = await place({ location: { lat: 31.2304, lon: 121.4737 }, bearing: 90, note: 'pole 3' });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    assert.deepEqual({ ...placed.body, placedAt: 0 }, { lat: 31.2304, lon: 121.4737, bearing: 90, note: 'pole 3', placedAt: 0, placedBy: 'pl-technician' });
    const detail = await call('GET', '/api/v1/gateways/gw-map/devices/loop-1', tokens.viewer!);
    assert.deepEqual(detail.body.location, placed.body);
    const list = await call('GET', '/api/v1/devices?gatewayId=gw-map', tokens.viewer!);
    assert.deepEqual(list.body.devices.map((d: any) => [d.deviceId, d.location?.lat ?? null]), [['cam-1', null], ['loop-1', 31.2304]]);
    const all = await call('GET', '/api/v1/devices', tokens.viewer!);
    assert.equal(all.body.devices.find((d: any) => d.deviceId === 'loop-1').location.lon, 121.4737);
    // Moved: replaced, bearing and note cleared when not given.
    const moved = await place({ location: { lat: -12.5, lon: -77 } }, ADMIN_TOKEN);
    assert.equal(moved.status, 200);
    assert.deepEqual([moved.body.lat, moved.body.lon, moved.body.bearing, moved.body.note, moved.body.placedBy], [-12.5, -77, null, null, 'admin']);
    const audit = await call('GET', '/api/v1/audit?limit=50', ADMIN_TOKEN);
    const entries = audit.body.entries.filter((e: any) => e.action === 'device.place' && e.subject === 'device:gw-map/loop-1');
    assert.equal(entries.length, 2);
    assert.deepEqual(
      entries.map((e: any) => e.actor).sort(),
      ['admin', 'pl-technician'],
    );
  });

  test('issue 7: bad placements are refused with 400 naming the field, and nothing changes', async () => {
    const before = (await call('GET', '/api/v1/gateways/gw-map/devices/cam-1', tokens.viewer!)).body.location;
    assert.equal(before, null);
    const bad: [unknown, RegExp][] = [
      [{ location: { lat: 91, lon: 0 } }, /lat/],
      [{ location: { lat: -90.5, lon: 0 } }, /lat/],
      [{ location: { lat: 0, lon: 180.1 } }, /lon/],
      [{ location: { lat: 0, lon: -181 } }, /lon/],
      [{ location: { lat: 0, lon: 0 }, bearing: 360 }, /bearing/],
      [{ location: { lat: 0, lon: 0 }, bearing: -1 }, /bearing/],
      [{ location: { lat: 31 } }, /lon/],
      [{}, /location/],
      [{ location: { lat: 1, lon: 1 }, colour: 'red' }, /colour|additional/i],
      [{ location: { lat: 1, lon: 1 }, note: 'x'.repeat(501) }, /note/],
    ];
    for (const [body, field] of bad) {
      const reply = await place(body, tokens.technician!, 'cam-1');
      assert.equal(reply.status, 400, `${JSON.stringify(body)} -> ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, 'BadRequest');
      assert.match(reply.body.error.message, field, JSON.stringify(body));
    }
    assert.equal((await call('GET', '/api/v1/gateways/gw-map/devices/cam-1', tokens.viewer!)).body.location, null);
  });

  test('issue 7: an unknown device or gateway is 404; controller and viewer are refused (403)', async () => {
    const unknownDevice = await place({ location: { lat: 1, lon: 1 } }, tokens.technician!, 'loop-9');
    assert.equal(unknownDevice.status, 404);
    assert.match(unknownDevice.body.error.message, /device 'loop-9' not found on gateway 'gw-map'/);
    const unknownGateway = await call('PUT', '/api/v1/gateways/gw-none/devices/loop-1/placement', tokens.technician!, { location: { lat: 1, lon: 1 } });
    assert.equal(unknownGateway.status, 404);
    assert.match(unknownGateway.body.error.message, /gw-none/);
    for (const role of ['controller', 'viewer']) {
      const denied = await place({ location: { lat: 5, lon: 5 } }, tokens[role]!, 'cam-1');
      assert.equal(denied.status, 403, role);
    }
    assert.equal((await call('GET', '/api/v1/gateways/gw-map/devices/cam-1', tokens.viewer!)).body.location, null);
  });

  test('issue 6: DELETE rotate-credentials drops the pending password (admin, audited); 404 when none is pending', async () => {
    const none = await call('DELETE', '/api/v1/gateways/gw-map/rotate-credentials', ADMIN_TOKEN);
    assert.equal(none.status, 404);
    assert.match(none.body.error.message, /gw-map.*no pending credential rotation/);
    const unknown = await call('DELETE', '/api/v1/gateways/gw-none/rotate-credentials', ADMIN_TOKEN);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /gw-none/);
    // What a rotation the gateway never confirmed (504) leaves behind.
    const since = Date.now() - 60_000;
    await cloud.store.fleet.beginRotation('gw-map', await hashSecret('never-confirmed-password-123'), since);
    assert.equal((await call('GET', '/api/v1/gateways/gw-map/fleet', tokens.viewer!)).body.rotationPendingSince, since);
    assert.equal((await call('DELETE', '/api/v1/gateways/gw-map/rotate-credentials', tokens.technician!)).status, 403, 'admin only');
    const cancelled = await call('DELETE', '/api/v1/gateways/gw-map/rotate-credentials', ADMIN_TOKEN);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.pendingSince, since);
    assert.equal((await call('GET', '/api/v1/gateways/gw-map/fleet', tokens.viewer!)).body.rotationPendingSince, null);
    assert.equal((await cloud.store.fleet.gatewayCredentials('gw-map'))!.pendingPasswordHash, null);
    const audit = await call('GET', '/api/v1/audit?limit=50', ADMIN_TOKEN);
    assert.ok(audit.body.entries.some((e: any) => e.action === 'gateway.rotate-credentials.cancel' && e.subject === 'gateway:gw-map' && e.actor === 'admin'));
    assert.equal((await call('DELETE', '/api/v1/gateways/gw-map/rotate-credentials', ADMIN_TOKEN)).status, 404, 'nothing left to cancel');
  });
});
