/**
 * End to end on the edge: the camera simulator (ONVIF with WS-UsernameToken, RTSP with digest auth,
 * a road built from real vehicle photographs) -> EdgeAgent (ONVIF GetStreamUri, ffmpeg, motion gate,
 * the real FastestDet model, tracker, counting lines) -> video.crossing events in the outbox,
 * matched against the simulator's ground truth. Also: the camera's ONVIF information reaches the
 * birth without credentials, and the ONVIF adapter's errors are clear.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { GatewayEvent } from '@quanlink/contracts';
import { FASTESTDET_MODEL_PATH, startCameraSimulator } from '@quanlink/simulators';
import { ConfigFile, EdgeAgent, FASTESTDET_SHA256 } from '../../src/index.js';
import { OnvifCamera, discover } from '../../src/video/onvif.js';

const MODEL = FASTESTDET_MODEL_PATH;
const dir = mkdtempSync(join(tmpdir(), 'quanlink-camsim-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'sim-Pa55-42';
const MATCH_MS = 1500;

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

describe('camera simulator -> edge', { timeout: 90_000, skip: existsSync(MODEL) ? false : `model not found at ${MODEL}` }, () => {
  it('issue 5: the ONVIF adapter reads the simulator, and says clearly when the password is wrong or nobody answers', async () => {
    const sim = await startCameraSimulator({ seed: 3, credentials: { username: 'admin', password: PASSWORD }, discoveryPort: 0 });
    try {
      const camera = await OnvifCamera.connect({ xaddr: sim.onvifUrl, username: 'admin', password: PASSWORD });
      const info = camera.cameraInfo();
      assert.ok(info.manufacturer && info.model, JSON.stringify(info));
      assert.ok(info.profiles.length >= 1);
      const uri = await camera.streamUri();
      assert.equal(uri, sim.rtspUrl, 'the stream URI, without credentials');
      assert.ok(!JSON.stringify(info).includes(PASSWORD));
      const jpeg = await camera.snapshot();
      assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
      await assert.rejects(OnvifCamera.connect({ xaddr: sim.onvifUrl, username: 'admin', password: 'wrong' }), (err: Error) => {
        // The first operation that needs the password (the simulator guards GetCapabilities already; many cameras only GetDeviceInformation).
        assert.match(err.message, /^ONVIF NotAuthorized at http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service \((GetCapabilities|GetDeviceInformation)\): check the username and password$/);
        assert.ok(err.message.includes(sim.onvifUrl));
        return true;
      });
      const port = sim.discovery?.port;
      if (port !== undefined) {
        const found = await discover({ probe: { host: '127.0.0.1', port }, timeoutMs: 800 });
        assert.deepEqual(found.map((f) => f.xaddrs), [[sim.onvifUrl]]);
      }
    } finally {
      await sim.close();
    }
    await assert.rejects(OnvifCamera.connect({ xaddr: 'http://127.0.0.1:9/onvif/device_service', timeoutMs: 2000 }), /^OnvifError: camera unreachable: connect ECONNREFUSED 127\.0\.0\.1:9/);
  });

  it('issue 5: per-lane crossing counts from the real detector are close to the simulator\'s ground truth (precision and recall logged)', async () => {
    const sim = await startCameraSimulator({ seed: 7, credentials: { username: 'admin', password: PASSWORD }, discoveryPort: null });
    const url = new URL(sim.onvifUrl);
    const configFile = join(dir, 'edge.json');
    await ConfigFile.create(configFile, {
      gateway: { id: 'gw-sim' },
      cloud: { url: 'mqtt://127.0.0.1:9' },
      dataDir: 'data',
      devices: [
        {
          id: 'cam-1',
          profile: 'onvif-camera',
          transport: { kind: 'onvif', host: url.hostname, port: Number(url.port), username: 'admin', password: PASSWORD },
          video: {
            fps: 10,
            model: { path: MODEL, decoder: 'fastestdet', sha256: FASTESTDET_SHA256 },
            analytics: { lines: sim.lines().map((l) => ({ id: l.id, lane: l.lane, from: l.from, to: l.to })), zones: [], periodS: 10 },
          },
        },
      ],
    });
    const lines: string[] = [];
    const agent = await EdgeAgent.open(configFile, pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }));
    let runningFrom = 0;
    try {
      await agent.start();
      const cam = () => agent.status().cameras[0]!;
      await until('the pipeline running', () => cam().state === 'running', 30_000);
      runningFrom = Date.now();
      await sleep(25_000);
      const status = cam();
      const windowEnd = Date.now() - 2000;
      const events = agent.outbox.readFrom(1, 1_000_000).map((r) => JSON.parse(r.json) as GatewayEvent);
      const edge = events.filter((e): e is Extract<GatewayEvent, { type: 'video.crossing' }> => e.type === 'video.crossing' && e.data.kind === 'vehicle');
      // Truth from when the pipeline ran (plus time for a track to confirm), up to 2 s before the end.
      const truth = sim.truth().crossings.filter((c) => c.kind === 'vehicle' && c.atMs >= runningFrom + 1000 && c.atMs <= windowEnd);
      const counted = edge.filter((e) => e.ts >= runningFrom + 1000 - MATCH_MS && e.ts <= windowEnd + MATCH_MS);
      const used = new Set<number>();
      let matched = 0;
      for (const t of truth) {
        const hit = counted.findIndex((e, i) => !used.has(i) && e.data.lane === t.lane && e.data.direction === t.direction && Math.abs(e.ts - t.atMs) <= MATCH_MS);
        if (hit >= 0) {
          used.add(hit);
          matched++;
        }
      }
      const inWindow = counted.filter((e) => e.ts >= runningFrom + 1000 && e.ts <= windowEnd);
      const precision = inWindow.length === 0 ? 0 : Math.min(1, matched / inWindow.length);
      const recall = truth.length === 0 ? 0 : matched / truth.length;
      const perLane = (list: { lane?: number }[]) => list.reduce<Record<string, number>>((acc, c) => ((acc[String(c.lane)] = (acc[String(c.lane)] ?? 0) + 1), acc), {});
      const report = {
        truth: perLane(truth),
        edge: perLane(inWindow.map((e) => e.data)),
        matched,
        precision: Math.round(precision * 1000) / 1000,
        recall: Math.round(recall * 1000) / 1000,
        analysedFps: status.analysedFps,
        frames: status.frames,
        analysed: status.analysed,
        skippedByMotion: status.skippedByMotion,
        dropped: status.dropped,
        timings: status.timings,
      };
      console.log(`issue 5 crossing accuracy: ${JSON.stringify(report)}`);
      assert.ok(truth.length >= 5, `enough traffic in the window (${truth.length} crossings)`);
      assert.ok(status.camera?.manufacturer, 'ONVIF information in the status');
      // FastestDet is a small model: the bar here is what it reaches on the default scene, stated in the report.
      assert.ok(recall >= 0.7, `recall ${recall}`);
      assert.ok(precision >= 0.7, `precision ${precision}`);
      assert.ok(!lines.join('').includes(PASSWORD), 'no password in the log');
      assert.ok(!JSON.stringify(agent.status()).includes(PASSWORD), 'no password in the status');
    } finally {
      await agent.stop();
      await sim.close();
    }
  });
});
