/** The HTTP API over real HTTP (fetch), against a running cloud with data ingested through the store and through MQTT. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { topicFor } from '@quanlink/contracts';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import { AckInbox, batchOf, captureLogger, connectGateway, countsEvent, newStreamId, publishBatch, readingEvent } from '../helpers.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const T0 = Date.parse('2026-03-01T08:00:00Z');

interface Json {
  status: number;
  headers: Headers;
  body: any;
}

describe('HTTP API', () => {
  let cloud: RunningCloud;
  const call = async (method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Json> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
  const get = (path: string) => call('GET', path, { token: ADMIN_TOKEN });
  const assertError = (response: Json, status: number, code: string, message: RegExp) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.deepEqual(Object.keys(response.body), ['error']);
    assert.equal(response.body.error.code, code);
    assert.match(response.body.error.message, message);
  };

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('warn').logger });
    await registerGateway(cloud.store, 'gw-a', 'Ring road north');
    await cloud.store.applyBirth(
      'gw-a',
      {
        v: 1,
        ts: T0,
        agentVersion: '0.2.0',
        startedAt: T0,
        stream: 'stream-http-0001',
        devices: [
          { id: 'loop-1', profile: 'loop/acme-4', kind: 'loop-detector' },
          { id: 'vms-1', profile: 'vms/acme', kind: 'vms' },
        ],
      },
      T0,
    );
    const events = [
      readingEvent(1, 'loop-1', { 'lane1.occupancy': 0.1 }, T0 + 60_000),
      readingEvent(2, 'loop-1', { 'lane1.occupancy': 0.2 }, T0 + 120_000),
      countsEvent(3, 'loop-1', { '1': 5, '2': 3 }),
      countsEvent(4, 'loop-1', { '1': 1 }),
      readingEvent(5, 'loop-1', { 'lane1.occupancy': 0.3 }, T0 + 180_000),
    ];
    await cloud.store.ingestBatch('gw-a', { stream: 'stream-http-0001', first: 1, last: 6 }, events, [
      { seq: 6, ts: T0, type: 'counts', device: 'loop-1', data: { lanes: { '1': -1 } }, reason: 'events[5]: data.lanes[1]: too small' },
    ]);
  });
  after(() => cloud.close());

  test('GET /api/v1/health reports status, uptime, the MQTT link and ingest counters', async () => {
    const { status, body } = await get('/api/v1/health');
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.uptimeS, 'number');
    assert.equal(body.mqtt.mode, 'embedded');
    assert.equal(body.mqtt.url, cloud.mqttUrl);
    assert.equal(body.mqtt.ingestConnected, true);
    assert.ok(body.mqtt.clients >= 1, 'the ingest client itself');
    assert.equal(body.ingest.batches, 0);
    assert.equal(body.ingest.malformed, 0);
  });

  test('GET /openapi.json is an OpenAPI 3 document with every route; /docs serves Swagger UI', async () => {
    const { status, body } = await get('/openapi.json');
    assert.equal(status, 200);
    assert.match(body.openapi, /^3\./);
    for (const path of [
      '/api/v1/health',
      '/api/v1/gateways',
      '/api/v1/gateways/{gatewayId}',
      '/api/v1/devices',
      '/api/v1/gateways/{gatewayId}/devices/{deviceId}',
      '/api/v1/gateways/{gatewayId}/devices/{deviceId}/readings',
      '/api/v1/gateways/{gatewayId}/devices/{deviceId}/lane-totals',
      '/api/v1/events',
    ]) {
      assert.ok(body.paths[path], `${path} documented`);
      assert.ok(body.paths[path].get?.responses?.['200']?.content, `${path} has a response schema`);
    }
    assert.ok(body.paths['/api/v1/gateways'].post.requestBody, 'POST body documented');
    assert.deepEqual(body.paths['/api/v1/gateways'].post.security, [{ bearer: [] }]);
    const docs = await fetch(`${cloud.httpUrl}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await docs.text(), /swagger/i);
  });

  describe('POST /api/v1/gateways', () => {
    test('without a bearer token: 401 with WWW-Authenticate', async () => {
      const response = await call('POST', '/api/v1/gateways', { body: { id: 'gw-new' } });
      assertError(response, 401, 'Unauthorized', /Authorization: Bearer/);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      assertError(await call('POST', '/api/v1/gateways', { body: { id: 'gw-new' }, headers: { authorization: `Basic ${ADMIN_TOKEN}` } }), 401, 'Unauthorized', /Bearer/);
      assert.equal(await cloud.store.getGateway('gw-new'), undefined);
    });

    test('with a wrong token: 401', async () => {
      assertError(await call('POST', '/api/v1/gateways', { body: { id: 'gw-new' }, token: `${ADMIN_TOKEN}x` }), 401, 'Unauthorized', /token is not valid/);
      assert.equal(await cloud.store.getGateway('gw-new'), undefined);
    });

    test('creates a gateway and returns its generated password once; the password works on MQTT and data flows to the API', async () => {
      const created = await call('POST', '/api/v1/gateways', { body: { id: 'gw-new', name: 'Bridge' }, token: ADMIN_TOKEN });
      assert.equal(created.status, 201);
      assert.deepEqual(Object.keys(created.body).sort(), ['id', 'password']);
      assert.equal(created.body.id, 'gw-new');
      assert.match(created.body.password, /^[A-Za-z0-9_-]{32}$/);

      const detail = await get('/api/v1/gateways/gw-new');
      assert.equal(detail.status, 200);
      assert.equal(detail.body.name, 'Bridge');
      assert.ok(!JSON.stringify(detail.body).includes(created.body.password));
      assert.ok(!JSON.stringify(detail.body).includes('scrypt'), 'no hash either');

      const client = await connectGateway(cloud.mqttUrl, 'gw-new', created.body.password);
      try {
        const inbox = await AckInbox.open(client, 'gw-new');
        const stream = newStreamId();
        await client.publishAsync(
          topicFor('gw-new', 'birth'),
          JSON.stringify({ v: 1, ts: T0, agentVersion: '0.2.0', startedAt: T0, stream, devices: [{ id: 'loop-7', profile: 'loop/acme-4', kind: 'loop-detector' }] }),
          { qos: 1 },
        );
        await publishBatch(client, 'gw-new', batchOf(stream, [countsEvent(1, 'loop-7', { '4': 9 })]));
        await inbox.nth(1);
      } finally {
        await client.endAsync();
      }
      assert.deepEqual((await get('/api/v1/gateways/gw-new/devices/loop-7/lane-totals')).body, { lanes: { '4': 9 }, total: 9 });
      const withStreams = await get('/api/v1/gateways/gw-new');
      assert.equal(withStreams.body.streams.length, 1);
      assert.equal(withStreams.body.streams[0].syncedSeq, 1);
    });

    test('accepts a chosen password; refuses a duplicate id (409), a bad id, a short password and unknown fields (400)', async () => {
      const chosen = await call('POST', '/api/v1/gateways', { body: { id: 'gw-chosen', password: 'long-enough-password' }, token: ADMIN_TOKEN });
      assert.equal(chosen.status, 201);
      assert.equal(chosen.body.password, 'long-enough-password');
      (await connectGateway(cloud.mqttUrl, 'gw-chosen', 'long-enough-password')).end(true);

      assertError(await call('POST', '/api/v1/gateways', { body: { id: 'gw-chosen' }, token: ADMIN_TOKEN }), 409, 'Conflict', /gateway 'gw-chosen' already exists/);
      assertError(await call('POST', '/api/v1/gateways', { body: { id: 'GW/Upper' }, token: ADMIN_TOKEN }), 400, 'BadRequest', /body field 'id' must match pattern/);
      assertError(await call('POST', '/api/v1/gateways', { body: {}, token: ADMIN_TOKEN }), 400, 'BadRequest', /body field 'id' is required/);
      assertError(
        await call('POST', '/api/v1/gateways', { body: { id: 'gw-short', password: 'short' }, token: ADMIN_TOKEN }),
        400,
        'BadRequest',
        /body field 'password' must NOT have fewer than 12 characters/,
      );
      assertError(
        await call('POST', '/api/v1/gateways', { body: { id: 'gw-extra', role: 'admin' }, token: ADMIN_TOKEN }),
        400,
        'BadRequest',
        /body field 'role' is not allowed/,
      );
      assert.equal(await cloud.store.getGateway('gw-short'), undefined);
    });
  });

  describe('registry routes', () => {
    test('GET /api/v1/gateways lists gateways without secrets', async () => {
      const { status, body } = await get('/api/v1/gateways');
      assert.equal(status, 200);
      const a = body.gateways.find((g: { id: string }) => g.id === 'gw-a');
      assert.equal(a.name, 'Ring road north');
      assert.equal(a.agentVersion, '0.2.0');
      assert.equal(a.online, false);
      assert.ok(!('passwordHash' in a) && !JSON.stringify(body).includes('scrypt'));
    });

    test('GET /api/v1/gateways/:gatewayId: 404 names the gateway; a malformed id is a 400 naming the parameter', async () => {
      assertError(await get('/api/v1/gateways/gw-missing'), 404, 'NotFound', /gateway 'gw-missing' not found/);
      assertError(await get('/api/v1/gateways/Bad%20Id'), 400, 'BadRequest', /path parameter 'gatewayId' must match pattern/);
    });

    test('GET /api/v1/devices filters by gateway and kind', async () => {
      const all = await get('/api/v1/devices?gatewayId=gw-a');
      assert.deepEqual(
        all.body.devices.map((d: { deviceId: string }) => d.deviceId),
        ['loop-1', 'vms-1'],
      );
      const vms = await get('/api/v1/devices?kind=vms');
      assert.deepEqual(
        vms.body.devices.map((d: { gatewayId: string; deviceId: string }) => `${d.gatewayId}/${d.deviceId}`),
        ['gw-a/vms-1'],
      );
      assert.deepEqual((await get('/api/v1/devices?gatewayId=gw-nothing')).body, { devices: [] });
      assertError(await get('/api/v1/devices?gatewayId=NOT%20VALID'), 400, 'BadRequest', /query parameter 'gatewayId'/);
    });

    test('GET a device; 404 names the missing device or gateway', async () => {
      const { status, body } = await get('/api/v1/gateways/gw-a/devices/loop-1');
      assert.equal(status, 200);
      assert.equal(body.profile, 'loop/acme-4');
      assert.equal(body.state, 'unknown');
      assertError(await get('/api/v1/gateways/gw-a/devices/loop-404'), 404, 'NotFound', /device 'loop-404' not found on gateway 'gw-a'/);
      assertError(await get('/api/v1/gateways/gw-missing/devices/loop-1'), 404, 'NotFound', /gateway 'gw-missing' not found/);
    });
  });

  describe('data routes', () => {
    const readings = '/api/v1/gateways/gw-a/devices/loop-1/readings';

    test('readings newest first, filtered by epoch ms or ISO from/to, with a limit', async () => {
      const all = await get(readings);
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.readings.map((r: { seq: number }) => r.seq),
        [5, 2, 1],
      );
      assert.deepEqual(all.body.readings[0].values, { 'lane1.occupancy': 0.3 });
      const epoch = await get(`${readings}?from=${T0 + 100_000}&to=${T0 + 150_000}`);
      assert.deepEqual(
        epoch.body.readings.map((r: { seq: number }) => r.seq),
        [2],
      );
      const iso = await get(`${readings}?from=2026-03-01T08:02:00Z&to=2026-03-01T08:03:00.000Z`);
      assert.deepEqual(
        iso.body.readings.map((r: { seq: number }) => r.seq),
        [5, 2],
      );
      const limited = await get(`${readings}?limit=1`);
      assert.deepEqual(
        limited.body.readings.map((r: { seq: number }) => r.seq),
        [5],
      );
    });

    test('bad time or limit parameters are a 400 naming the parameter', async () => {
      assertError(await get(`${readings}?from=yesterday`), 400, 'BadRequest', /query parameter 'from' must be epoch milliseconds or an ISO 8601 date-time, got 'yesterday'/);
      assertError(await get(`${readings}?to=2026-13-45T99:00Z`), 400, 'BadRequest', /query parameter 'to'/);
      assertError(await get(`${readings}?from=${T0 + 10}&to=${T0}`), 400, 'BadRequest', /'from' .* is after 'to'/);
      assertError(await get(`${readings}?limit=0`), 400, 'BadRequest', /query parameter 'limit' must be >= 1/);
      assertError(await get(`${readings}?limit=lots`), 400, 'BadRequest', /query parameter 'limit' must be integer/);
      assertError(await get(`${readings}?limit=10001`), 400, 'BadRequest', /query parameter 'limit' must be <= 10000/);
      assertError(await get('/api/v1/events?from=-5'), 400, 'BadRequest', /query parameter 'from'/);
    });

    test('readings and lane totals of an unknown device or gateway are a 404', async () => {
      assertError(await get('/api/v1/gateways/gw-a/devices/ghost/readings'), 404, 'NotFound', /device 'ghost' not found on gateway 'gw-a'/);
      assertError(await get('/api/v1/gateways/gw-ghost/devices/loop-1/lane-totals'), 404, 'NotFound', /gateway 'gw-ghost' not found/);
    });

    test('lane totals: {lanes: {"1": n, ...}, total}', async () => {
      const { status, body } = await get('/api/v1/gateways/gw-a/devices/loop-1/lane-totals');
      assert.equal(status, 200);
      assert.deepEqual(body, { lanes: { '1': 6, '2': 3 }, total: 9 });
      assert.deepEqual((await get('/api/v1/gateways/gw-a/devices/vms-1/lane-totals')).body, { lanes: {}, total: 0 });
    });

    test('events filter by gateway, device, type and time', async () => {
      const counts = await get('/api/v1/events?gatewayId=gw-a&deviceId=loop-1&type=counts');
      assert.equal(counts.status, 200);
      assert.deepEqual(
        counts.body.events.map((e: { seq: number }) => e.seq),
        [4, 3],
      );
      assert.deepEqual(counts.body.events[1].data, { lanes: { '1': 5, '2': 3 } });
      const windowed = await get(`/api/v1/events?gatewayId=gw-a&from=${T0 + 100_000}&limit=1`);
      assert.deepEqual(
        windowed.body.events.map((e: { seq: number }) => e.seq),
        [5],
      );
      assert.deepEqual((await get('/api/v1/events?gatewayId=gw-nothing')).body, { events: [] });
    });

    test('rejected events are listed with their reason', async () => {
      const { status, body } = await get('/api/v1/rejected-events?gatewayId=gw-a');
      assert.equal(status, 200);
      assert.equal(body.events.length, 1);
      assert.equal(body.events[0].seq, 6);
      assert.match(body.events[0].reason, /data\.lanes\[1\]/);
    });
  });

  test('an unknown route is a JSON 404', async () => {
    assertError(await get('/api/v1/nothing-here?x=1'), 404, 'NotFound', /no route GET \/api\/v1\/nothing-here$/);
  });
});
