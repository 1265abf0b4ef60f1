/**
 * The camera pipeline inside the agent, over real parts except the detector: the simulators' RTSP
 * server (H.264 by ffmpeg, digest auth) plays a red box moving down over a grey road; a fake
 * detector finds the red pixels. Checked: crossings with snapshots reach the outbox, snapshot.get
 * returns the JPEG, wrong credentials and a missing or tampered model are clear errors in the
 * camera's status while the rest of the gateway keeps running, and the camera password is in no
 * log line, birth, status or event.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { GatewayEvent } from '@quanlink/contracts';
import { FASTESTDET_MODEL_PATH, startLoopCardSimulator, startRtspServer, type FrameSource } from '@quanlink/simulators';
import { ConfigFile, EdgeAgent, CommandError, FASTESTDET_SHA256, type DeviceBinding } from '../../src/index.js';
import type { Detection, Detector, DetectorOptions, RgbFrame } from '../../src/video/analytics/index.js';
import { startBroker, FakeCloud } from '../signs/cloud-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-camera-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'Camera-Pa55-xyz';
const SIZE = 352;
const MODEL = FASTESTDET_MODEL_PATH;

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A 60 px red square moving down 12 px a frame over grey, starting again at the top. */
function movingBox(): FrameSource {
  let n = 0;
  return {
    width: SIZE,
    height: SIZE,
    frame() {
      const y0 = 10 + ((n++ * 12) % 280);
      const buf = Buffer.alloc(SIZE * SIZE * 3, 100);
      for (let y = y0; y < y0 + 60; y++) {
        for (let x = 150; x < 210; x++) {
          const i = (y * SIZE + x) * 3;
          buf[i] = 230;
          buf[i + 1] = 30;
          buf[i + 2] = 30;
        }
      }
      return buf;
    },
  };
}

/** Finds the red pixels' bounding box: a stand-in for the ONNX detector (the analytics helper tests that one). */
function redBoxDetector(): Detector {
  return {
    inputWidth: SIZE,
    inputHeight: SIZE,
    labels: ['car'],
    lastTimings: { preprocessMs: 0, inferenceMs: 0, decodeMs: 0 },
    async detect(frame: RgbFrame): Promise<Detection[]> {
      let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
      for (let y = 0; y < frame.height; y += 2) {
        for (let x = 0; x < frame.width; x += 2) {
          const i = (y * frame.width + x) * 3;
          if (frame.data[i]! > 170 && frame.data[i + 1]! < 100 && frame.data[i + 2]! < 100) {
            x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
          }
        }
      }
      return x2 < 0 ? [] : [{ box: [x1, y1, x2, y2], score: 0.9, classId: 2, label: 'car', kind: 'vehicle' }];
    },
    async close() {},
  };
}

function captureLogger() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }) };
}

const analytics = { lines: [{ id: 'stop-line', lane: 1, from: { x: 0.05, y: 0.5 }, to: { x: 0.95, y: 0.5 } }], zones: [], periodS: 2 };

function camera(id: string, url: string, password: string, model: Partial<{ path: string; sha256: string }> = {}): DeviceBinding {
  return {
    id,
    profile: 'onvif-camera',
    transport: { kind: 'rtsp', url, username: 'admin', password },
    video: { fps: 10, model: { path: model.path ?? 'fake.onnx', decoder: 'fastestdet', ...(model.sha256 ? { sha256: model.sha256 } : {}) }, analytics, stallTimeoutMs: 3000 },
  };
}

function events(agent: EdgeAgent): GatewayEvent[] {
  return agent.outbox.readFrom(1, 1_000_000).map((row) => JSON.parse(row.json) as GatewayEvent);
}

describe('camera pipeline in the agent', { timeout: 60_000 }, () => {
  it('issue 5: RTSP -> detector -> crossings with snapshots in the outbox; snapshot.get; wrong credentials are a clear error; no password anywhere', async () => {
    const rtsp = await startRtspServer({ source: movingBox(), fps: 10, credentials: { username: 'admin', password: PASSWORD } });
    const broker = await startBroker();
    const cloud = await FakeCloud.start(broker.url);
    const configFile = join(dir, 'cam.json');
    await ConfigFile.create(configFile, {
      gateway: { id: 'gw-cam' },
      cloud: { url: broker.url },
      dataDir: 'data-cam',
      devices: [camera('cam-1', rtsp.url, PASSWORD), camera('cam-bad', rtsp.url, 'wrong-password')],
    });
    const { lines, logger } = captureLogger();
    const agent = await EdgeAgent.open(configFile, logger, {
      cameraDefaults: { createDetector: async (_opts: DetectorOptions) => redBoxDetector(), ingest: { retry: { initialDelayMs: 2000 } } },
    });
    try {
      await agent.start();
      const cam = () => agent.status().cameras.find((c) => c.device === 'cam-1')!;
      const bad = () => agent.status().cameras.find((c) => c.device === 'cam-bad')!;
      // The link syncs the outbox and the cloud acknowledges (the outbox is pruned): events are checked where they arrived.
      const arrived = () => cloud.events.get('gw-cam') ?? [];
      await until('two crossings', () => arrived().filter((e) => e.type === 'video.crossing').length >= 2, 20_000);
      await until('the wrong password refused', () => bad().state === 'error', 10_000);

      const status = cam();
      assert.equal(status.state, 'running');
      assert.deepEqual(status.frameSize, { width: SIZE, height: SIZE });
      // The motion gate skips some frames of this small moving box; every frame is decoded.
      assert.ok(status.analysed >= 5 && status.analysedFps > 0.5, `analysed ${status.analysed} frames at ${status.analysedFps} fps`);
      assert.ok(status.analysed + status.skippedByMotion + status.dropped <= status.frames);
      assert.equal(status.health, 'ok');
      assert.equal(bad().reason, `RTSP 401 Unauthorized: wrong camera credentials (${rtsp.url})`);
      assert.equal(bad().health, 'error');
      assert.equal(bad().lastError?.code, 'RtspUnauthorized');

      const all = arrived();
      const crossings = all.filter((e): e is Extract<GatewayEvent, { type: 'video.crossing' }> => e.type === 'video.crossing' && e.device === 'cam-1');
      for (const c of crossings) {
        assert.deepEqual([c.data.line, c.data.lane, c.data.direction, c.data.kind], ['stop-line', 1, 'forward', 'vehicle']);
      }
      assert.equal(new Set(crossings.map((c) => c.data.trackId)).size, crossings.length, 'each pass of the box counted once');
      const withSnapshot = crossings.find((c) => c.data.snapshot);
      assert.ok(withSnapshot, 'a crossing carries a snapshot');
      const ref = withSnapshot.data.snapshot!;
      assert.deepEqual([ref.width, ref.height], [SIZE, SIZE]);
      assert.ok(ref.thumbnail && ref.thumbnail.length <= 32_768);
      assert.ok(Buffer.from(ref.thumbnail, 'base64').subarray(0, 2).equals(Buffer.from([0xff, 0xd8])), 'the thumbnail is a JPEG');

      const got = await agent.router.handle({ v: 1, tx: 'tx-snap-1', name: 'snapshot.get', args: { id: ref.id }, issuedAt: Date.now() });
      assert.equal(got.contentType, 'image/jpeg');
      const jpeg = Buffer.from(got.base64 as string, 'base64');
      assert.equal(jpeg.length, ref.bytes);
      assert.ok(jpeg.subarray(0, 2).equals(Buffer.from([0xff, 0xd8])));
      await assert.rejects(
        agent.router.handle({ v: 1, tx: 'tx-snap-2', name: 'snapshot.get', args: { id: 'no-such-snapshot' }, issuedAt: Date.now() }),
        (err: unknown) => err instanceof CommandError && err.code === 'SnapshotNotFound' && /no snapshot 'no-such-snapshot' on gateway gw-cam/.test(err.message),
      );
      await assert.rejects(
        agent.router.handle({ v: 1, tx: 'tx-snap-3', name: 'snapshot.get', args: { id: '../../etc/passwd' }, issuedAt: Date.now() }),
        (err: unknown) => err instanceof CommandError && err.code === 'InvalidCommand',
      );

      // camera.pipeline: starting then running for the good camera; the 401 for the other.
      const pipeline = all.filter((e) => e.type === 'camera.pipeline');
      assert.deepEqual(pipeline.filter((e) => e.device === 'cam-1').slice(0, 2).map((e) => e.data.state), ['starting', 'running']);
      assert.ok(pipeline.some((e) => e.device === 'cam-bad' && e.data.state === 'error' && /401 Unauthorized/.test(e.data.reason ?? '')));

      await until('the birth', () => (cloud.births.get('gw-cam')?.length ?? 0) >= 1, 5000);
      const birth = cloud.births.get('gw-cam')!.at(-1)!;
      assert.deepEqual(birth.devices.map((d) => [d.id, d.kind, d.endpoint]), [
        ['cam-1', 'camera', rtsp.url],
        ['cam-bad', 'camera', rtsp.url],
      ]);
      await sleep(300);
      const everything = [lines.join(''), JSON.stringify(cloud.births.get('gw-cam')), JSON.stringify(agent.status()), JSON.stringify(arrived())].join('\n');
      assert.ok(!everything.includes(PASSWORD), 'the camera password is in no log, birth, status or event');
      assert.ok(!everything.includes('wrong-password'));
    } finally {
      await agent.stop();
      await cloud.stop();
      await broker.close();
      await rtsp.close();
    }
  });

  it('issue 5: a missing model or a wrong sha256 is the camera\'s error state, and the loop detector next to it keeps being polled', async () => {
    const card = await startLoopCardSimulator({ seed: 5 });
    const configFile = join(dir, 'model.json');
    await ConfigFile.create(configFile, {
      gateway: { id: 'gw-model' },
      cloud: { url: 'mqtt://127.0.0.1:9' },
      dataDir: 'data-model',
      devices: [
        { id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: card.host, port: card.port }, pollIntervalMs: 200 },
        camera('cam-nomodel', 'rtsp://127.0.0.1:9/none', PASSWORD, { path: join(dir, 'missing.onnx') }),
        camera('cam-badsum', 'rtsp://127.0.0.1:9/none', PASSWORD, { path: MODEL, sha256: '0'.repeat(64) }),
      ],
    });
    const agent = await EdgeAgent.open(configFile, pino({ level: 'silent' }));
    try {
      await agent.start();
      const cam = (id: string) => agent.status().cameras.find((c) => c.device === id)!;
      await until('both cameras in error', () => cam('cam-nomodel').state === 'error' && cam('cam-badsum').state === 'error', 10_000);
      assert.match(cam('cam-nomodel').reason!, /^ModelMissing: model file missing: .*missing\.onnx$/);
      assert.equal(cam('cam-badsum').reason, `ModelChecksum: sha256 of ${MODEL} is ${FASTESTDET_SHA256}, expected ${'0'.repeat(64)}`);
      const before = agent.status().devices[0]!.polls;
      await sleep(800);
      const loop = agent.status().devices[0]!;
      assert.equal(loop.health, 'ok');
      assert.ok(loop.polls >= before + 2, 'the loop detector is still polled');
      const states = events(agent).filter((e) => e.type === 'camera.pipeline').map((e) => [e.device, e.data.state]);
      assert.deepEqual(states.filter(([d]) => d === 'cam-nomodel'), [['cam-nomodel', 'starting'], ['cam-nomodel', 'error']]);
      assert.equal(agent.status().skipped.length, 0);
    } finally {
      await agent.stop();
      await card.close();
    }
  });

  it('issue 5: a camera binding without a video section is skipped with the reason; the agent starts', async () => {
    const configFile = join(dir, 'novideo.json');
    const binding = camera('cam-novideo', 'rtsp://127.0.0.1:9/x', PASSWORD);
    delete binding.video;
    await ConfigFile.create(configFile, { gateway: { id: 'gw-nv' }, cloud: { url: 'mqtt://127.0.0.1:9' }, dataDir: 'data-nv', devices: [binding] });
    const agent = await EdgeAgent.open(configFile, pino({ level: 'silent' }));
    try {
      await agent.start();
      assert.deepEqual(agent.status().skipped, [{ device: 'cam-novideo', reason: 'camera cam-novideo: no video section in its binding (model and analytics are needed)' }]);
    } finally {
      await agent.stop();
    }
  });
});
