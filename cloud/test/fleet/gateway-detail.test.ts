/**
 * A gateway's detail shows its fleet fields like the list does; a revoked gateway's pending
 * dispatches stay, and reach it when it comes back with a token issued for its id (unless they
 * expired meanwhile). Real cloud (embedded broker, HTTP), a fake gateway over MQTT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SignSyncArgs } from '@quanlink/contracts';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { FakeGateway } from '../dispatch/fake-gateway.js';
import { captureLogger, waitFor } from '../helpers.js';

const ADMIN_TOKEN = 'test-admin-token-gateway-detail-0123';
const SIGN_PROFILE = 'quanlink-vms-r1';

function apiClient(base: () => string, adminToken: string) {
  return async (method: string, path: string, body?: unknown, token: string | null = adminToken): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${base()}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };
}

describe('issue 6: gateway detail and a revoked gateway\'s dispatches', () => {
  let cloud: RunningCloud;
  let offset = 0;
  const call = apiClient(() => cloud.httpUrl, ADMIN_TOKEN);
  const enrolWithToken = async (tokenBody: Record<string, unknown>) => {
    const issued = await call('POST', '/api/v1/enrolment-tokens', tokenBody);
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const enrolled = await call('POST', '/api/v1/enrol', { token: issued.body.token }, null);
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    return enrolled.body as { gatewayId: string; password: string; mqttUrl: string };
  };
  const dispatchesOf = async (messageId: string) => (await call('GET', `/api/v1/messages/${messageId}`)).body.dispatches as { id: string; state: string }[];

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('warn').logger, clock: () => Date.now() + offset, sweepIntervalMs: 100 });
    assert.equal((await call('PUT', '/api/v1/grid-cells/cell-3', { name: '三号网格' })).status, 201);
    assert.equal((await call('PUT', '/api/v1/sites/bridge', { name: 'Bridge box', location: { lat: 31.1, lon: 121.2 }, gridCell: 'cell-3' })).status, 201);
  });
  after(() => cloud?.close());

  test('issue 6: GET /api/v1/gateways/:id carries site, grid cell, location, revocation and enrolledAt like the list', async () => {
    const { gatewayId } = await enrolWithToken({ site: 'bridge', gatewayId: 'gw-detail' });
    const detail = await call('GET', `/api/v1/gateways/${gatewayId}`);
    assert.equal(detail.status, 200, JSON.stringify(detail.body));
    assert.equal(detail.body.site, 'bridge');
    assert.equal(detail.body.siteName, 'Bridge box');
    assert.equal(detail.body.gridCell, 'cell-3');
    assert.deepEqual(detail.body.location, { lat: 31.1, lon: 121.2 });
    assert.equal(detail.body.revoked, null);
    assert.ok(typeof detail.body.enrolledAt === 'number' && detail.body.enrolledAt > 0);
    assert.deepEqual(detail.body.streams, []);
    const listed = (await call('GET', '/api/v1/gateways?site=bridge')).body.gateways.find((g: { id: string }) => g.id === gatewayId);
    const { streams: _streams, ...withoutStreams } = detail.body;
    assert.deepEqual(withoutStreams, listed, 'the detail shows what the list shows');

    assert.equal((await call('POST', `/api/v1/gateways/${gatewayId}/revoke`, { reason: 'cabinet replaced' })).status, 200);
    const revoked = (await call('GET', `/api/v1/gateways/${gatewayId}`)).body;
    assert.equal(revoked.revoked.reason, 'cabinet replaced');
    assert.equal(revoked.revoked.by, 'admin');

    const unknown = await call('GET', '/api/v1/gateways/gw-nobody');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /gateway 'gw-nobody' not found/);
    const bad = await call('GET', '/api/v1/gateways/not%20an%20id');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BadRequest');
  });

  test('issue 6: a revoked gateway keeps its pending dispatches; re-enrolled with a token for its id it gets them, except the expired', async () => {
    const first = await enrolWithToken({ site: 'bridge', gatewayId: 'gw-screens' });
    const gateway = await FakeGateway.start(first.mqttUrl, first.gatewayId, first.password, [{ id: 'vms-1', profile: SIGN_PROFILE }]);
    await gateway.waitCommand('sign.sync');
    const delivered = (await call('POST', '/api/v1/messages', { multi: 'BRIDGE OPEN', targets: { screens: ['gw-screens/vms-1'] } })).body;
    await waitFor(async () => (await dispatchesOf(delivered.message.id)).every((d) => d.state === 'delivered'), 'the first message delivered');

    assert.equal((await call('POST', '/api/v1/gateways/gw-screens/revoke', { reason: 'suspected tampering' })).status, 200);
    gateway.client.end(true);
    // What its last will would say (the fake gateway leaves none).
    await cloud.store.setGatewayStatus('gw-screens', { v: 1, state: 'offline', ts: Date.now() }, Date.now());

    // Dispatched while it is revoked: queued, one of them ends before it comes back.
    const queued = (await call('POST', '/api/v1/messages', { multi: 'ICE ON BRIDGE', targets: { screens: ['gw-screens/vms-1'] } })).body;
    const shortLived = (await call('POST', '/api/v1/messages', { multi: 'SHORT', endAt: Date.now() + offset + 2000, targets: { screens: ['gw-screens/vms-1'] } })).body;
    assert.deepEqual((await dispatchesOf(queued.message.id)).map((d) => d.state), ['queued']);
    offset += 3000;
    await waitFor(async () => (await dispatchesOf(shortLived.message.id)).every((d) => d.state === 'expired'), 'the short message expired');
    assert.deepEqual((await dispatchesOf(delivered.message.id)).map((d) => d.state), ['delivered'], 'revocation deleted no dispatch');
    assert.deepEqual((await dispatchesOf(queued.message.id)).map((d) => d.state), ['queued']);

    const again = await enrolWithToken({ site: 'bridge', gatewayId: 'gw-screens' });
    assert.notEqual(again.password, first.password);
    const back = await FakeGateway.start(again.mqttUrl, again.gatewayId, again.password, [{ id: 'vms-1', profile: SIGN_PROFILE }]);
    try {
      const sync = await back.waitCommand('sign.sync');
      const messageIds = (sync.args as SignSyncArgs).entries.map((entry) => entry.message.id).sort();
      assert.deepEqual(messageIds, [delivered.message.id, queued.message.id].sort(), 'both live messages, not the expired one');
      await waitFor(async () => (await dispatchesOf(queued.message.id)).every((d) => d.state === 'delivered'), 'the queued message delivered after re-enrolment');
      assert.deepEqual((await dispatchesOf(shortLived.message.id)).map((d) => d.state), ['expired']);
    } finally {
      await back.close();
    }
  });
});
