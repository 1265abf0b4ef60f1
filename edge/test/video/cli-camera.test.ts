/** The CLI's camera commands: device add for ONVIF and RTSP cameras (password only from the environment), and discovery. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'quanlink-cli-camera-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', env: { ...process.env, QUANLINK_CAMERA_PASSWORD: '', ...env } });
}

/** Without blocking this process (the test's UDP responder must answer meanwhile). */
function runAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('quanlink-edge camera commands', { timeout: 60_000 }, () => {
  const config = join(dir, 'edge.json');
  const lines = join(dir, 'lines.json');

  it('issue 5: device add binds an ONVIF camera and an RTSP camera; the password comes from the environment only', () => {
    assert.equal(run(['init', '--config', config, '--gateway-id', 'gw-cli', '--cloud-url', 'mqtt://127.0.0.1:1883']).status, 0);
    writeFileSync(lines, JSON.stringify({ lines: [{ id: 'l1', lane: 1, from: { x: 0, y: 0.5 }, to: { x: 1, y: 0.5 } }], zones: [], periodS: 30 }));
    const onvif = run(['device', 'add', '--config', config, '--id', 'cam-1', '--profile', 'onvif-camera', '--onvif', '10.0.0.9:8080', '--camera-user', 'admin', '--model', '/opt/models/FastestDet.onnx', '--lines', lines], { QUANLINK_CAMERA_PASSWORD: 'pw-from-env' });
    assert.equal(onvif.status, 0, onvif.stderr);
    assert.ok(!onvif.stdout.includes('pw-from-env'));
    const rtsp = run(['device', 'add', '--config', config, '--id', 'cam-2', '--profile', 'onvif-camera', '--rtsp-url', 'rtsp://10.0.0.10:554/live', '--model', '/opt/models/x.onnx', '--decoder', 'yolov8', '--fps', '5']);
    assert.equal(rtsp.status, 0, rtsp.stderr);
    const saved = JSON.parse(readFileSync(config, 'utf8'));
    assert.deepEqual(saved.devices[0].transport, { kind: 'onvif', host: '10.0.0.9', port: 8080, username: 'admin', password: 'pw-from-env' });
    assert.deepEqual(saved.devices[0].video.model, { path: '/opt/models/FastestDet.onnx', decoder: 'fastestdet' });
    assert.equal(saved.devices[0].video.analytics.periodS, 30);
    assert.deepEqual(saved.devices[1].transport, { kind: 'rtsp', url: 'rtsp://10.0.0.10:554/live' });
    assert.deepEqual([saved.devices[1].video.model.decoder, saved.devices[1].video.fps], ['yolov8', 5]);
    assert.equal(statSync(config).mode & 0o777, 0o600, 'the file with the password is owner-only');
  });

  it('issue 5: device add refuses credentials in the URL, a password flag, a missing model and bad lines (exit 2)', () => {
    const cases: [string[], RegExp][] = [
      [['--rtsp-url', 'rtsp://admin:pw@10.0.0.10/live', '--model', 'm.onnx'], /must not carry a user or password/],
      [['--rtsp-url', 'rtsp://10.0.0.10/live', '--model', 'm.onnx', '--password', 'x'], /Unknown option '--password'/],
      [['--onvif', '10.0.0.9:80'], /missing --model/],
      [['--onvif', '10.0.0.9:99999', '--model', 'm.onnx'], /port 99999 is not 1\.\.65535/],
      [[], /is a camera: give --onvif HOST:PORT or --rtsp-url URL/],
    ];
    writeFileSync(join(dir, 'bad-lines.json'), JSON.stringify({ lines: [{ id: 'l1', from: { x: 2, y: 0 }, to: { x: 1, y: 1 } }], zones: [], periodS: 30 }));
    cases.push([['--onvif', '10.0.0.9', '--model', 'm.onnx', '--lines', join(dir, 'bad-lines.json')], /--lines .*bad-lines\.json: lines\[0\]\.from\.x/]);
    for (const [flags, message] of cases) {
      const r = run(['device', 'add', '--config', config, '--id', 'cam-x', '--profile', 'onvif-camera', ...flags]);
      assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('issue 5: camera discover --probe asks one host and prints what answers (table and JSON)', async () => {
    // A minimal WS-Discovery responder: answers any probe with one ProbeMatch.
    const responder = createSocket('udp4');
    responder.on('message', (msg, rinfo) => {
      const relatesTo = /MessageID>([^<]+)</.exec(msg.toString())?.[1] ?? '';
      const match =
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">' +
        `<s:Header><a:RelatesTo>${relatesTo}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>` +
        '<a:EndpointReference><a:Address>urn:uuid:11111111-2222-3333-4444-555555555555</a:Address></a:EndpointReference>' +
        '<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/Road_Cam onvif://www.onvif.org/hardware/QL-C1</d:Scopes>' +
        '<d:XAddrs>http://127.0.0.1:8080/onvif/device_service</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>';
      responder.send(match, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => responder.bind(0, '127.0.0.1', () => r()));
    const port = responder.address().port;
    try {
      const table = await runAsync(['camera', 'discover', '--probe', `127.0.0.1:${port}`, '--timeout-ms', '800']);
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, /^NAME\s+HARDWARE\s+XADDR\s+URN\nRoad Cam\s+QL-C1\s+http:\/\/127\.0\.0\.1:8080\/onvif\/device_service\s+urn:uuid:11111111/);
      const json = await runAsync(['camera', 'discover', '--probe', `127.0.0.1:${port}`, '--timeout-ms', '800', '--json']);
      assert.deepEqual(JSON.parse(json.stdout), [{ urn: 'urn:uuid:11111111-2222-3333-4444-555555555555', name: 'Road Cam', hardware: 'QL-C1', xaddrs: ['http://127.0.0.1:8080/onvif/device_service'] }]);
      const none = run(['camera', 'discover', '--probe', '127.0.0.1:9', '--timeout-ms', '300']);
      assert.equal(none.status, 0);
      assert.match(none.stdout, /no ONVIF camera answered/);
    } finally {
      responder.close();
    }
  });
});
