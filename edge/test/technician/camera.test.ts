/** issue 6: the technician tools on a camera simulator: discover by WS-Discovery, bind, test (snapshot and one detector run). */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FASTESTDET_MODEL_PATH, startCameraSimulator, type CameraSimulator } from '@quanlink/simulators';
import { edge } from './helpers.js';

const PASSWORD = 'cam-Pass-6';

describe('issue 6: technician tools on a camera', { skip: existsSync(FASTESTDET_MODEL_PATH) ? false : `model not found at ${FASTESTDET_MODEL_PATH}` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-tech-camera-'));
  const config = join(dir, 'edge.json');
  let sim: CameraSimulator;

  before(async () => {
    sim = await startCameraSimulator({ seed: 6, credentials: { username: 'admin', password: PASSWORD }, discoveryPort: 0 });
    const r = await edge(['init', '--config', config, '--gateway-id', 'gw-cam', '--cloud-url', 'mqtt://127.0.0.1:1']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issue 6: discover finds the camera (WS-Discovery probe) and says how to bind it; bind tests it first', async () => {
    const r = await edge(['discover', '--onvif-probe', `127.0.0.1:${sim.discovery!.port}`, '--onvif-wait-ms', '800', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const found = JSON.parse(r.stdout) as { cameras: { xaddrs: string[]; profile: string; bind: string[] }[] };
    assert.deepEqual(found.cameras.map((c) => c.xaddrs), [[sim.onvifUrl]]);
    const onvif = new URL(sim.onvifUrl);
    assert.deepEqual(found.cameras[0]!.bind, ['--profile', 'onvif-camera', '--onvif', `127.0.0.1:${onvif.port}`]);

    const bind = await edge(['bind', '--config', config, '--id', 'cam-1', ...found.cameras[0]!.bind, '--camera-user', 'admin', '--model', FASTESTDET_MODEL_PATH], { QUANLINK_CAMERA_PASSWORD: PASSWORD });
    assert.equal(bind.status, 0, bind.stdout + bind.stderr);
    assert.match(bind.stdout, /snapshot\s+pass\s+JPEG of \d+ bytes/);
    assert.match(bind.stdout, /detect\s+pass\s+\d+ detection/);
    assert.doesNotMatch(bind.stdout + bind.stderr, new RegExp(PASSWORD));
  });

  it('issue 6: test writes the snapshot and runs the detector once; a wrong password fails naming device and operation', async () => {
    const out = join(dir, 'snap.jpg');
    const r = await edge(['test', '--config', config, '--device', 'cam-1', '--out', out, '--json']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { check: string; ok: boolean }[]; detections: unknown[] };
    assert.deepEqual(report.checks.map((c) => `${c.check}:${c.ok}`), ['connect:true', 'snapshot:true', 'detect:true']);
    assert.ok(Array.isArray(report.detections));
    assert.deepEqual([...readFileSync(out).subarray(0, 2)], [0xff, 0xd8]);

    const wrong = await edge(['test', '--id', 'cam-x', '--profile', 'onvif-camera', '--onvif', new URL(sim.onvifUrl).host, '--camera-user', 'admin'], { QUANLINK_CAMERA_PASSWORD: 'not-it' });
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout, /connect\s+FAIL\s+cam-x: ONVIF connect: ONVIF NotAuthorized at http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service/);
  });

  it('issue 6: test grabs one RTSP frame of a camera known only by its stream address', async () => {
    const out = join(dir, 'frame.jpg');
    const r = await edge(['test', '--id', 'cam-rtsp', '--profile', 'onvif-camera', '--rtsp-url', sim.rtspUrl, '--camera-user', 'admin', '--out', out], { QUANLINK_CAMERA_PASSWORD: PASSWORD });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /snapshot\s+pass\s+JPEG of \d+ bytes written to /);
    assert.deepEqual([...readFileSync(out).subarray(0, 2)], [0xff, 0xd8]);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PASSWORD));
  });
});
