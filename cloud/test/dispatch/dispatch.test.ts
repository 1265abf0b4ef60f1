/**
 * Guidance-screen dispatch end to end: a real cloud (aedes on port 0, SQLite, fastify), fake
 * gateways that answer sign commands over MQTT and report sign events in event batches, a real
 * WebSocket client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import type { LanePeriod, NewEvent, SignDisplayArgs, SignSyncArgs } from '@quanlink/contracts';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import { bearer, captureLogger, waitFor } from '../helpers.js';
import { FakeGateway } from './fake-gateway.js';

const TOKEN = 'test-admin-token-dispatch-0123';
const R1 = 'quanlink-vms-r1';
const G1 = 'quanlink-vms-g1';

interface Json {
  status: number;
  body: any;
}

describe('issue 4: guidance-screen dispatch', () => {
  let cloud: RunningCloud;
  let offset = 0;
  let gwA: FakeGateway;
  let gwBPassword = '';
  let ws: WebSocket;
  const pushed: any[] = [];

  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Json> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${cloud.httpUrl}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: response.status, body: parsed };
  };
  const post = (path: string, body?: unknown, token: string | null = TOKEN) => call('POST', path, body ?? {}, token);
  const get = (path: string) => call('GET', path, undefined, TOKEN);
  const dispatchesOf = async (messageId: string) => (await get(`/api/v1/messages/${messageId}`)).body.dispatches as any[];
  const waitState = (messageId: string, state: string, what = state) =>
    waitFor(async () => (await dispatchesOf(messageId)).every((d) => d.state === state), `dispatches of ${messageId} ${what}`);
  const signDispatch = (device: string, data: Record<string, unknown>): NewEvent => ({ ts: Date.now(), type: 'sign.dispatch', device, data }) as NewEvent;

  before(async () => {
    cloud = await startCloud({ adminToken: TOKEN, logger: captureLogger('warn').logger, clock: () => Date.now() + offset, sweepIntervalMs: 100 });
    const a = await registerGateway(cloud.store, 'gw-a');
    gwBPassword = (await registerGateway(cloud.store, 'gw-b')).password;
    gwA = await FakeGateway.start(cloud.mqttUrl, 'gw-a', a.password, [
      { id: 'vms-1', profile: R1 },
      { id: 'vms-2', profile: R1 },
      { id: 'vms-3', profile: G1 },
    ], [{ id: 'loop-1', profile: 'quanlink-lc8', kind: 'loop-detector' }]);
    await waitFor(async () => (await cloud.store.listDevices({ kind: 'vms' })).length === 3, 'gw-a birth');
    await gwA.waitCommand('sign.sync');
    ws = new WebSocket(`${cloud.httpUrl.replace('http', 'ws')}/api/v1/ws?topics=dispatch,audit,message&token=${TOKEN}`);
    ws.on('message', (data) => pushed.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  });
  after(async () => {
    ws?.close();
    await gwA?.close().catch(() => undefined);
    await cloud?.close();
  });

  test('issue 4: create -> sent -> delivered -> displayed with the readback CRC; one sign.display per gateway; pushed in order', async () => {
    const created = await post('/api/v1/messages', { multi: 'ROAD WORK[nl]SLOW DOWN', targets: { screens: ['gw-a/vms-1', 'gw-a/vms-2'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { message, dispatches } = created.body;
    assert.equal(message.priority, 100);
    assert.equal(message.source, 'operator');
    assert.deepEqual(dispatches.map((d: any) => [d.deviceId, d.state]), [['vms-1', 'sent'], ['vms-2', 'sent']]);

    const before = gwA.of('sign.display').length;
    const command = await gwA.waitCommand('sign.display', before === 0 ? 1 : before);
    const args = command.args as SignDisplayArgs;
    assert.equal(args.message.id, message.id);
    assert.equal(args.message.crc, message.crc);
    assert.deepEqual(args.targets.map((t) => t.screen).sort(), ['vms-1', 'vms-2']);
    await waitState(message.id, 'delivered');

    await gwA.send(dispatches.map((d: any) => signDispatch(d.deviceId, { dispatchId: d.id, messageId: message.id, state: 'displayed', readbackCrc: message.crc })));
    await waitState(message.id, 'displayed');
    const history = (await get(`/api/v1/dispatches/${dispatches[0].id}/history`)).body.history;
    assert.deepEqual(history.map((h: any) => `${h.from}->${h.to}:${h.actor}`), ['queued->sent:cloud', 'sent->delivered:edge:gw-a', 'delivered->displayed:edge:gw-a']);
    assert.equal(history[2].readbackCrc, message.crc);

    await waitFor(() => pushed.filter((e) => e.type === 'dispatch' && e.dispatch.id === dispatches[0].id).length >= 4, 'ws pushes');
    const states = pushed.filter((e) => e.type === 'dispatch' && e.dispatch.id === dispatches[0].id).map((e) => e.dispatch.state);
    assert.deepEqual(states, ['queued', 'sent', 'delivered', 'displayed']);
    assert.ok(pushed.some((e) => e.type === 'audit' && e.entry.action === 'message.create' && e.entry.actor === 'admin'));
    assert.ok(!pushed.some((e) => e.type === 'screen'), 'topics filter holds back screen events');

    const screens = (await get('/api/v1/screens')).body.screens;
    assert.equal(screens.find((s: any) => s.key === 'gw-a/vms-1').displayed.id, message.id);
    assert.equal(screens.find((s: any) => s.key === 'gw-a/vms-3').profile, G1);
  });

  test('issue 4: a late or duplicate sign.dispatch is idempotent; an unknown dispatch is quarantined with the reason', async () => {
    const { body } = await post('/api/v1/messages', { multi: 'FOG', targets: { screens: ['gw-a/vms-1'] } });
    const d = body.dispatches[0];
    await waitState(body.message.id, 'delivered');
    const events = [signDispatch('vms-1', { dispatchId: d.id, messageId: body.message.id, state: 'displayed', readbackCrc: body.message.crc })];
    await gwA.send(events);
    await gwA.resendLast(events);
    await gwA.send(events); // the same report under a new seq
    assert.equal((await get(`/api/v1/dispatches/${d.id}/history`)).body.history.length, 3);
    await gwA.send([signDispatch('vms-1', { dispatchId: 'd-never-made', messageId: body.message.id, state: 'displayed' })]);
    const rejected = await cloud.store.rejectedEvents({ gatewayId: 'gw-a' });
    assert.match(rejected[0]!.reason, /unknown dispatch 'd-never-made'/);
  });

  test('issue 4: bad inputs are refused with what and where', async () => {
    const malformed = await post('/api/v1/messages', { multi: 'SLOW[jl9', targets: { screens: ['gw-a/vms-1'] } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.problems[0].code, 'multi-syntax');
    assert.equal(typeof malformed.body.problems[0].position, 'number');

    const oversize = await post('/api/v1/messages', { multi: '[fo1]ABCDEFGHIJKLMNOPQ', targets: { screens: ['gw-a/vms-1', 'gw-a/vms-2', 'gw-a/vms-3'] } });
    assert.equal(oversize.status, 400, JSON.stringify(oversize.body));
    const problem = oversize.body.problems.find((p: any) => p.profile === R1);
    assert.ok(problem, JSON.stringify(oversize.body.problems));
    assert.equal(problem.page, 1);
    assert.equal(problem.line, 1);
    assert.match(problem.message, /^quanlink-vms-r1 \(2 screens\): page 1 line 1: /);
    assert.deepEqual(problem.screens, ['gw-a/vms-1', 'gw-a/vms-2']);
    assert.ok(!oversize.body.problems.some((p: any) => p.profile === G1), 'fits the 192 px gantry sign');

    const unknownScreen = await post('/api/v1/messages', { multi: 'X', targets: { screens: ['gw-a/vms-9'] } });
    assert.equal(unknownScreen.status, 400);
    assert.match(unknownScreen.body.error.message, /screen 'gw-a\/vms-9' is not a known guidance screen/);
    const unknownGroup = await post('/api/v1/messages', { multi: 'X', targets: { groups: ['nowhere'] } });
    assert.match(unknownGroup.body.error.message, /group 'nowhere' has no screens/);
    const priority = await post('/api/v1/messages', { multi: 'X', priority: 300, targets: { all: true } });
    assert.equal(priority.status, 400);
    assert.match(priority.body.error.message, /priority/);
    const now = Date.now() + offset;
    const backwards = await post('/api/v1/messages', { multi: 'X', startAt: now + 10_000, endAt: now + 5000, targets: { all: true } });
    assert.match(backwards.body.error.message, /endAt .* must be after startAt/);
    const past = await post('/api/v1/messages', { multi: 'X', startAt: now - 10_000, endAt: now - 5000, targets: { all: true } });
    assert.match(past.body.error.message, /already past/);
    const noToken = await post('/api/v1/messages', { multi: 'X', targets: { all: true } }, null);
    assert.equal(noToken.status, 401);
    assert.equal((await get('/api/v1/messages?active=true')).body.messages.filter((m: any) => m.multi === 'X').length, 0);
  });

  test('issue 4: an offline gateway gets its dispatches queued, then sign.sync at its birth -> sent -> delivered', async () => {
    await cloud.store.applyBirth('gw-b', { v: 1, ts: Date.now(), agentVersion: 't', startedAt: Date.now(), stream: 'stream-gw-b-0001', devices: [{ id: 'vms-9', profile: R1, kind: 'vms' }] }, Date.now());
    const { body } = await post('/api/v1/messages', { multi: 'DETOUR', targets: { screens: ['gw-b/vms-9', 'gw-a/vms-3'] } });
    const states = Object.fromEntries(body.dispatches.map((d: any) => [`${d.gatewayId}/${d.deviceId}`, d.state]));
    assert.deepEqual(states, { 'gw-a/vms-3': 'sent', 'gw-b/vms-9': 'queued' });

    const gwB = await FakeGateway.start(cloud.mqttUrl, 'gw-b', gwBPassword, [{ id: 'vms-9', profile: R1 }]);
    try {
      const sync = await gwB.waitCommand('sign.sync');
      const entries = (sync.args as SignSyncArgs).entries;
      assert.deepEqual(entries.map((e) => [e.message.id, e.targets.map((t) => t.screen)]), [[body.message.id, ['vms-9']]]);
      await waitState(body.message.id, 'delivered');
    } finally {
      await gwB.close();
    }
  });

  test('issue 4: cancel sends sign.cancel and marks the dispatches cancelled; twice is a conflict', async () => {
    const { body } = await post('/api/v1/messages', { multi: 'CLOSED', targets: { screens: ['gw-a/vms-1'] } });
    await waitState(body.message.id, 'delivered');
    const cancelled = await post(`/api/v1/messages/${body.message.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.dispatches[0].state, 'cancelled');
    const command = await gwA.waitCommand('sign.cancel', gwA.of('sign.cancel').length || 1);
    assert.equal(command.args.messageId, body.message.id);
    assert.equal((await post(`/api/v1/messages/${body.message.id}/cancel`)).status, 409);
    // A late 'displayed' after the cancel is only recorded.
    await gwA.send([signDispatch('vms-1', { dispatchId: body.dispatches[0].id, messageId: body.message.id, state: 'displayed' })]);
    const history = (await get(`/api/v1/dispatches/${body.dispatches[0].id}/history`)).body.history;
    assert.deepEqual(history.at(-1).applied, false);
    assert.equal((await dispatchesOf(body.message.id))[0].state, 'cancelled');
    const audit = (await get('/api/v1/audit?action=message.cancel')).body.entries;
    assert.equal(audit[0].subject, `message:${body.message.id}`);
  });

  test('issue 4: a rejected display fails the dispatch; resend sends it again', async () => {
    gwA.mode = 'reject';
    const { body } = await post('/api/v1/messages', { multi: 'ICE', targets: { screens: ['gw-a/vms-2'] } });
    await waitState(body.message.id, 'failed');
    assert.match((await dispatchesOf(body.message.id))[0].reason, /ScreenFault: controller fault/);
    gwA.mode = 'accept';
    const resent = await post(`/api/v1/messages/${body.message.id}/resend`);
    assert.equal(resent.status, 200);
    await waitState(body.message.id, 'delivered');
    const history = (await get(`/api/v1/dispatches/${body.dispatches[0].id}/history`)).body.history.map((h: any) => `${h.from}->${h.to}`);
    assert.deepEqual(history, ['queued->sent', 'sent->failed', 'failed->queued', 'queued->sent', 'sent->delivered']);
    gwA.mode = 'error';
    const errored = await post('/api/v1/messages', { multi: 'WIND', targets: { screens: ['gw-a/vms-2'] } });
    await waitState(errored.body.message.id, 'failed');
    assert.match((await dispatchesOf(errored.body.message.id))[0].reason, /Busy/);
    gwA.mode = 'accept';
  });

  test('issue 4: the expiry sweep expires ended messages; a late displayed is ignored', async () => {
    const now = Date.now() + offset;
    const { body } = await post('/api/v1/messages', { multi: 'SHORT', endAt: now + 2000, targets: { screens: ['gw-a/vms-3'] } });
    await waitState(body.message.id, 'delivered');
    offset += 3000;
    await waitState(body.message.id, 'expired');
    await gwA.send([signDispatch('vms-3', { dispatchId: body.dispatches[0].id, messageId: body.message.id, state: 'displayed', readbackCrc: body.message.crc })]);
    const last = (await get(`/api/v1/dispatches/${body.dispatches[0].id}/history`)).body.history.at(-1);
    assert.deepEqual([last.from, last.to, last.applied], ['expired', 'displayed', false]);
    assert.equal((await get(`/api/v1/messages?active=true`)).body.messages.some((m: any) => m.id === body.message.id), false);
  });

  test('issue 4: preview renders PNG pages of the sign size; a message page is served as PNG', async () => {
    const preview = await post('/api/v1/preview', { multi: 'ONE[np]TWO', profile: R1, scale: 2 });
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    assert.equal(preview.body.pages.length, 2);
    const png = Buffer.from(preview.body.pages[0], 'base64');
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [256, 64]);
    const byScreen = await post('/api/v1/preview', { multi: 'ABCDEFGHIJKLMNOPQRSTU', screen: 'gw-a/vms-1' });
    assert.equal(byScreen.body.problems[0].line, 1);
    assert.deepEqual(byScreen.body.pages, []);

    const { body } = await post('/api/v1/messages', { multi: 'PAGE', targets: { screens: ['gw-a/vms-3'] } });
    const response = await fetch(`${cloud.httpUrl}/api/v1/messages/${body.message.id}/pages/1.png?screen=gw-a/vms-3&scale=1`, { headers: bearer(TOKEN) });
    assert.equal(response.headers.get('content-type'), 'image/png');
    const page = Buffer.from(await response.arrayBuffer());
    assert.deepEqual([page.readUInt32BE(16), page.readUInt32BE(20)], [192, 64]);
    assert.equal((await fetch(`${cloud.httpUrl}/api/v1/messages/${body.message.id}/pages/2.png`, { headers: bearer(TOKEN) })).status, 404);
  });

  test('issue 4: screens get groups and segments (audited) and can be targeted by them', async () => {
    const put = await call('PUT', '/api/v1/screens/gw-a/vms-1', { groups: ['ring'], segment: 'seg-n', corridor: 'north', location: { lat: 31.2, lon: 121.5 } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.groups, ['ring']);
    await call('PUT', '/api/v1/screens/gw-a/vms-2', { groups: ['ring'], segment: 'seg-n' });
    assert.equal((await call('PUT', '/api/v1/screens/gw-a/vms-7', { groups: ['ring'] })).status, 404);
    const byGroup = await post('/api/v1/messages', { multi: 'RING', targets: { groups: ['ring'] } });
    assert.deepEqual(byGroup.body.dispatches.map((d: any) => d.deviceId), ['vms-1', 'vms-2']);
    const byCorridor = await post('/api/v1/messages', { multi: 'N', targets: { corridors: ['north'] } });
    assert.deepEqual(byCorridor.body.dispatches.map((d: any) => d.deviceId), ['vms-1']);
    const audit = (await get('/api/v1/audit?action=screen.update')).body.entries;
    assert.equal(audit.length, 2);
  });

  describe('automatic guidance', () => {
    const P0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    let period = 0;
    const congestion = (speed: number): NewEvent => {
      const periodStart = P0 + period++ * 60_000;
      const lane: LanePeriod = { volume: 10, flow: 600, speed, speedSource: 'measured' };
      return { ts: periodStart + 60_000, type: 'traffic.period', device: 'loop-1', data: { periodStart, periodS: 60, completeness: 100, lanes: { '1': lane } } };
    };
    const autoMessages = async (rule: string) => (await get('/api/v1/messages?source=auto')).body.messages.filter((m: any) => m.ruleId === rule);

    test('issue 4: a rule triggers on a congesting segment, holds through oscillation, clears after its hold', async () => {
      const segment = await call('PUT', '/api/v1/segments/seg-n', { name: 'North', roadClass: 'arterial', lanes: [{ gatewayId: 'gw-a', deviceId: 'loop-1', lane: 1 }] });
      assert.equal(segment.status, 201, JSON.stringify(segment.body));
      const bad = await call('PUT', '/api/v1/guidance-rules/jam', { segment: 'seg-n', whenGradeAtLeast: 'moderate', targets: { segments: ['seg-n'] }, multi: 'CONGESTION AHEAD KEEP LEFT' });
      assert.equal(bad.status, 400, 'content too wide for the ramp signs');
      const rule = await call('PUT', '/api/v1/guidance-rules/jam', { segment: 'seg-n', whenGradeAtLeast: 'moderate', holdS: 60, targets: { segments: ['seg-n'] }, multi: 'JAM AHEAD' });
      assert.equal(rule.status, 201, JSON.stringify(rule.body));

      await gwA.send([congestion(50)]);
      assert.equal((await autoMessages('jam')).length, 0);
      await gwA.send([congestion(17)]); // 中度拥堵
      await waitFor(async () => (await autoMessages('jam')).length === 1, 'auto message');
      const [message] = await autoMessages('jam');
      assert.equal(message.priority, 50);
      assert.equal(message.createdBy, 'guidance:jam');
      for (const speed of [26, 17, 26, 17, 26]) await gwA.send([congestion(speed)]); // around the threshold
      await new Promise((resolve) => setTimeout(resolve, 300));
      const during = await autoMessages('jam');
      assert.equal(during.length, 1, 'no flapping');
      assert.equal(during[0].cancelledAt, null);

      offset += 61_000;
      await waitFor(async () => (await autoMessages('jam'))[0].cancelledAt !== null, 'cleared after hold');
      assert.equal((await get('/api/v1/audit?actor=guidance:jam')).body.entries.some((e: any) => e.action === 'message.cancel'), true);
      await gwA.send([congestion(10)]);
      await waitFor(async () => (await autoMessages('jam')).length === 2, 'triggers again');
      assert.equal((await call('DELETE', '/api/v1/guidance-rules/jam')).status, 204);
      await waitFor(async () => (await autoMessages('jam')).every((m: any) => m.cancelledAt !== null), 'deleting the rule cancels its message');
    });

    test('issue 4: with approval a trigger makes a proposal; approve sends the message, reject does not', async () => {
      const rule = await call('PUT', '/api/v1/guidance-rules/ask', { segment: 'seg-n', whenGradeAtLeast: 'severe', holdS: 0, approval: true, targets: { screens: ['gw-a/vms-3'] }, multi: 'SEVERE JAM' });
      assert.equal(rule.status, 201, JSON.stringify(rule.body));
      await gwA.send([congestion(50)]);
      await gwA.send([congestion(8)]);
      await waitFor(async () => (await get('/api/v1/guidance-proposals?status=pending')).body.proposals.length === 1, 'proposal');
      assert.equal((await autoMessages('ask')).length, 0);
      const [proposal] = (await get('/api/v1/guidance-proposals?status=pending')).body.proposals;
      assert.equal((await post(`/api/v1/guidance-proposals/${proposal.id}/approve`, {}, null)).status, 401);
      const approved = await post(`/api/v1/guidance-proposals/${proposal.id}/approve`);
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.status, 'approved');
      assert.equal((await autoMessages('ask')).length, 1);
      assert.equal((await post(`/api/v1/guidance-proposals/${proposal.id}/reject`)).status, 409);

      await gwA.send([congestion(50)]);
      await waitFor(async () => (await autoMessages('ask'))[0].cancelledAt !== null, 'cleared');
      await gwA.send([congestion(8)]);
      await waitFor(async () => (await get('/api/v1/guidance-proposals?status=pending')).body.proposals.length === 1, 'second proposal');
      const second = (await get('/api/v1/guidance-proposals?status=pending')).body.proposals[0];
      assert.equal((await post(`/api/v1/guidance-proposals/${second.id}/reject`)).body.status, 'rejected');
      await gwA.send([congestion(9)]);
      assert.equal((await get('/api/v1/guidance-proposals?status=pending')).body.proposals.length, 0, 'no new proposal until it clears');
      assert.equal((await autoMessages('ask')).length, 1);
    });
  });

  test('issue 4: the routes are in the OpenAPI document, writes with the admin token; /api/v1/ws refuses unknown topics', async () => {
    const { body } = await get('/openapi.json');
    for (const path of ['/api/v1/messages', '/api/v1/messages/{id}/cancel', '/api/v1/dispatches/{id}/history', '/api/v1/preview', '/api/v1/screens', '/api/v1/audit', '/api/v1/guidance-rules/{id}', '/api/v1/guidance-proposals']) {
      assert.ok(body.paths[path], `${path} documented`);
    }
    assert.deepEqual(body.paths['/api/v1/messages'].post.security, [{ bearer: [] }]);
    const refused = new WebSocket(`${cloud.httpUrl.replace('http', 'ws')}/api/v1/ws?topics=nope&token=${TOKEN}`);
    const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 400);
    assert.ok(cloud.live.clients() >= 1);
  });
});
