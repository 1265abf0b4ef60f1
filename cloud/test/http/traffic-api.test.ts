/** The traffic routes over real HTTP: road segments and their GB/T 33171 state, lane periods, detector health. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { topicFor, type GatewayEvent, type LanePeriod } from '@quanlink/contracts';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import { AckInbox, batchOf, captureLogger, connectGateway, newStreamId, publishBatch, waitFor, type LogCapture } from '../helpers.js';

const ADMIN_TOKEN = 'test-admin-token-traffic-0123';
const P0 = Date.parse('2026-03-01T08:00:00Z');
const MINUTE = 60_000;

interface Json {
  status: number;
  headers: Headers;
  body: any;
}

function periodEvent(seq: number, device: string, periodStart: number, lanes: Record<string, { volume: number; speed?: number; occupancy?: number }>): GatewayEvent {
  const data: Record<string, LanePeriod> = {};
  for (const [lane, { volume, speed, occupancy }] of Object.entries(lanes)) {
    data[lane] = {
      volume,
      flow: volume * 60,
      ...(occupancy !== undefined && { occupancy }),
      ...(speed !== undefined && { speed }),
      speedSource: speed === undefined ? 'none' : 'estimated',
    };
  }
  return { seq, ts: periodStart + MINUTE, type: 'traffic.period', device, data: { periodStart, periodS: 60, completeness: 100, lanes: data } };
}

describe('HTTP API: traffic', () => {
  let cloud: RunningCloud;
  let logs: LogCapture;
  const call = async (method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Json> => {
    const headers: Record<string, string> = {};
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
  /** token null: no Authorization header. */
  const put = (segmentId: string, body: unknown, token: string | null = ADMIN_TOKEN) =>
    call('PUT', `/api/v1/segments/${segmentId}`, { body, ...(token !== null && { token }) });
  const assertError = (response: Json, status: number, code: string, message: RegExp) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.deepEqual(Object.keys(response.body), ['error']);
    assert.equal(response.body.error.code, code);
    assert.match(response.body.error.message, message);
  };
  const ring = {
    name: 'Ring road north, eastbound',
    roadClass: 'arterial',
    lanes: [
      { gatewayId: 'gw-a', deviceId: 'loop-1', lane: 1 },
      { gatewayId: 'gw-a', deviceId: 'loop-1', lane: 2 },
    ],
  };

  before(async () => {
    logs = captureLogger('info');
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: logs.logger });
    await registerGateway(cloud.store, 'gw-a', 'Ring road north');
    await registerGateway(cloud.store, 'gw-b');
    await cloud.store.applyBirth(
      'gw-a',
      {
        v: 1,
        ts: P0,
        agentVersion: '0.3.0',
        startedAt: P0,
        stream: 'stream-traffic-http',
        devices: [
          { id: 'loop-1', profile: 'loop-detectors/quanlink-lc8', kind: 'loop-detector' },
          { id: 'vms-1', profile: 'vms/acme', kind: 'vms' },
        ],
      },
      P0,
    );
  });
  after(() => cloud.close());

  test('GET /openapi.json documents every traffic route with its schemas; PUT needs the admin token', async () => {
    const { body } = await get('/openapi.json');
    for (const path of [
      '/api/v1/segments',
      '/api/v1/segments/{segmentId}',
      '/api/v1/segments/{segmentId}/history',
      '/api/v1/segments/{segmentId}/grade-changes',
      '/api/v1/detector-health',
      '/api/v1/gateways/{gatewayId}/devices/{deviceId}/periods',
    ]) {
      assert.ok(body.paths[path]?.get?.responses?.['200']?.content, `${path} has a documented 200 response`);
    }
    const putSegment = body.paths['/api/v1/segments/{segmentId}'].put;
    assert.deepEqual(putSegment.security, [{ bearer: [] }]);
    const bodySchema = putSegment.requestBody.content['application/json'].schema;
    assert.deepEqual(bodySchema.properties.roadClass.enum, ['expressway', 'arterial', 'secondary']);
    assert.equal(bodySchema.properties.lanes.items.properties.lane.maximum, 999);
    assert.ok(putSegment.responses['201'] && putSegment.responses['409']);
  });

  describe('PUT /api/v1/segments/:segmentId', () => {
    test('without a token or with a wrong one: 401; nothing is stored', async () => {
      assertError(await put('ring-n', ring, null), 401, 'Unauthorized', /Authorization: Bearer/);
      assertError(await put('ring-n', ring, `${ADMIN_TOKEN}x`), 401, 'Unauthorized', /token is not valid/);
      assertError(await get('/api/v1/segments/ring-n'), 404, 'NotFound', /segment 'ring-n' not found/);
    });

    test('creates a segment (201), then replaces it (200)', async () => {
      const created = await put('ring-n', { ...ring, lanes: [...ring.lanes, { gatewayId: 'gw-a', deviceId: 'loop-1', lane: 3 }] });
      assert.equal(created.status, 201);
      assert.equal(created.body.id, 'ring-n');
      assert.equal(created.body.lanes.length, 3);
      assert.equal(created.body.state, null, 'no period yet');
      const replaced = await put('ring-n', ring);
      assert.equal(replaced.status, 200);
      assert.deepEqual(replaced.body.lanes, ring.lanes);
      assert.equal(replaced.body.createdAt, created.body.createdAt);
      assert.equal(replaced.body.roadClass, 'arterial');
    });

    test('bad bodies are a 400 naming the field; a lane of another segment is a 409', async () => {
      const lane = (gatewayId: string, deviceId: string, n: unknown) => ({ gatewayId, deviceId, lane: n });
      const cases: [unknown, RegExp][] = [
        [{ ...ring, roadClass: 'highway' }, /body field 'roadClass' must be one of expressway, arterial, secondary/],
        [{ ...ring, lanes: [lane('gw-a', 'loop-1', 0)] }, /body field 'lanes\[0\]\.lane' must be >= 1/],
        [{ ...ring, lanes: [lane('gw-a', 'loop-1', 5), lane('gw-a', 'loop-1', 1000)] }, /body field 'lanes\[1\]\.lane' must be <= 999/],
        [{ ...ring, lanes: [lane('gw-a', 'loop-1', 'two')] }, /body field 'lanes\[0\]\.lane' must be integer/],
        [{ ...ring, lanes: [lane('GW A', 'loop-1', 1)] }, /body field 'lanes\[0\]\.gatewayId' must match pattern/],
        [{ ...ring, lanes: [] }, /body field 'lanes' must NOT have fewer than 1 items/],
        [{ name: 'x', roadClass: 'arterial' }, /body field 'lanes' is required/],
        [{ ...ring, name: '' }, /body field 'name' must NOT have fewer than 1 characters/],
        [{ ...ring, speedLimit: 60 }, /body field 'speedLimit' is not allowed/],
        [{ ...ring, lanes: [lane('gw-a', 'loop-7', 1), lane('gw-a', 'loop-7', 1)] }, /lanes\[1\]: lane gw-a\/loop-7\/1 is listed twice/],
        [{ ...ring, lanes: [lane('gw-a', 'loop-7', 1), lane('gw-nowhere', 'loop-1', 1)] }, /body field 'lanes\[1\]\.gatewayId': gateway 'gw-nowhere' is not registered/],
      ];
      for (const [body, message] of cases) assertError(await put('other', body), 400, 'BadRequest', message);
      assertError(await put('Bad%20Id', ring), 400, 'BadRequest', /path parameter 'segmentId' must match pattern/);
      assertError(
        await put('other', { ...ring, lanes: [lane('gw-a', 'loop-1', 2)] }),
        409,
        'Conflict',
        /lane gw-a\/loop-1\/2 already belongs to segment 'ring-n'/,
      );
      assertError(await get('/api/v1/segments/other'), 404, 'NotFound', /segment 'other' not found/);
    });
  });

  describe('segment state, history and grade changes', () => {
    before(async () => {
      // 45 km/h 畅通, 25 km/h 轻度拥堵, 44 km/h back to 畅通 (past 40 + 3), then a period without vehicles.
      const events = [
        periodEvent(1, 'loop-1', P0, { '1': { volume: 10, speed: 45, occupancy: 6 }, '2': { volume: 10, speed: 45, occupancy: 8 } }),
        periodEvent(2, 'loop-1', P0 + MINUTE, { '1': { volume: 30, speed: 25, occupancy: 30 }, '2': { volume: 30, speed: 25, occupancy: 34 } }),
        periodEvent(3, 'loop-1', P0 + 2 * MINUTE, { '1': { volume: 12, speed: 44 }, '2': { volume: 12, speed: 44 } }),
        periodEvent(4, 'loop-1', P0 + 3 * MINUTE, { '1': { volume: 0 }, '2': { volume: 0 } }),
      ];
      await cloud.store.ingestBatch('gw-a', { stream: 'stream-traffic-http', first: 1, last: 4 }, events, []);
    });

    test('GET /api/v1/segments lists every segment with its current state and grade names', async () => {
      const { status, body } = await get('/api/v1/segments');
      assert.equal(status, 200);
      const segment = body.segments.find((s: { id: string }) => s.id === 'ring-n');
      assert.deepEqual(segment.state, {
        periodStart: P0 + 3 * MINUTE,
        periodS: 60,
        volume: 0,
        occupancy: null,
        speed: null,
        grade: { code: 1, name: 'free_flow', nameZh: '畅通' },
        gradeBasis: 'no-speed',
        lanesReporting: 2,
        lanesTotal: 2,
        completeness: 100,
        updatedAt: segment.state.updatedAt,
      });
    });

    test('GET /api/v1/segments/:segmentId: the segment and its state; 404 names the segment; 400 for a bad id', async () => {
      const { status, body } = await get('/api/v1/segments/ring-n');
      assert.equal(status, 200);
      assert.equal(body.name, ring.name);
      assert.equal(body.state.periodStart, P0 + 3 * MINUTE);
      assertError(await get('/api/v1/segments/ring-s'), 404, 'NotFound', /segment 'ring-s' not found/);
      assertError(await get('/api/v1/segments/bad$id'), 400, 'BadRequest', /path parameter 'segmentId'/);
    });

    test('GET .../history: periods newest first, from/to (epoch or ISO) and limit', async () => {
      const all = await get('/api/v1/segments/ring-n/history');
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.periods.map((p: { grade: { code: number } }) => p.grade.code),
        [1, 1, 3, 1],
      );
      const congested = all.body.periods[2];
      assert.equal(congested.volume, 60);
      assert.equal(congested.speed, 25);
      assert.equal(congested.occupancy, 32);
      assert.deepEqual(congested.grade, { code: 3, name: 'light', nameZh: '轻度拥堵' });
      const window = await get(`/api/v1/segments/ring-n/history?from=2026-03-01T08:01:00Z&to=${P0 + 2 * MINUTE}`);
      assert.deepEqual(
        window.body.periods.map((p: { periodStart: number }) => p.periodStart),
        [P0 + 2 * MINUTE, P0 + MINUTE],
      );
      assert.equal((await get('/api/v1/segments/ring-n/history?limit=1')).body.periods.length, 1);
      assertError(await get('/api/v1/segments/ring-n/history?from=soon'), 400, 'BadRequest', /query parameter 'from' must be epoch milliseconds/);
      assertError(await get('/api/v1/segments/ring-n/history?limit=0'), 400, 'BadRequest', /query parameter 'limit' must be >= 1/);
      assertError(await get('/api/v1/segments/ring-s/history'), 404, 'NotFound', /segment 'ring-s' not found/);
    });

    test('GET .../grade-changes: each change with from/to grade names, newest first; from/to bound the period', async () => {
      const { status, body } = await get('/api/v1/segments/ring-n/grade-changes');
      assert.equal(status, 200);
      assert.deepEqual(
        body.changes.map((c: { periodStart: number; from: { name: string }; to: { name: string }; speed: number }) => [
          (c.periodStart - P0) / MINUTE,
          c.from.name,
          c.to.name,
          c.speed,
        ]),
        [
          [2, 'light', 'free_flow', 44],
          [1, 'free_flow', 'light', 25],
        ],
      );
      assert.equal(body.changes[1].to.nameZh, '轻度拥堵');
      const before = await get(`/api/v1/segments/ring-n/grade-changes?to=${P0 + MINUTE}`);
      assert.deepEqual(
        before.body.changes.map((c: { periodStart: number }) => c.periodStart),
        [P0 + MINUTE],
      );
      assertError(await get(`/api/v1/segments/ring-n/grade-changes?from=${P0 + 1}&to=${P0}`), 400, 'BadRequest', /'from' .* is after 'to'/);
      assertError(await get('/api/v1/segments/nowhere/grade-changes'), 404, 'NotFound', /segment 'nowhere' not found/);
    });

    test('GET .../devices/:deviceId/periods: lane periods, by lane and time, newest first', async () => {
      const path = '/api/v1/gateways/gw-a/devices/loop-1/periods';
      const all = await get(path);
      assert.equal(all.status, 200);
      assert.equal(all.body.periods.length, 8);
      assert.deepEqual(all.body.periods[0], {
        lane: 1,
        periodStart: P0 + 3 * MINUTE,
        periodS: 60,
        volume: 0,
        flow: 0,
        occupancy: null,
        speed: null,
        speedSource: 'none',
        completeness: 100,
        classes: null,
        receivedAt: all.body.periods[0].receivedAt,
      });
      const lane2 = await get(`${path}?lane=2&from=${P0 + MINUTE}&to=${P0 + MINUTE}`);
      assert.deepEqual(
        lane2.body.periods.map((p: { lane: number; occupancy: number }) => [p.lane, p.occupancy]),
        [[2, 34]],
      );
      assert.equal((await get(`${path}?limit=3`)).body.periods.length, 3);
      assertError(await get(`${path}?lane=0`), 400, 'BadRequest', /query parameter 'lane' must be >= 1/);
      assertError(await get(`${path}?lane=1000`), 400, 'BadRequest', /query parameter 'lane' must be <= 999/);
      assertError(await get('/api/v1/gateways/gw-a/devices/loop-404/periods'), 404, 'NotFound', /device 'loop-404' not found on gateway 'gw-a'/);
      assertError(await get('/api/v1/gateways/gw-404/devices/loop-1/periods'), 404, 'NotFound', /gateway 'gw-404' not found/);
    });
  });

  describe('GET /api/v1/detector-health', () => {
    before(async () => {
      const since = P0 + 5 * MINUTE;
      const events: GatewayEvent[] = [
        { seq: 5, ts: since, type: 'device.status', device: 'loop-1', data: { state: 'error', error: { code: 'ModbusException', message: 'illegal data address' } } },
        { seq: 6, ts: since, type: 'detector.diagnostic', device: 'loop-1', data: { condition: 'no-activity', state: 'onset', lane: 2, since, detail: 'no vehicle for 20 min' } },
        { seq: 7, ts: since, type: 'detector.diagnostic', device: 'loop-1', data: { condition: 'chatter', state: 'onset', lane: 1, since, detail: 'erratic counts' } },
        { seq: 8, ts: since + 1, type: 'detector.diagnostic', device: 'loop-1', data: { condition: 'chatter', state: 'clear', lane: 1, since, detail: 'counts normal' } },
      ];
      await cloud.store.ingestBatch('gw-a', { stream: 'stream-traffic-http', first: 5, last: 8 }, events, []);
    });

    test('every detector with its device state and active diagnostics per lane', async () => {
      const { status, body } = await get('/api/v1/detector-health');
      assert.equal(status, 200);
      const loop = body.detectors.find((d: { deviceId: string }) => d.deviceId === 'loop-1');
      assert.equal(loop.state, 'error');
      assert.deepEqual(loop.lastError, { code: 'ModbusException', message: 'illegal data address' });
      assert.equal(loop.healthy, false);
      assert.equal(loop.lastPeriodStart, P0 + 3 * MINUTE);
      assert.deepEqual(loop.diagnostics, [{ lane: 2, condition: 'no-activity', since: P0 + 5 * MINUTE, detail: 'no vehicle for 20 min' }]);
      assert.ok(!body.detectors.some((d: { deviceId: string }) => d.deviceId === 'vms-1'), 'a VMS is no detector');
      // The device record shows the same active diagnostics.
      assert.deepEqual((await get('/api/v1/gateways/gw-a/devices/loop-1')).body.diagnostics, loop.diagnostics);
    });

    test('filters by gateway: 404 for an unknown one, 400 for a malformed id', async () => {
      assert.deepEqual((await get('/api/v1/detector-health?gatewayId=gw-b')).body, { detectors: [] });
      assert.equal((await get('/api/v1/detector-health?gatewayId=gw-a')).body.detectors.length, 1);
      assertError(await get('/api/v1/detector-health?gatewayId=gw-404'), 404, 'NotFound', /gateway 'gw-404' not found/);
      assertError(await get('/api/v1/detector-health?gatewayId=Not%20An%20Id'), 400, 'BadRequest', /query parameter 'gatewayId'/);
    });
  });

  test('through MQTT: traffic.period events from a gateway grade its segment, and a change is logged and counted', async () => {
    const { password } = await registerGateway(cloud.store, 'gw-mqtt');
    const created = await put('bridge', { name: 'Bridge', roadClass: 'expressway', lanes: [{ gatewayId: 'gw-mqtt', deviceId: 'loop-5', lane: 1 }] });
    assert.equal(created.status, 201);
    const client = await connectGateway(cloud.mqttUrl, 'gw-mqtt', password);
    try {
      const inbox = await AckInbox.open(client, 'gw-mqtt');
      const stream = newStreamId();
      await client.publishAsync(
        topicFor('gw-mqtt', 'birth'),
        JSON.stringify({ v: 1, ts: P0, agentVersion: '0.3.0', startedAt: P0, stream, devices: [{ id: 'loop-5', profile: 'loop-detectors/quanlink-lc8', kind: 'loop-detector' }] }),
        { qos: 1 },
      );
      await publishBatch(
        client,
        'gw-mqtt',
        batchOf(stream, [
          periodEvent(1, 'loop-5', P0, { '1': { volume: 20, speed: 80 } }),
          periodEvent(2, 'loop-5', P0 + MINUTE, { '1': { volume: 40, speed: 18 } }),
        ]),
      );
      assert.equal((await inbox.nth(1)).upTo, 2);
    } finally {
      await client.endAsync();
    }
    const { body } = await get('/api/v1/segments/bridge');
    assert.deepEqual(body.state.grade, { code: 5, name: 'severe', nameZh: '严重拥堵' });
    await waitFor(() => logs.matching({ operation: 'segment grade', segment: 'bridge' }).length > 0, 'grade change logged');
    const [line] = logs.matching({ operation: 'segment grade', segment: 'bridge' });
    assert.equal(line?.from, 'free_flow');
    assert.equal(line?.to, 'severe');
    assert.equal(line?.gateway, 'gw-mqtt');
    assert.match(line!.msg, /畅通 -> 严重拥堵/);
    assert.equal((await get('/api/v1/health')).body.ingest.gradeChanges, 1);
  });
});
