/**
 * The camera part of the CloudStore conformance suite (run by storeConformance): camera info from
 * births (never with credentials), video events with their thumbnails, pipeline state, crossing
 * counts, the snapshot cache, and a camera's traffic.period feeding a road segment like a loop's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import type { BirthDevice, CameraInfo, GatewayBirth, GatewayEvent, NewEvent } from '@quanlink/contracts';
import type { CloudStore, IngestResult, RejectedEventInput } from '../../src/store/types.js';
import type { StoreFactory } from './conformance.js';

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const STREAM = 'stream-camera-0001';
const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const AT = T0 + 3_600_000;

let jpegCache: Buffer | undefined;
/** A real (small) JPEG, made once. */
async function smallJpeg(): Promise<Buffer> {
  jpegCache ??= await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg({ quality: 60 }).toBuffer();
  return jpegCache;
}

export const CAMERA_INFO: CameraInfo = {
  manufacturer: 'Quanlink',
  model: 'QC-100',
  firmware: '1.2.3',
  serial: 'SN-0001',
  profiles: [
    { token: 'main', name: 'Main', encoding: 'H264', width: 1280, height: 720, streamUri: 'rtsp://10.0.0.9:554/main' },
    { token: 'sub', name: 'Sub', encoding: 'H264', width: 640, height: 360, streamUri: 'rtsp://10.0.0.9:554/sub' },
  ],
  activeProfile: 'sub',
};

function birth(devices: BirthDevice[]): GatewayBirth {
  return { v: 1, ts: T0, agentVersion: '0.5.0', startedAt: T0 - 1000, stream: STREAM, devices };
}

function crossing(device: string, ts: number, lane: number | undefined, direction: 'forward' | 'reverse', line = 'line-a', thumbnail?: string): NewEvent {
  return {
    ts,
    type: 'video.crossing',
    device,
    data: {
      line,
      ...(lane !== undefined && { lane }),
      direction,
      trackId: ts % 1000,
      kind: 'vehicle',
      label: 'car',
      score: 0.9,
      box: [10, 10, 50, 40],
      ...(thumbnail !== undefined && { snapshot: { id: `snap-${ts}`, width: 640, height: 360, bytes: 20_000, thumbnail } }),
    },
  };
}

function pipeline(device: string, ts: number, state: 'running' | 'stalled' | 'error', reason?: string): NewEvent {
  return { ts, type: 'camera.pipeline', device, data: { state, ...(reason && { reason }), analysedFps: 8, restarts: 1 } };
}

class Feeder {
  private nextSeq = 1;
  constructor(
    private readonly store: CloudStore,
    private readonly gatewayId: string,
  ) {}

  number(events: NewEvent[]): GatewayEvent[] {
    return events.map((event) => ({ ...event, seq: this.nextSeq++ }) as GatewayEvent);
  }

  send(...events: NewEvent[]): Promise<IngestResult> {
    return this.sendNumbered(this.number(events));
  }

  sendNumbered(batch: GatewayEvent[], rejected: RejectedEventInput[] = []): Promise<IngestResult> {
    const seqs = [...batch.map((e) => e.seq), ...rejected.map((e) => e.seq)];
    return this.store.ingestBatch(this.gatewayId, { stream: STREAM, first: Math.min(...seqs), last: Math.max(...seqs) }, batch, rejected, AT);
  }
}

export function cameraConformance(name: string, factory: StoreFactory): void {
  function withStore(title: string, body: (store: CloudStore) => Promise<void>): void {
    test(title, async () => {
      const store = await factory();
      try {
        await store.addGateway({ id: 'gw-a', passwordHash: HASH, createdAt: T0 });
        await store.addGateway({ id: 'gw-b', passwordHash: HASH, createdAt: T0 });
        await body(store);
      } finally {
        await store.close();
      }
    });
  }

  describe(`CloudStore camera conformance: ${name}`, () => {
    withStore('issue 5: a birth registers cameras with make, model, firmware and profiles; other devices are not cameras', async (store) => {
      await store.applyBirth(
        'gw-a',
        birth([
          { id: 'cam-1', profile: 'onvif-camera', kind: 'camera', name: 'North gate', endpoint: 'http://10.0.0.9/onvif/device_service', camera: CAMERA_INFO },
          { id: 'loop-1', profile: 'quanlink-lc8', kind: 'loop-detector' },
        ]),
        T0,
      );
      const cameras = await store.listCameras();
      assert.equal(cameras.length, 1);
      const cam = cameras[0]!;
      assert.equal(cam.deviceId, 'cam-1');
      assert.equal(cam.kind, 'camera');
      assert.deepEqual(cam.camera, CAMERA_INFO);
      assert.equal(cam.pipeline, null);
      assert.equal(cam.lastEventAt, null);
      assert.equal(cam.gatewayOnline, false);
      assert.equal(cam.healthy, false, 'no pipeline state and gateway offline');
      assert.deepEqual(await store.getCamera('gw-a', 'cam-1'), cam);
      assert.equal(await store.getCamera('gw-a', 'loop-1'), undefined, 'a loop detector is not a camera');
      assert.deepEqual(await store.listCameras({ gatewayId: 'gw-b' }), []);

      // A later birth without camera info (ONVIF did not answer at start-up) keeps the known info.
      await store.applyBirth('gw-a', birth([{ id: 'cam-1', profile: 'onvif-camera', kind: 'camera' }]), T0 + 10);
      assert.deepEqual((await store.getCamera('gw-a', 'cam-1'))?.camera, CAMERA_INFO);
    });

    withStore('issue 5: credentials in a stream URI or endpoint never reach the store (stripped, the rest kept)', async (store) => {
      const leaky = structuredClone(CAMERA_INFO);
      leaky.profiles[0]!.streamUri = 'rtsp://admin:s3cret@10.0.0.9:554/main';
      leaky.profiles[1]!.streamUri = 'RTSP://admin:s3cret@10.0.0.9:554/sub?channel=1&password=s3cret&user=admin';
      await store.applyBirth(
        'gw-a',
        birth([{ id: 'cam-1', profile: 'onvif-camera', kind: 'camera', endpoint: 'http://admin:s3cret@10.0.0.9/onvif/device_service', camera: leaky }]),
        T0,
      );
      const cam = (await store.getCamera('gw-a', 'cam-1'))!;
      assert.equal(cam.camera?.profiles[0]?.streamUri, 'rtsp://10.0.0.9:554/main');
      assert.equal(cam.camera?.profiles[1]?.streamUri, 'RTSP://10.0.0.9:554/sub?channel=1');
      assert.equal(cam.endpoint, 'http://10.0.0.9/onvif/device_service');
      assert.ok(!JSON.stringify(await store.listCameras()).includes('s3cret'));
      assert.ok(!JSON.stringify(await store.listDevices()).includes('s3cret'));
      assert.equal(leaky.profiles[0]!.streamUri, 'rtsp://admin:s3cret@10.0.0.9:554/main', "the caller's birth is not modified");
    });

    withStore('issue 5: video events are stored once, queryable by camera, type and time, newest first; thumbnails kept as JPEG bytes', async (store) => {
      const jpeg = await smallJpeg();
      const feed = new Feeder(store, 'gw-a');
      const batch = feed.number([
        crossing('cam-1', T0 + 1000, 1, 'forward', 'line-a', jpeg.toString('base64')),
        crossing('cam-1', T0 + 2000, 2, 'reverse'),
        { ts: T0 + 3000, type: 'video.alert', device: 'cam-1', data: { alert: 'stopped-vehicle', state: 'onset', where: 'zone-1', since: T0 + 2500, detail: 'vehicle stopped 30 s in zone-1' } },
        { ts: T0 + 4000, type: 'video.zone', device: 'cam-2', data: { zone: 'zone-1', periodStart: T0, periodS: 60, occupancy: 12.5, meanObjects: 0.4, maxObjects: 2, maxQueueVehicles: 1 } },
        pipeline('cam-1', T0 + 5000, 'running'),
      ]);
      const first = await feed.sendNumbered(batch);
      assert.equal(first.inserted, 5);
      assert.equal(first.videoEvents?.length, 5, 'the batch reports the video events it stored');
      assert.deepEqual(first.pipelineChanges?.map((p) => [p.deviceId, p.state]), [['cam-1', 'running']]);
      const again = await feed.sendNumbered(batch);
      assert.equal(again.duplicates, 5);
      assert.equal(again.videoEvents, undefined, 'a resent batch stores nothing twice');

      const all = await store.videoEvents();
      assert.deepEqual(all.map((e) => e.type), ['camera.pipeline', 'video.zone', 'video.alert', 'video.crossing', 'video.crossing']);
      assert.deepEqual((await store.videoEvents({ deviceId: 'cam-1', type: 'video.crossing' })).map((e) => e.ts), [T0 + 2000, T0 + 1000]);
      assert.deepEqual((await store.videoEvents({ from: T0 + 2000, to: T0 + 3000 })).map((e) => e.ts), [T0 + 3000, T0 + 2000], 'inclusive');
      assert.deepEqual((await store.videoEvents({ gatewayId: 'gw-b' })), []);
      assert.equal((await store.videoEvents({ limit: 2 })).length, 2);

      const withThumb = all.find((e) => e.snapshotId !== null)!;
      assert.equal(withThumb.snapshotId, `snap-${T0 + 1000}`);
      assert.equal(withThumb.thumbnailBytes, jpeg.length);
      assert.equal(withThumb.thumbnailProblem, null);
      assert.equal((withThumb.data.snapshot as Record<string, unknown>).thumbnail, undefined, 'no base64 in the stored data');
      assert.deepEqual(await store.videoThumbnail(withThumb.id), jpeg);
      assert.deepEqual(await store.videoEvent(withThumb.id), withThumb);
      assert.equal(await store.videoEvent(999_999), undefined);
      const inline = await store.videoEvents({ type: 'video.crossing', includeThumbnails: true });
      assert.deepEqual(inline.find((e) => e.id === withThumb.id)?.thumbnail, jpeg);
      // The generic event log has the event too, without the base64.
      const logged = await store.events({ type: 'video.crossing' });
      assert.equal(logged.length, 2);
      assert.ok(!JSON.stringify(logged).includes(jpeg.toString('base64').slice(0, 40)));

      const cam = (await store.getCamera('gw-a', 'cam-1'))!;
      assert.equal(cam.lastEventAt, T0 + 5000);
      assert.equal(cam.pipeline?.state, 'running');
      assert.equal(cam.kind, null, 'heard of only through its events');
      assert.ok(await store.getCamera('gw-a', 'cam-2'), 'a device reporting video events is a camera');
    });

    withStore('issue 5: a thumbnail that is not a JPEG (or not base64) is dropped with the reason; the event is kept', async (store) => {
      const feed = new Feeder(store, 'gw-a');
      const notJpeg = Buffer.from('GIF89a not a jpeg at all').toString('base64');
      await feed.send(crossing('cam-1', T0 + 1000, 1, 'forward', 'line-a', notJpeg), crossing('cam-1', T0 + 2000, 1, 'forward', 'line-a', '***not base64***'));
      const [second, first] = await store.videoEvents();
      assert.match(first!.thumbnailProblem ?? '', /thumbnail of snapshot 'snap-\d+' is not a JPEG/);
      assert.match(second!.thumbnailProblem ?? '', /is not valid base64/);
      assert.equal(first!.thumbnailBytes, null);
      assert.equal(await store.videoThumbnail(first!.id), undefined);
      assert.equal((await store.crossingCounts('gw-a', 'cam-1'))[0]?.total, 2, 'the crossings still count');
    });

    withStore('issue 5: pipeline state: a newer report wins, an older one (edge clock) is ignored; filter by state; health', async (store) => {
      await store.applyBirth('gw-a', birth([{ id: 'cam-1', profile: 'onvif-camera', kind: 'camera', camera: CAMERA_INFO }, { id: 'cam-2', profile: 'onvif-camera', kind: 'camera' }]), T0);
      await store.setGatewayStatus('gw-a', { v: 1, state: 'online', ts: T0 }, T0);
      const feed = new Feeder(store, 'gw-a');
      await feed.send(pipeline('cam-1', T0 + 2000, 'error', 'RTSP 401 Unauthorized'), pipeline('cam-2', T0 + 2000, 'running'));
      const stale = await feed.send(pipeline('cam-1', T0 + 1000, 'running'));
      assert.equal(stale.pipelineChanges, undefined, 'older than what is stored');
      const cam1 = (await store.getCamera('gw-a', 'cam-1'))!;
      assert.deepEqual(cam1.pipeline, { state: 'error', reason: 'RTSP 401 Unauthorized', analysedFps: 8, restarts: 1, since: T0 + 2000 });
      assert.equal(cam1.healthy, false);
      assert.equal((await store.getCamera('gw-a', 'cam-2'))!.healthy, true);
      assert.deepEqual((await store.listCameras({ pipelineState: 'error' })).map((c) => c.deviceId), ['cam-1']);
      assert.deepEqual((await store.listCameras({ pipelineState: 'running' })).map((c) => c.deviceId), ['cam-2']);
      await feed.send(pipeline('cam-1', T0 + 3000, 'running'));
      assert.equal((await store.getCamera('gw-a', 'cam-1'))!.healthy, true);
      await store.setGatewayStatus('gw-a', { v: 1, state: 'offline', ts: T0 }, T0 + 4000);
      assert.equal((await store.getCamera('gw-a', 'cam-1'))!.healthy, false, 'its gateway is offline');
    });

    withStore('issue 5: crossing counts per line, lane and direction, bounded by time', async (store) => {
      const feed = new Feeder(store, 'gw-a');
      await feed.send(
        crossing('cam-1', T0 + 1, 1, 'forward'),
        crossing('cam-1', T0 + 2, 1, 'forward'),
        crossing('cam-1', T0 + 3, 1, 'reverse'),
        crossing('cam-1', T0 + 4, 2, 'forward'),
        crossing('cam-1', T0 + 5, undefined, 'reverse', 'line-ped'),
        crossing('cam-2', T0 + 6, 1, 'forward'),
      );
      assert.deepEqual(await store.crossingCounts('gw-a', 'cam-1'), [
        { line: 'line-a', lane: 1, forward: 2, reverse: 1, total: 3 },
        { line: 'line-a', lane: 2, forward: 1, reverse: 0, total: 1 },
        { line: 'line-ped', lane: null, forward: 0, reverse: 1, total: 1 },
      ]);
      assert.deepEqual(await store.crossingCounts('gw-a', 'cam-1', { from: T0 + 2, to: T0 + 3 }), [{ line: 'line-a', lane: 1, forward: 1, reverse: 1, total: 2 }]);
      assert.deepEqual(await store.crossingCounts('gw-b', 'cam-1'), []);
    });

    withStore('issue 5: the snapshot cache keeps full snapshots within its byte budget, evicting the oldest', async (store) => {
      const jpeg = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(n - 5, n % 251), Buffer.from([0xff, 0xd9])]);
      const put = (id: string, bytes: number, fetchedAt: number) =>
        store.cacheSnapshot({ gatewayId: 'gw-a', deviceId: 'cam-1', snapshotId: id, jpeg: jpeg(bytes), fetchedAt }, 1000);
      assert.deepEqual(await put('s1', 400, T0 + 1), { stored: true, evicted: 0 });
      assert.deepEqual(await put('s2', 400, T0 + 2), { stored: true, evicted: 0 });
      assert.deepEqual(await store.cachedSnapshot('gw-a', 'cam-1', 's1'), jpeg(400));
      assert.deepEqual(await put('s3', 400, T0 + 3), { stored: true, evicted: 1 }, '1200 > 1000: the oldest goes');
      assert.equal(await store.cachedSnapshot('gw-a', 'cam-1', 's1'), undefined);
      assert.ok(await store.cachedSnapshot('gw-a', 'cam-1', 's2'));
      assert.deepEqual(await put('big', 1001, T0 + 4), { stored: false, evicted: 0 }, 'larger than the whole cache');
      assert.ok(await store.cachedSnapshot('gw-a', 'cam-1', 's3'), 'a refused one evicts nothing');
      assert.deepEqual(await put('s4', 900, T0 + 5), { stored: true, evicted: 2 });
      assert.equal(await store.cachedSnapshot('gw-a', 'cam-2', 's4'), undefined, 'keyed by camera too');
    });

    withStore("issue 5: a camera's traffic.period feeds a road segment like a loop detector's (per-lane volumes, grade)", async (store) => {
      await store.applyBirth('gw-a', birth([{ id: 'cam-1', profile: 'onvif-camera', kind: 'camera', camera: CAMERA_INFO }, { id: 'loop-1', profile: 'quanlink-lc8', kind: 'loop-detector' }]), T0);
      const lanes = [
        { gatewayId: 'gw-a', deviceId: 'cam-1', lane: 1 },
        { gatewayId: 'gw-a', deviceId: 'cam-1', lane: 2 },
        { gatewayId: 'gw-a', deviceId: 'loop-1', lane: 1 },
      ];
      await store.putSegment({ id: 'seg-cam', name: 'Camera road', roadClass: 'arterial', lanes }, T0);
      const feed = new Feeder(store, 'gw-a');
      const camPeriod = (periodStart: number, v1: number, v2: number, speed?: number): NewEvent => ({
        ts: periodStart + 60_000,
        type: 'traffic.period',
        device: 'cam-1',
        data: {
          periodStart,
          periodS: 60,
          completeness: 100,
          lanes: {
            '1': { volume: v1, flow: v1 * 60, ...(speed !== undefined && { speed }), speedSource: speed === undefined ? 'none' : 'estimated' },
            '2': { volume: v2, flow: v2 * 60, ...(speed !== undefined && { speed }), speedSource: speed === undefined ? 'none' : 'estimated' },
          },
        },
      });
      await feed.send(camPeriod(T0, 10, 5, 55));
      const result = await feed.send(camPeriod(T0 + 60_000, 12, 8, 18));
      assert.deepEqual((await store.lanePeriods('gw-a', 'cam-1', { to: T0 })).map((p) => [p.lane, p.volume]), [[1, 10], [2, 5]]);
      const [latest, earliest] = await store.segmentHistory('seg-cam');
      assert.equal(earliest?.volume, 15);
      assert.equal(earliest?.grade, 1, '55 km/h on an arterial: free flow');
      assert.equal(earliest?.lanesReporting, 2);
      assert.equal(earliest?.lanesTotal, 3);
      assert.equal(latest?.volume, 20);
      assert.equal(latest?.grade, 4, '18 km/h on an arterial: moderate congestion');
      assert.deepEqual(result.gradeChanges?.map((c) => [c.segmentId, c.fromGrade, c.toGrade]), [['seg-cam', 1, 4]]);
      assert.ok((await store.detectorHealth()).some((d) => d.deviceId === 'cam-1' && d.lastPeriodStart === T0 + 60_000), 'the camera is a detector');
    });
  });
}
