/**
 * Cameras end to end (issue 5): the camera simulator (ONVIF + RTSP, a road of real vehicle crops,
 * ground truth) in this process, the edge (ffmpeg, FastestDet, tracker, counting lines) and the
 * cloud as processes. Counts are checked against the simulator's truth through the cloud's API.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FASTESTDET_MODEL_PATH, startCameraSimulator, type CameraSimulator } from '@quanlink/simulators';
import { CloudProcess, EdgeProcess, tempDir, waitUntil } from '../src/index.js';
import type { DeviceBinding } from '@quanlink/edge';

const PASSWORD = 'e2e-cam-Pa55';
const SHA256 = '31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880';
const MATCH_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Camera { deviceId: string; camera: { manufacturer?: string; model?: string; profiles: { streamUri?: string }[] } | null; pipeline: { state: string; reason: string | null } | null }
interface VideoEvent { ts: number; type: string; data: { lane?: number; direction?: string; alert?: string; state?: string }; thumbnailUrl: string | null; snapshotUrl: string | null }

function cameraBinding(sim: CameraSimulator, zones: object[] = []): DeviceBinding {
  const url = new URL(sim.onvifUrl);
  return {
    id: 'cam-1',
    profile: 'onvif-camera',
    transport: { kind: 'onvif', host: url.hostname, port: Number(url.port), username: 'admin', password: PASSWORD },
    video: {
      fps: 10,
      model: { path: FASTESTDET_MODEL_PATH, decoder: 'fastestdet', sha256: SHA256 },
      analytics: { lines: sim.lines().map((l) => ({ id: l.id, lane: l.lane, from: l.from, to: l.to })), zones, periodS: 10 },
      stallTimeoutMs: 3000,
    },
  } as DeviceBinding;
}

async function chain(prefix: string, sim: CameraSimulator, zones: object[] = []) {
  const dir = tempDir(prefix);
  const gateway = `gw-${prefix}-${process.pid}`;
  const cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud` }).start();
  mkdirSync(`${dir.path}/edge`);
  const edge = new EdgeProcess({ dir: `${dir.path}/edge`, gatewayId: gateway, cloudUrl: cloud.mqttUrl, password: await cloud.addGateway(gateway), devices: [cameraBinding(sim, zones)], logFile: `${dir.path}/edge.log` });
  await edge.writeConfig();
  await edge.start();
  const camera = async () => (await cloud.api<{ cameras: Camera[] }>(`/api/v1/cameras?gateway=${gateway}`)).cameras[0];
  const events = async (type: string) => (await cloud.api<{ events: VideoEvent[] }>(`/api/v1/video-events?gateway=${gateway}&type=${type}&limit=1000`)).events;
  const stop = async () => {
    await edge.stop();
    await cloud.stop();
    dir.remove();
  };
  return { cloud, edge, gateway, camera, events, stop };
}

describe('cameras: simulator -> edge -> cloud', { timeout: 240_000, skip: existsSync(FASTESTDET_MODEL_PATH) ? false : `model not found at ${FASTESTDET_MODEL_PATH}` }, () => {
  it('issue 5: per-lane counts in the cloud match the ground truth; registry, thumbnails and snapshots; a stalled stream recovers', async (t) => {
    const sim = await startCameraSimulator({ seed: 11, flowVph: 1100, credentials: { username: 'admin', password: PASSWORD }, discoveryPort: null });
    const c = await chain('cam', sim);
    try {
      const running = await waitUntil('the pipeline running', c.camera, (cam) => cam?.pipeline?.state === 'running', { timeoutMs: 40_000 });
      const registered = running!.camera!;
      assert.ok(registered.manufacturer && registered.model, JSON.stringify(registered));
      assert.ok(registered.profiles.every((p) => p.streamUri === undefined || !p.streamUri.includes('@')), 'stream URIs without credentials');
      assert.ok(!JSON.stringify(running).includes(PASSWORD));
      const from = Date.now() + 2000;
      await sleep(32_000);
      const to = Date.now() - 3000;

      // Crossings counted by the edge (as stored in the cloud) against the simulator's truth, one to one.
      const counted = (await c.events('video.crossing')).filter((e) => e.ts >= from - MATCH_MS && e.ts <= to + MATCH_MS);
      const truth = sim.truth().crossings.filter((x) => x.kind === 'vehicle' && x.atMs >= from && x.atMs <= to);
      const used = new Set<number>();
      let matched = 0;
      for (const x of truth) {
        const i = counted.findIndex((e, j) => !used.has(j) && e.data.lane === x.lane && e.data.direction === x.direction && Math.abs(e.ts - x.atMs) <= MATCH_MS);
        if (i >= 0) {
          used.add(i);
          matched++;
        }
      }
      const inWindow = counted.filter((e) => e.ts >= from && e.ts <= to).length;
      const precision = inWindow === 0 ? 0 : Math.min(1, matched / inWindow);
      const recall = truth.length === 0 ? 0 : matched / truth.length;
      const perLane = [1, 2, 3].map((lane) => `lane ${lane}: counted ${counted.filter((e) => e.ts >= from && e.ts <= to && e.data.lane === lane).length} truth ${truth.filter((x) => x.lane === lane).length}`);
      t.diagnostic(`crossings: truth ${truth.length}, counted ${inWindow}, matched ${matched}, precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}; ${perLane.join('; ')}`);
      assert.ok(truth.length >= 12, `enough traffic to judge: ${truth.length}`);
      assert.ok(recall >= 0.85, `recall ${recall.toFixed(3)} (${perLane.join('; ')})`);
      assert.ok(precision >= 0.8, `precision ${precision.toFixed(3)} (${perLane.join('; ')})`);
      const { lanes } = await c.cloud.api<{ lanes: Record<string, { total: number }> }>(`/api/v1/cameras/${c.gateway}/cam-1/lane-counts`);
      assert.ok(Object.keys(lanes).length >= 2, `lane counts per lane: ${JSON.stringify(lanes)}`);

      // The thumbnail travels with the event; the full snapshot comes from the gateway on request.
      const withSnapshot = counted.find((e) => e.thumbnailUrl && e.snapshotUrl)!;
      assert.ok(withSnapshot, 'a crossing with a snapshot');
      for (const url of [withSnapshot.thumbnailUrl!, withSnapshot.snapshotUrl!]) {
        const res = await fetch(new URL(url, c.cloud.httpUrl));
        assert.equal(res.status, 200, url);
        assert.deepEqual([...new Uint8Array(await res.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8], `${url} is a JPEG`);
      }

      // A stalled stream: the watchdog notices and the pipeline runs again once frames flow.
      sim.setFault({ stall: true });
      await waitUntil('the pipeline notices the stall', c.camera, (cam) => cam?.pipeline?.state !== 'running', { timeoutMs: 20_000 });
      await sleep(3000);
      const resumedAt = Date.now();
      sim.setFault({ stall: false });
      await waitUntil('running again after the stall', c.camera, (cam) => cam?.pipeline?.state === 'running', { timeoutMs: 30_000 });
      t.diagnostic(`recovered ${Date.now() - resumedAt} ms after the stream resumed`);
    } finally {
      await c.stop();
      await sim.close();
    }
  });

  it('issue 5: a pedestrian in the restricted zone raises an alert in the cloud (wrong-way: see the note, not yet reliable end to end)', async (t) => {
    const sim = await startCameraSimulator({
      seed: 5,
      credentials: { username: 'admin', password: PASSWORD },
      discoveryPort: null,
      scenario: [
        // Late enough that the edge's pipeline (ONVIF, model, RTSP) is running.
        { kind: 'wrong-way', lane: 1, atS: 15 },
        { kind: 'pedestrian', atS: 17, dwellS: 8 },
      ],
    });
    // A zone over lane 1 with its driving direction, and the simulator's restricted verge.
    const lane1 = sim.lines().find((l) => l.lane === 1)!;
    // Lane 1 is the leftmost; the zone reaches the left edge, since the lane widens towards the camera.
    const [x1, x2] = [0, Math.max(lane1.from.x, lane1.to.x)];
    const zones = [
      {
        id: 'lane-1-zone',
        polygon: [{ x: x1, y: 0.25 }, { x: x2, y: 0.25 }, { x: x2, y: 0.98 }, { x: x1, y: 0.98 }],
        purpose: ['wrong-way'],
        direction: { from: { x: (x1 + x2) / 2, y: 0.3 }, to: { x: (x1 + x2) / 2 + lane1.forward.x * 0.5, y: 0.3 + lane1.forward.y * 0.5 } },
      },
      ...sim.zones().filter((z) => z.kind === 'restricted').map((z) => ({ id: z.id, polygon: z.polygon, purpose: ['restricted'], kinds: ['person'] })),
    ];
    const c = await chain('alerts', sim, zones);
    try {
      const alerts = await waitUntil(
        'the restricted-zone alert',
        () => c.events('video.alert'),
        (list) => list.some((e) => e.data.alert === 'restricted-zone' && e.data.state === 'onset'),
        { timeoutMs: 45_000 },
      ).catch(async (err: Error) => {
        const crossings = (await c.events('video.crossing')).map((e) => `${e.data.lane}:${e.data.direction}@${e.ts}`);
        throw new Error(`${err.message}\ntruth: ${JSON.stringify(sim.truth().events)}\ncrossings: ${crossings.join(' ')}`);
      });
      t.diagnostic(`alerts: ${alerts.map((e) => `${e.data.alert}:${e.data.state}`).join(' ')}; truth events: ${sim.truth().events.map((e) => `${e.kind}:${e.state}`).join(' ')}`);
    } finally {
      await c.stop();
      await sim.close();
    }
  });
});
