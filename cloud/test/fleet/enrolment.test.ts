/**
 * Enrolment, revocation and the fleet API against a running cloud: real HTTP (fetch), the embedded
 * broker and MQTT clients acting as gateways.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CONTRACT_VERSION, topicFor } from '@quanlink/contracts';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { captureLogger, closedByBroker, connectGateway, refusedCode, waitFor } from '../helpers.js';

const ADMIN_TOKEN = 'test-admin-token-fleet-0123456789';
const BAD_USERNAME_OR_PASSWORD = 4;

interface Json {
  status: number;
  headers: Headers;
  body: any;
}

export function apiClient(base: () => string, adminToken: string) {
  return async (method: string, path: string, body?: unknown, token: string | null = adminToken): Promise<Json> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${base()}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
}

function assertError(response: Json, status: number, code: string, message: RegExp): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body.error.code, code);
  assert.match(response.body.error.message, message);
}

describe('issue 6: enrolment and fleet API', () => {
  let cloud: RunningCloud;
  const call = apiClient(() => cloud.httpUrl, ADMIN_TOKEN);
  const issue = async (body: Record<string, unknown>) => {
    const response = await call('POST', '/api/v1/enrolment-tokens', body);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body as { token: string; id: string; expiresAt: number };
  };
  const enrol = (body: Record<string, unknown>) => call('POST', '/api/v1/enrol', body, null);
  const gatewayCount = async () => (await cloud.store.listGateways()).length;

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('warn').logger });
    assert.equal((await call('PUT', '/api/v1/grid-cells/cell-7', { name: '七号网格', bbox: [121.4, 31.2, 121.5, 31.3] })).status, 201);
    const site = await call('PUT', '/api/v1/sites/ring-3rd', { name: 'Ring road / 3rd street', location: { lat: 31.23, lon: 121.47 }, gridCell: 'cell-7', address: 'box 12' });
    assert.equal(site.status, 201, JSON.stringify(site.body));
    assert.equal((await call('PUT', '/api/v1/sites/harbour', { name: 'Harbour gate' })).status, 201);
  });
  after(() => cloud?.close());

  test('issue 6: sites and grid cells: bad input is refused with the field named; reads list them', async () => {
    assertError(await call('PUT', '/api/v1/sites/x1', { name: 'x', location: { lat: 95, lon: 0 } }), 400, 'BadRequest', /location\.lat/);
    assertError(await call('PUT', '/api/v1/sites/x1', { name: 'x', gridCell: 'nope' }), 404, 'NotFound', /grid cell 'nope' not found/);
    assertError(await call('PUT', '/api/v1/sites/x1', { name: 'x', colour: 'red' }), 400, 'BadRequest', /'colour' is not allowed/);
    assertError(await call('PUT', '/api/v1/grid-cells/c2', { name: 'x', bbox: [2, 0, 1, 1] }), 400, 'BadRequest', /min <= max/);
    assertError(await call('DELETE', '/api/v1/grid-cells/cell-7'), 409, 'Conflict', /still used/);
    const sites = await call('GET', '/api/v1/sites?gridCell=cell-7');
    assert.deepEqual(sites.body.sites.map((s: { id: string }) => s.id), ['ring-3rd']);
    const audit = await cloud.store.dispatch.listAudit({ action: 'site.create' });
    assert.ok(audit.some((entry) => entry.subject === 'site:ring-3rd' && entry.actor === 'admin'));
  });

  test('issue 6: a token is shown once; enrolling with it creates the gateway on its site, which connects and whose birth is stored', async () => {
    assertError(await call('POST', '/api/v1/enrolment-tokens', {}), 400, 'BadRequest', /bound to a site or a grid cell/);
    assertError(await call('POST', '/api/v1/enrolment-tokens', { site: 'nope' }), 404, 'NotFound', /site 'nope' not found/);
    assertError(await call('POST', '/api/v1/enrolment-tokens', { site: 'ring-3rd', expiresInHours: 24 * 365 }), 400, 'BadRequest', /expiresInHours/);
    const issued = await issue({ site: 'ring-3rd', gatewayIdPrefix: 'ring-', note: 'box 12' });
    assert.match(issued.token, /^qle_[A-Za-z0-9_-]{40,}$/);
    const listed = await call('GET', '/api/v1/enrolment-tokens?state=unused');
    assert.ok(!JSON.stringify(listed.body).includes(issued.token), 'the list never shows a token secret');
    assert.equal(listed.body.tokens.find((t: { id: string }) => t.id === issued.id)?.state, 'unused');

    const enrolled = await enrol({ token: issued.token, name: 'Box 12', hardware: { model: 'x86-box', serial: 'SN1' } });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const { gatewayId, password, mqttUrl } = enrolled.body;
    assert.match(gatewayId, /^ring-/);
    assert.equal(mqttUrl, cloud.mqttUrl);
    assert.equal(enrolled.body.site, 'ring-3rd');
    assert.equal(enrolled.body.caCertPem, undefined, 'no TLS, no CA');

    const view = (await call('GET', `/api/v1/gateways?site=ring-3rd`)).body.gateways.find((g: { id: string }) => g.id === gatewayId);
    assert.equal(view.name, 'Box 12');
    assert.equal(view.gridCell, 'cell-7');
    assert.deepEqual(view.location, { lat: 31.23, lon: 121.47 });
    assert.equal(view.revoked, null);
    assert.deepEqual(view.hardware, { model: 'x86-box', serial: 'SN1' });

    const client = await connectGateway(mqttUrl, gatewayId, password);
    await client.publishAsync(
      topicFor(gatewayId, 'birth'),
      JSON.stringify({ v: CONTRACT_VERSION, ts: Date.now(), agentVersion: '0.6.0', startedAt: Date.now(), stream: 'stream-enrol-1', devices: [{ id: 'cam-1', profile: 'onvif-camera', kind: 'camera' }] }),
      { qos: 1 },
    );
    await waitFor(async () => (await cloud.store.listDevices({ gatewayId })).length === 1, 'the birth of the enrolled gateway to be stored');
    await client.endAsync();

    const used = await call('GET', `/api/v1/enrolment-tokens`);
    const record = used.body.tokens.find((t: { id: string }) => t.id === issued.id);
    assert.equal(record.state, 'used');
    assert.equal(record.usedBy, gatewayId);
    assert.ok((await cloud.store.dispatch.listAudit({ action: 'gateway.enrol' })).some((entry) => entry.subject === `gateway:${gatewayId}`));
    const auditText = JSON.stringify(await cloud.store.dispatch.listAudit({}));
    assert.ok(!auditText.includes(issued.token) && !auditText.includes(password), 'no secret in the audit log');
  });

  test('issue 6: a used, an expired, a revoked and an unknown token are refused with clear errors and create nothing', async () => {
    const issued = await issue({ site: 'harbour' });
    assert.equal((await enrol({ token: issued.token, gatewayId: 'harbour-1' })).status, 201);
    const before = await gatewayCount();
    assertError(await enrol({ token: issued.token, gatewayId: 'harbour-2' }), 410, 'TokenUsed', /already used \(by gateway 'harbour-1'/);

    const expiredToken = 'qle_expired-token-for-the-test-000000000000000';
    await cloud.store.fleet.createEnrolmentToken({
      id: 'et-0e0e0e',
      tokenHash: createHash('sha256').update(expiredToken).digest('hex'),
      siteId: 'harbour',
      createdAt: Date.now() - 2 * 3_600_000,
      createdBy: 'admin',
      expiresAt: Date.now() - 3_600_000,
    });
    assertError(await enrol({ token: expiredToken, gatewayId: 'harbour-3' }), 410, 'TokenExpired', /expired at \d{4}-/);

    const revoked = await issue({ site: 'harbour' });
    const revocation = await call('POST', `/api/v1/enrolment-tokens/${revoked.id}/revoke`);
    assert.equal(revocation.body.state, 'revoked');
    assertError(await enrol({ token: revoked.token, gatewayId: 'harbour-4' }), 410, 'TokenRevoked', /was revoked/);
    assertError(await enrol({ token: 'qle_never-issued-000000000000' }), 401, 'Unauthorized', /not recognised/);
    assertError(await enrol({ token: issued.token, extra: 1 }), 400, 'BadRequest', /'extra' is not allowed/);
    assert.equal(await gatewayCount(), before, 'no refused use created a gateway');
    // A used token cannot be revoked (the gateway is what to revoke).
    assertError(await call('POST', `/api/v1/enrolment-tokens/${issued.id}/revoke`), 409, 'Conflict', /already used/);
  });

  test('issue 6: two concurrent uses of one token enrol exactly one gateway', async () => {
    const issued = await issue({ gridCell: 'cell-7' });
    const before = await gatewayCount();
    const answers = await Promise.all(['race-a', 'race-b', 'race-c'].map((gatewayId) => enrol({ token: issued.token, gatewayId })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 410, 410]);
    assert.equal(await gatewayCount(), before + 1);
    const winner = answers.find((a) => a.status === 201)!.body.gatewayId;
    assert.equal((await cloud.store.fleet.gatewayFleet(winner))?.gridCellId, 'cell-7');
  });

  test('issue 6: a revoked gateway is disconnected now, cannot reconnect, and comes back only with a token naming it', async () => {
    const issued = await issue({ site: 'harbour', gatewayId: 'gw-revoke' });
    const first = (await enrol({ token: issued.token })).body;
    assert.equal(first.gatewayId, 'gw-revoke');
    const will = { topic: topicFor('gw-revoke', 'status'), payload: Buffer.from(JSON.stringify({ v: CONTRACT_VERSION, state: 'offline', ts: Date.now() })), qos: 1 as const, retain: true };
    const client = await connectGateway(first.mqttUrl, 'gw-revoke', first.password, { will });
    await client.publishAsync(topicFor('gw-revoke', 'status'), JSON.stringify({ v: CONTRACT_VERSION, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await waitFor(async () => (await cloud.store.getGateway('gw-revoke'))?.online === true, 'gw-revoke online');
    assert.deepEqual((await call('GET', '/api/v1/gateways?status=online')).body.gateways.map((g: { id: string }) => g.id), ['gw-revoke']);

    const closed = closedByBroker(client, 'revocation must close the live connection', 5000);
    assertError(await call('POST', '/api/v1/gateways/gw-revoke/revoke', {}), 400, 'BadRequest', /'reason' is required/);
    const revoked = await call('POST', '/api/v1/gateways/gw-revoke/revoke', { reason: 'box stolen' });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.disconnected, true);
    assert.equal(revoked.body.revoked.reason, 'box stolen');
    await closed;
    client.end(true);
    assert.equal(await refusedCode(first.mqttUrl, { clientId: 'gw-revoke', username: 'gw-revoke', password: first.password }), BAD_USERNAME_OR_PASSWORD);
    await waitFor(async () => (await cloud.store.getGateway('gw-revoke'))?.online === false, 'gw-revoke offline by its will');
    const revokedList = (await call('GET', '/api/v1/gateways?status=revoked')).body.gateways.map((g: { id: string }) => g.id);
    assert.deepEqual(revokedList, ['gw-revoke']);
    assert.ok(!(await call('GET', '/api/v1/gateways?status=offline')).body.gateways.some((g: { id: string }) => g.id === 'gw-revoke'));
    assertError(await call('POST', '/api/v1/gateways/gw-revoke/rotate-credentials'), 409, 'Conflict', /revoked/);
    assertError(await call('POST', '/api/v1/gateways/nope/revoke', { reason: 'x' }), 404, 'NotFound', /gateway 'nope'/);

    // A token without the id cannot take it over; one naming it re-enrols with a new password.
    const generic = await issue({ site: 'harbour' });
    assertError(await enrol({ token: generic.token, gatewayId: 'gw-revoke' }), 409, 'Conflict', /needs a token issued for that gateway id/);
    const again = await issue({ site: 'ring-3rd', gatewayId: 'gw-revoke' });
    const second = await enrol({ token: again.token });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(second.body.reEnrolled, true);
    assert.notEqual(second.body.password, first.password);
    assert.equal(await refusedCode(first.mqttUrl, { clientId: 'gw-revoke', username: 'gw-revoke', password: first.password }), BAD_USERNAME_OR_PASSWORD);
    const back = await connectGateway(second.body.mqttUrl, 'gw-revoke', second.body.password);
    await back.endAsync();
    const fleet = (await call('GET', '/api/v1/gateways/gw-revoke/fleet')).body;
    assert.equal(fleet.revoked, null);
    assert.equal(fleet.site, 'ring-3rd');
  });

  test('issue 6: the gateway list filters by site, grid cell, status, device kind and text, and refuses bad filters', async () => {
    const ids = async (query: string) => (await call('GET', `/api/v1/gateways?${query}`)).body.gateways.map((g: { id: string }) => g.id);
    const camera = await ids('deviceKind=camera');
    assert.equal(camera.length, 1);
    assert.match(camera[0], /^ring-/);
    assert.deepEqual(await ids('q=HARBOUR-1'), ['harbour-1']);
    assert.ok((await ids('gridCell=cell-7')).includes(camera[0]));
    assert.deepEqual(await ids('deviceKind=vms'), []);
    assertError(await call('GET', '/api/v1/gateways?status=lost'), 400, 'BadRequest', /status/);
    assertError(await call('GET', '/api/v1/gateways?colour=red'), 400, 'BadRequest', /'colour' is not allowed/);
  });

  test('issue 6: rotation: the new password goes over the link; both work until the gateway uses the new one; a refusal changes nothing', async () => {
    const issued = await issue({ site: 'harbour', gatewayId: 'gw-rot' });
    const enrolled = (await enrol({ token: issued.token })).body;
    let answer: 'ok' | 'error' = 'error';
    const delivered: string[] = [];
    const gateway = await connectGateway(enrolled.mqttUrl, 'gw-rot', enrolled.password);
    await gateway.subscribeAsync(topicFor('gw-rot', 'cmd'), { qos: 1 });
    gateway.on('message', (_topic, payload) => {
      const command = JSON.parse(payload.toString('utf8'));
      delivered.push(command.args.password);
      const result = answer === 'ok' ? { status: 'ok', data: { stored: true } } : { status: 'error', error: { code: 'ConfigWriteFailed', message: 'disk full' } };
      void gateway.publishAsync(topicFor('gw-rot', 'cmd/result'), JSON.stringify({ v: CONTRACT_VERSION, tx: command.tx, ts: Date.now(), ...result }), { qos: 1 });
    });
    await gateway.publishAsync(topicFor('gw-rot', 'status'), JSON.stringify({ v: CONTRACT_VERSION, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await waitFor(async () => (await cloud.store.getGateway('gw-rot'))?.online === true, 'gw-rot online');

    assertError(await call('POST', '/api/v1/gateways/gw-rot/rotate-credentials'), 502, 'GatewayRefused', /refused the new credentials: disk full; nothing changed/);
    assert.equal((await cloud.store.fleet.gatewayCredentials('gw-rot'))?.pendingPasswordHash, null);
    assert.equal(await refusedCode(enrolled.mqttUrl, { clientId: 'gw-rot', username: 'gw-rot', password: delivered[0]! }), BAD_USERNAME_OR_PASSWORD, 'a refused password is not valid');

    answer = 'ok';
    const rotated = await call('POST', '/api/v1/gateways/gw-rot/rotate-credentials');
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const newPassword = delivered[1]!;
    assert.notEqual(newPassword, enrolled.password);
    assert.ok(!JSON.stringify(rotated.body).includes(newPassword), 'the API never shows the new password');
    assert.notEqual((await call('GET', '/api/v1/gateways/gw-rot/fleet')).body.rotationPendingSince, null);
    await gateway.endAsync();
    // Until the gateway has used the new password, the old one still works (a gateway that lost the answer is not locked out).
    const stillOld = await connectGateway(enrolled.mqttUrl, 'gw-rot', enrolled.password);
    await stillOld.endAsync();
    const withNew = await connectGateway(enrolled.mqttUrl, 'gw-rot', newPassword);
    await withNew.endAsync();
    assert.equal(await refusedCode(enrolled.mqttUrl, { clientId: 'gw-rot', username: 'gw-rot', password: enrolled.password }), BAD_USERNAME_OR_PASSWORD, 'old password dropped');
    const fleet = (await call('GET', '/api/v1/gateways/gw-rot/fleet')).body;
    assert.equal(fleet.rotationPendingSince, null);
    assert.ok(fleet.rotatedAt > 0);
  });

  test('issue 6: rotating the credentials of an offline gateway is refused and changes nothing', async () => {
    const issued = await issue({ site: 'harbour', gatewayId: 'gw-offline' });
    const enrolled = (await enrol({ token: issued.token })).body;
    assertError(await call('POST', '/api/v1/gateways/gw-offline/rotate-credentials'), 409, 'Conflict', /gw-offline is offline; nothing changed/);
    assert.equal((await cloud.store.fleet.gatewayCredentials('gw-offline'))?.pendingPasswordHash, null);
    const client = await connectGateway(enrolled.mqttUrl, 'gw-offline', enrolled.password);
    await client.endAsync();
  });
});

describe('issue 6: enrolment rate limit', () => {
  let cloud: RunningCloud;
  const call = apiClient(() => cloud.httpUrl, ADMIN_TOKEN);
  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('error').logger });
  });
  after(() => cloud?.close());

  test('issue 6: after 10 failed enrolments from one address the next gets 429 with Retry-After, even with a good token', async () => {
    await call('PUT', '/api/v1/sites/s1', { name: 'Site 1' });
    const good = (await call('POST', '/api/v1/enrolment-tokens', { site: 's1' })).body.token as string;
    for (let i = 0; i < 10; i++) {
      const refused = await call('POST', '/api/v1/enrol', { token: `qle_guess-${i}-000000000000` }, null);
      assert.equal(refused.status, 401);
    }
    const limited = await call('POST', '/api/v1/enrol', { token: good }, null);
    assertError(limited, 429, 'TooManyRequests', /too many failed enrolments/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${retryAfter}`);
    assert.deepEqual(await cloud.store.listGateways(), [], 'the limited attempt did not use the token');
  });
});
