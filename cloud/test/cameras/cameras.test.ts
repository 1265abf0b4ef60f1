/**
 * Cameras in the cloud end to end: a real cloud (aedes on port 0, SQLite, fastify), fake camera
 * gateways (mqtt.js clients sending births with camera info and video events, answering
 * snapshot.get with real JPEGs), HTTP and a real WebSocket client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import type { CameraInfo } from '@quanlink/contracts';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import { bearer, captureLogger, waitFor, type LogCapture } from '../helpers.js';
import { FakeCameraGateway, frameJpeg } from './fake-camera-gateway.js';

const TOKEN = 'test-admin-token-cameras-0123';
const COMMAND_TIMEOUT_MS = 400;
const SECRET = 'Sup3rS3cret';

const info = (overrides: Partial<CameraInfo> = {}): CameraInfo => ({
  manufacturer: 'Quanlink Sim',
  model: 'QS-ONVIF-1',
  firmware: '2.4.1',
  serial: 'QS0001',
  profiles: [
    { token: 'main', name: 'MainStream', encoding: 'H264', width: 1280, height: 720, streamUri: 'rtsp://127.0.0.1:8554/main' },
    { token: 'sub', name: 'SubStream', encoding: 'H264', width: 640, height: 360, streamUri: 'rtsp://127.0.0.1:8554/sub' },
  ],
  activeProfile: 'sub',
  ...overrides,
});

const crossing = (ts: number, lane: number, direction: 'forward' | 'reverse', snapshot?: { id: string; thumbnail?: string }) => ({
  ts,
  type: 'video.crossing',
  device: 'cam-1',
  data: {
    line: `lane${lane}-line`,
    lane,
    direction,
    trackId: ts % 10_000,
    kind: 'vehicle',
    label: 'car',
    score: 0.82,
    box: [100, 120, 180, 170],
    ...(snapshot && { snapshot: { id: snapshot.id, width: 640, height: 360, bytes: 30_000, ...(snapshot.thumbnail && { thumbnail: snapshot.thumbnail }) } }),
  },
});
const pipeline = (ts: number, state: string, reason?: string) => ({ ts, type: 'camera.pipeline', device: 'cam-1', data: { state, ...(reason && { reason }), analysedFps: 7.5, restarts: 0 } });

describe('issue 5: cameras in the cloud', () => {
  let cloud: RunningCloud;
  let logs: LogCapture;
  let gw: FakeCameraGateway;
  let gw2Password = '';
  const T = Date.UTC(2026, 2, 1, 8, 0, 0);

  const get = async (path: string) => {
    const response = await fetch(`${cloud.httpUrl}${path}`, { headers: bearer(cloud.adminToken) });
    const type = response.headers.get('content-type') ?? '';
    const body = type.startsWith('application/json') ? await response.json() : Buffer.from(await response.arrayBuffer());
    return { status: response.status, type, headers: response.headers, body: body as any };
  };

  before(async () => {
    logs = captureLogger('info');
    cloud = await startCloud({ adminToken: TOKEN, logger: logs.logger, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    const creds = await registerGateway(cloud.store, 'gw-cam');
    gw2Password = (await registerGateway(cloud.store, 'gw-cam2')).password;
    const leaky = info();
    leaky.profiles[0]!.streamUri = `rtsp://admin:${SECRET}@127.0.0.1:8554/main`;
    leaky.profiles[1]!.streamUri = `rtsp://127.0.0.1:8554/sub?channel=1&password=${SECRET}`;
    gw = await FakeCameraGateway.start(cloud.mqttUrl, 'gw-cam', creds.password, [
      { id: 'cam-1', profile: 'onvif-camera', kind: 'camera', name: 'North gate', endpoint: `http://admin:${SECRET}@127.0.0.1:8080/onvif/device_service`, camera: leaky },
      { id: 'loop-1', profile: 'quanlink-lc8', kind: 'loop-detector' },
    ]);
    await waitFor(async () => (await cloud.store.getCamera('gw-cam', 'cam-1'))?.camera != null, 'camera registered');
    await waitFor(async () => (await cloud.store.getGateway('gw-cam'))?.online === true, 'gw-cam online');
  });
  after(async () => {
    await gw?.close().catch(() => undefined);
    await cloud?.close();
  });

  test('issue 5: the registry shows make, model, firmware and profiles; a birth with user:pass@ in a URI gets the credentials stripped (not refused)', async () => {
    const list = await get('/api/v1/cameras');
    assert.equal(list.status, 200);
    assert.equal(list.body.cameras.length, 1, 'the loop detector is not a camera');
    const cam = list.body.cameras[0];
    assert.equal(cam.gatewayId, 'gw-cam');
    assert.equal(cam.deviceId, 'cam-1');
    assert.equal(cam.name, 'North gate');
    assert.deepEqual(
      [cam.camera.manufacturer, cam.camera.model, cam.camera.firmware, cam.camera.serial, cam.camera.activeProfile],
      ['Quanlink Sim', 'QS-ONVIF-1', '2.4.1', 'QS0001', 'sub'],
    );
    assert.deepEqual(
      cam.camera.profiles.map((p: any) => [p.token, p.width, p.height, p.streamUri]),
      [
        ['main', 1280, 720, 'rtsp://127.0.0.1:8554/main'],
        ['sub', 640, 360, 'rtsp://127.0.0.1:8554/sub?channel=1'],
      ],
    );
    assert.equal(cam.endpoint, 'http://127.0.0.1:8080/onvif/device_service');
    assert.equal(cam.gatewayOnline, true);
    assert.ok(!JSON.stringify(list.body).includes(SECRET), 'no credential in the API');
    assert.ok(!JSON.stringify((await get('/api/v1/devices')).body).includes(SECRET));
    const warned = logs.matching({ msg: 'birth carried credentials in device URIs; stripped before storing (the gateway must not send them)', gateway: 'gw-cam' });
    assert.equal(warned.length, 1);
    assert.deepEqual(warned[0]!.fields, ['devices[0].endpoint', 'devices[0].camera.profiles[0].streamUri', 'devices[0].camera.profiles[1].streamUri']);
    assert.ok(!logs.lines.some((line) => JSON.stringify(line).includes(SECRET)), 'no credential in the log');

    const one = await get('/api/v1/cameras/gw-cam/cam-1');
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, cam);
    assert.equal((await get('/api/v1/cameras/gw-cam/loop-1')).status, 404);
    const unknown = await get('/api/v1/cameras/gw-nope/cam-1');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /gateway 'gw-nope' not found/);
    assert.deepEqual((await get('/api/v1/cameras?gateway=gw-cam2')).body.cameras, []);
    const badState = await get('/api/v1/cameras?state=sleeping');
    assert.equal(badState.status, 400);
    assert.match(badState.body.error.message, /'state' must be one of starting, running/);
  });

  test('issue 5: video events by time, camera and type, newest first; thumbnails by URL decode as JPEG; inline=1 gives the base64', async () => {
    const thumb = await frameJpeg(160, 90, 90);
    const ack = await gw.send([
      pipeline(T, 'running'),
      crossing(T + 1000, 1, 'forward', { id: 'snap-a', thumbnail: thumb.toString('base64') }),
      crossing(T + 2000, 2, 'reverse'),
      { ts: T + 3000, type: 'video.alert', device: 'cam-1', data: { alert: 'wrong-way', state: 'onset', where: 'lane2-line', trackId: 7, kind: 'vehicle', since: T + 2900, detail: 'track 7 against lane 2' } },
      { ts: T + 4000, type: 'video.zone', device: 'cam-1', data: { zone: 'queue-1', periodStart: T, periodS: 60, occupancy: 35, meanObjects: 2.5, maxObjects: 6, maxQueueVehicles: 4, maxQueueMetres: 28 } },
    ]);
    assert.equal(ack.status, 'ok');
    assert.equal(ack.rejected, undefined);

    const all = await get(`/api/v1/video-events?gateway=gw-cam&device=cam-1&since=${T}&until=${T + 4000}`);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.events.map((e: any) => e.type), ['video.zone', 'video.alert', 'video.crossing', 'video.crossing', 'camera.pipeline']);
    const crossings = await get(`/api/v1/video-events?device=cam-1&type=video.crossing&since=${T}&until=${T + 4000}`);
    assert.deepEqual(crossings.body.events.map((e: any) => e.ts), [T + 2000, T + 1000]);
    assert.deepEqual((await get(`/api/v1/video-events?since=${T + 2500}&until=${T + 3500}`)).body.events.map((e: any) => e.type), ['video.alert']);
    assert.equal((await get(`/api/v1/video-events?since=${T}&limit=2`)).body.events.length, 2);

    const withThumb = crossings.body.events[1];
    assert.equal(withThumb.data.snapshot.thumbnail, undefined, 'no inline base64 by default');
    assert.equal(withThumb.thumbnailUrl, `/api/v1/video-events/${withThumb.id}/thumbnail.jpg`);
    assert.equal(withThumb.snapshotUrl, '/api/v1/snapshots/gw-cam/cam-1/snap-a.jpg');
    assert.equal(crossings.body.events[0].thumbnailUrl, null);
    const image = await get(withThumb.thumbnailUrl);
    assert.equal(image.status, 200);
    assert.equal(image.type, 'image/jpeg');
    const meta = await sharp(image.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 160, 90]);
    assert.deepEqual(image.body, thumb);

    const inline = await get(`/api/v1/video-events?type=video.crossing&since=${T}&until=${T + 1000}&inline=1`);
    assert.deepEqual(Buffer.from(inline.body.events[0].data.snapshot.thumbnail, 'base64'), thumb);

    const noThumb = await get(`/api/v1/video-events/${crossings.body.events[0].id}/thumbnail.jpg`);
    assert.equal(noThumb.status, 404);
    assert.match(noThumb.body.error.message, /has no thumbnail/);
    assert.equal((await get('/api/v1/video-events/999999/thumbnail.jpg')).status, 404);
    const backwards = await get(`/api/v1/video-events?since=${T + 10}&until=${T}`);
    assert.equal(backwards.status, 400);
    assert.match(backwards.body.error.message, /'since' .* is after 'until'/);
    assert.equal((await get('/api/v1/video-events?type=video.bogus')).status, 400);
    assert.equal((await get('/api/v1/video-events?since=yesterday')).status, 400);

    const cam = (await get('/api/v1/cameras?state=running')).body.cameras[0];
    assert.equal(cam.pipeline.state, 'running');
    assert.equal(cam.healthy, true);
    assert.ok(cam.lastEventAt >= T + 4000);
  });

  test('issue 5: the camera routes are in the OpenAPI document, images as image/jpeg', async () => {
    const doc = (await get('/openapi.json')).body;
    for (const path of [
      '/api/v1/cameras',
      '/api/v1/cameras/{gateway}/{device}',
      '/api/v1/cameras/{gateway}/{device}/lane-counts',
      '/api/v1/video-events',
      '/api/v1/video-events/{id}/thumbnail.jpg',
      '/api/v1/snapshots/{gateway}/{device}/{snapshotId}.jpg',
    ]) {
      assert.ok(doc.paths[path]?.get, `${path} documented`);
    }
    assert.ok(doc.paths['/api/v1/snapshots/{gateway}/{device}/{snapshotId}.jpg'].get.responses['200'].content['image/jpeg']);
    assert.ok(doc.paths['/api/v1/snapshots/{gateway}/{device}/{snapshotId}.jpg'].get.responses['504']);
  });

  test('issue 5: malformed video events are quarantined with the reason; the rest of the batch is stored', async () => {
    const t = T + 60_000;
    const ack = await gw.send([
      crossing(t, 1, 'forward'),
      { ...crossing(t + 1, 1, 'forward'), data: { ...crossing(t + 1, 1, 'forward').data, direction: 'sideways' } },
      { ts: t + 2, type: 'video.alert', device: 'cam-1', data: { alert: 'stopped-vehicle', state: 'onset' } },
      { ts: t + 3, type: 'camera.pipeline', data: { state: 'running' } },
      crossing(t + 4, 2, 'reverse'),
    ]);
    assert.equal(ack.status, 'ok');
    assert.equal(ack.rejected?.length, 3);
    const stored = await get(`/api/v1/video-events?since=${t}&until=${t + 10}`);
    assert.deepEqual(stored.body.events.map((e: any) => e.ts), [t + 4, t]);
    const quarantined = (await get(`/api/v1/rejected-events?gatewayId=gw-cam&from=${t}&to=${t + 10}`)).body.events;
    assert.deepEqual(quarantined.map((e: any) => e.type).sort(), ['camera.pipeline', 'video.alert', 'video.crossing']);
    const reasons = quarantined.map((e: any) => e.reason).join(' | ');
    assert.match(reasons, /data\.direction/);
    assert.match(reasons, /device: is required for 'camera.pipeline' events/);
  });

  test('issue 5: a full snapshot is fetched from the gateway with snapshot.get, then served from the cache (one command)', async () => {
    const full = await frameJpeg(640, 360, 120);
    gw.snapshots.set('snap-full', full);
    const before = gw.of('snapshot.get').length;
    const [first, concurrent] = await Promise.all([get('/api/v1/snapshots/gw-cam/cam-1/snap-full.jpg'), get('/api/v1/snapshots/gw-cam/cam-1/snap-full.jpg')]);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.type, 'image/jpeg');
    assert.equal(first.headers.get('x-snapshot-source'), 'gateway');
    assert.deepEqual(first.body, full);
    assert.deepEqual(concurrent.body, full);
    const meta = await sharp(first.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 640, 360]);
    const second = await get('/api/v1/snapshots/gw-cam/cam-1/snap-full.jpg');
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-snapshot-source'), 'cache');
    assert.deepEqual(second.body, full);
    assert.equal(gw.of('snapshot.get').length - before, 1, 'the gateway saw one command');
    assert.deepEqual(gw.of('snapshot.get').at(-1)!.args, { id: 'snap-full' });
    assert.equal(cloud.commands.waiting(), 0);
  });

  test('issue 5: snapshot errors: 404 SnapshotNotFound, 502 for a non-JPEG answer, 504 on timeout, 503 when the gateway is offline', async () => {
    const missing = await get('/api/v1/snapshots/gw-cam/cam-1/snap-gone.jpg');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'SnapshotNotFound');
    assert.match(missing.body.error.message, /gateway gw-cam could not give snapshot 'snap-gone' of camera gw-cam\/cam-1: SnapshotNotFound/);

    gw.snapshots.set('snap-bad', Buffer.from('x'));
    gw.snapshotMode = 'garbage';
    const garbage = await get('/api/v1/snapshots/gw-cam/cam-1/snap-bad.jpg');
    assert.equal(garbage.status, 502);
    assert.match(garbage.body.error.message, /is not a JPEG/);

    gw.snapshotMode = 'silent';
    const started = Date.now();
    const timedOut = await get('/api/v1/snapshots/gw-cam/cam-1/snap-slow.jpg');
    assert.equal(timedOut.status, 504);
    assert.equal(timedOut.body.error.message, `gateway gw-cam did not answer snapshot.get within ${COMMAND_TIMEOUT_MS} ms`);
    assert.ok(Date.now() - started >= COMMAND_TIMEOUT_MS - 20);
    gw.snapshotMode = 'answer';

    assert.equal((await get('/api/v1/snapshots/gw-cam/cam-9/snap-full.jpg')).status, 404, 'unknown camera');
    assert.equal((await get('/api/v1/snapshots/gw-cam/cam-1/bad%20id.jpg')).status, 400);

    // A second gateway that says it is offline.
    const gw2 = await FakeCameraGateway.start(cloud.mqttUrl, 'gw-cam2', gw2Password, [{ id: 'cam-1', profile: 'onvif-camera', kind: 'camera', camera: info() }]);
    try {
      gw2.snapshots.set('s1', await frameJpeg(64, 36, 10));
      await waitFor(async () => (await cloud.store.getCamera('gw-cam2', 'cam-1')) !== undefined, 'gw-cam2 camera');
      await gw2.setOnline(false);
      await waitFor(async () => (await cloud.store.getGateway('gw-cam2'))?.online === false, 'gw-cam2 offline');
      const offline = await get('/api/v1/snapshots/gw-cam2/cam-1/s1.jpg');
      assert.equal(offline.status, 503);
      assert.equal(offline.body.error.message, 'gateway gw-cam2 is offline');
      assert.equal(gw2.of('snapshot.get').length, 0, 'nothing was sent');
    } finally {
      await gw2.close();
    }
  });

  test('issue 5: lane counts: crossings per lane and direction from video.crossing events, bounded by since/until', async () => {
    const t = T + 3_600_000;
    await gw.send([crossing(t + 1, 1, 'forward'), crossing(t + 2, 1, 'forward'), crossing(t + 3, 1, 'reverse'), crossing(t + 4, 2, 'forward'), crossing(t + 5, 3, 'reverse')]);
    const counts = await get(`/api/v1/cameras/gw-cam/cam-1/lane-counts?since=${t}&until=${t + 4}`);
    assert.equal(counts.status, 200);
    assert.deepEqual(counts.body.lanes, { '1': { forward: 2, reverse: 1, total: 3 }, '2': { forward: 1, reverse: 0, total: 1 } });
    assert.equal(counts.body.total, 4);
    assert.deepEqual(counts.body.counts.map((c: any) => [c.line, c.lane, c.total]), [['lane1-line', 1, 3], ['lane2-line', 2, 1]]);
    assert.equal(counts.body.since, t);
    const iso = await get(`/api/v1/cameras/gw-cam/cam-1/lane-counts?since=${new Date(t).toISOString()}`);
    assert.equal(iso.body.total, 5);
    assert.equal((await get('/api/v1/cameras/gw-cam/loop-1/lane-counts')).status, 404);
  });

  test('issue 5: new video events and pipeline changes are pushed on the WebSocket (topics video, camera)', async () => {
    const ws = new WebSocket(`${cloud.httpUrl.replace('http', 'ws')}/api/v1/ws?topics=video,camera&token=${cloud.adminToken}`);
    const pushed: any[] = [];
    ws.on('message', (data) => pushed.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    try {
      const t = T + 7_200_000;
      const thumb = await frameJpeg(96, 54, 200);
      await gw.send([crossing(t, 1, 'forward', { id: 'snap-ws', thumbnail: thumb.toString('base64') }), pipeline(t + 1, 'stalled', 'no frame for 5 s')]);
      await waitFor(() => pushed.some((p) => p.type === 'camera'), 'camera push');
      const videos = pushed.filter((p) => p.type === 'video');
      assert.deepEqual(videos.map((p) => p.event.type), ['video.crossing', 'camera.pipeline']);
      assert.equal(videos[0].event.thumbnailUrl, `/api/v1/video-events/${videos[0].event.id}/thumbnail.jpg`);
      assert.ok(!JSON.stringify(videos[0]).includes(thumb.toString('base64').slice(0, 40)), 'no base64 on the socket');
      const camera = pushed.find((p) => p.type === 'camera').camera;
      assert.deepEqual([camera.deviceId, camera.pipeline.state, camera.pipeline.reason, camera.healthy], ['cam-1', 'stalled', 'no frame for 5 s', false]);
      assert.deepEqual((await get(videos[0].event.thumbnailUrl)).body, thumb);
    } finally {
      ws.close();
    }
  });
});
