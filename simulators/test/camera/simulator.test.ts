/**
 * Issue 5: the assembled camera simulator — ONVIF points at its own RTSP stream and snapshot,
 * ffprobe reads the stream, WS-Discovery finds it, the control endpoint gives truth and lines and
 * injects faults (wrong credentials everywhere, malformed SOAP, RTSP disconnect and stall), and
 * the `camera` command of the CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { XMLValidator } from 'fast-xml-parser';
import sharp from 'sharp';
import { UsageError } from '../../src/loop-command.js';
import { parseCameraCommand } from '../../src/camera-command.js';
import { DEFAULT_CAMERA_CREDENTIALS, startCameraSimulator, type CameraSimulator } from '../../src/camera/simulator.js';
import { capturingLogger } from '../helpers/modbus-clients.js';
import { postSoap, soapEnvelope } from './helpers/soap-client.js';

const require = createRequire(import.meta.url);
const onvif = require('node-onvif') as { OnvifDevice: new (p: { xaddr: string; user?: string; pass?: string }) => any };
const root = fileURLToPath(new URL('../../../', import.meta.url));

let sim: CameraSimulator;
const { logger, records } = capturingLogger();

before(async () => {
  sim = await startCameraSimulator({ id: 'cam-9', seed: 4, timeScale: 2, discoveryPort: 0, controlPort: 0, logger });
});
after(() => sim.close());

/** One RTSP request on a fresh connection; resolves with the status line and the socket (left open). */
function rtspRequest(method: string, auth: string | undefined): Promise<{ status: number; socket: net.Socket }> {
  const { hostname, port } = new URL(sim.rtspUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`${method} ${sim.rtspUrl} RTSP/1.0\r\nCSeq: 1\r\n${auth ? `Authorization: ${auth}\r\n` : ''}\r\n`);
    });
    socket.once('data', (d) => resolve({ status: Number(/^RTSP\/1\.0 (\d{3})/.exec(d.toString())?.[1]), socket }));
    socket.once('error', reject);
    setTimeout(() => reject(new Error(`no RTSP answer to ${method}`)), 3000).unref();
  });
}
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.controlUrl}${path}`, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, json: await res.json() };
}

describe('issue 5: assembled camera simulator', () => {
  it('node-onvif finds its RTSP URL and snapshot; ffprobe reads the H.264 stream at the scene size', async () => {
    const cam = new onvif.OnvifDevice({ xaddr: sim.onvifUrl, user: DEFAULT_CAMERA_CREDENTIALS.username, pass: DEFAULT_CAMERA_CREDENTIALS.password });
    const info = await cam.init();
    assert.equal(info.Manufacturer, 'Quanlink Sim');
    assert.equal(info.SerialNumber, 'QLSIM-cam-9');
    assert.equal(cam.getUdpStreamUrl(), sim.rtspUrl);
    assert.match(sim.rtspUrl, /^rtsp:\/\/127\.0\.0\.1:\d+\/stream1$/);
    const snap = await cam.fetchSnapshot();
    assert.deepEqual([(await sharp(snap.body).metadata()).width, (await sharp(snap.body).metadata()).height], [640, 360]);

    const u = new URL(sim.rtspUrl);
    u.username = DEFAULT_CAMERA_CREDENTIALS.username;
    u.password = DEFAULT_CAMERA_CREDENTIALS.password;
    const probe = spawn('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-analyzeduration', '500000', '-probesize', '65536', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', u.toString()], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => probe.kill('SIGKILL'), 15_000);
    let out = '';
    let err = '';
    probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
    probe.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => probe.on('exit', r)).finally(() => clearTimeout(timer));
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out).streams[0], { codec_name: 'h264', width: 640, height: 360 });
  });

  it('WS-Discovery answers with the device_service XAddr', async () => {
    const socket = dgram.createSocket('udp4');
    try {
      const reply = new Promise<string>((resolve) => socket.once('message', (m) => resolve(m.toString())));
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      const probeXml = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>uuid:1</a:MessageID></s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`;
      socket.send(probeXml, sim.discovery!.port, '127.0.0.1');
      const text = await reply;
      assert.ok(text.includes(`<d:XAddrs>${sim.onvifUrl}</d:XAddrs>`), text);
    } finally {
      socket.close();
    }
  });

  it('control endpoint: state, truth, lines and zones, snapshot', async () => {
    const state = await control('GET', '/state');
    assert.equal(state.status, 200);
    assert.deepEqual([state.json.id, state.json.onvif, state.json.rtsp, state.json.username], ['cam-9', sim.onvifUrl, sim.rtspUrl, 'admin']);
    assert.doesNotMatch(JSON.stringify(state.json), new RegExp(DEFAULT_CAMERA_CREDENTIALS.password), 'never the password');
    const lines = await control('GET', '/lines');
    assert.deepEqual(lines.json.lines.map((l: any) => l.id), ['lane-1', 'lane-2', 'lane-3']);
    assert.deepEqual([lines.json.width, lines.json.height], [640, 360]);
    assert.ok(lines.json.zones.some((z: any) => z.kind === 'restricted'));
    const truth = await control('GET', '/truth');
    assert.deepEqual(Object.keys(truth.json).sort(), ['crossings', 'events', 'vehicles']);
    const jpeg = await fetch(`${sim.controlUrl}/snapshot.jpg`);
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
    assert.equal((await control('GET', '/nothing')).status, 404);
  });

  it('faults: wrong credentials fail on ONVIF, snapshot and RTSP; malformed SOAP; disconnect and stall; validation', async () => {
    const { username, password } = DEFAULT_CAMERA_CREDENTIALS;
    assert.equal((await rtspRequest('OPTIONS', basic(username, password))).status, 200);
    const set = await control('POST', '/faults', { wrongCredentials: true });
    assert.deepEqual(set.json.faults, { stall: false, wrongCredentials: true, malformedSoap: false });
    const old = new onvif.OnvifDevice({ xaddr: sim.onvifUrl, user: username, pass: password });
    await assert.rejects(old.init(), /Sender not Authorized: wrong username or password/);
    assert.equal((await fetch(sim.snapshotUrl, { headers: { authorization: basic(username, password) } })).status, 401);
    const denied = await rtspRequest('OPTIONS', basic(username, password));
    denied.socket.destroy();
    assert.equal(denied.status, 401, 'RTSP refuses the old password');
    const now = sim.credentials();
    assert.notEqual(now.password, password);
    const allowed = await rtspRequest('OPTIONS', basic(now.username, now.password));
    allowed.socket.destroy();
    assert.equal(allowed.status, 200);
    await control('DELETE', '/faults');
    assert.equal(sim.credentials().password, password);

    await control('POST', '/faults', { malformedSoap: true });
    const broken = await postSoap(sim.onvifUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'));
    assert.notEqual(XMLValidator.validate(broken.text), true);
    await control('POST', '/faults', { malformedSoap: false });
    assert.equal(XMLValidator.validate((await postSoap(sim.onvifUrl, soapEnvelope('<tds:GetSystemDateAndTime/>'))).text), true);

    const open = await rtspRequest('OPTIONS', basic(username, password));
    const closed = new Promise<void>((r) => open.socket.once('close', () => r()));
    await control('POST', '/faults', { disconnect: true });
    await closed; // the RTSP connection is dropped
    assert.equal((await control('POST', '/faults', { stall: true })).json.faults.stall, true);
    assert.equal((await control('DELETE', '/faults')).json.faults.stall, false);

    for (const [body, problem] of [
      [{ stall: 'yes' }, /^stall must be true or false, got "yes"$/],
      [{ explode: true }, /^unknown fault 'explode'/],
      [[1], /^faults must be an object/],
    ] as const) {
      const r = await control('POST', '/faults', body);
      assert.equal(r.status, 400);
      assert.match(r.json.error, problem);
    }
    assert.ok(records.some((r) => r['operation'] === 'setFault'));
    assert.ok(!JSON.stringify(records).includes(password), 'the password is never logged');
  });
});

describe('issue 5: camera command line', () => {
  it('parses flags and refuses bad ones', () => {
    const cmd = parseCameraCommand(['--id', 'c2', '--scenario', 'queue', '--discovery-port', 'off', '--time-scale', '5']);
    assert.ok(cmd !== 'help');
    assert.deepEqual([cmd.id, cmd.scenario, cmd.discoveryPort, cmd.timeScale, cmd.fps, cmd.username], ['c2', 'queue', null, 5, 10, 'admin']);
    assert.equal(parseCameraCommand(['-h']), 'help');
    assert.throws(() => parseCameraCommand(['--fps', '0']), (e: unknown) => e instanceof UsageError && /--fps must be an integer 1\.\.60, got '0'/.test(e.message));
    assert.throws(() => parseCameraCommand(['--time-scale', 'fast']), /--time-scale must be a number/);
    assert.throws(() => parseCameraCommand(['--bogus']), UsageError);
    assert.throws(() => parseCameraCommand(['--multicast', '--discovery-port', 'off']), /--multicast needs a discovery port/);
  });

  it('`cli.ts camera` prints one listening line, serves, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/src/cli.ts', 'camera', '--id', 'cli-cam', '--discovery-port', '0', '--scenario', 'wrong-way', '--log-level', 'warn'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    try {
      const line = await Promise.race([
        new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)),
        exited.then((code) => assert.fail(`exited ${code}: ${stderr}`)),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 20_000).unref()),
      ]);
      const listening = JSON.parse(line);
      assert.equal(listening.event, 'listening');
      assert.equal(listening.id, 'cli-cam');
      assert.match(listening.onvif, /^http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service$/);
      assert.match(listening.rtsp, /^rtsp:\/\/127\.0\.0\.1:\d+\/stream1$/);
      assert.ok(listening.discovery.port > 0);
      const state = (await (await fetch(`${listening.control}/state`)).json()) as { id: string };
      assert.equal(state.id, 'cli-cam');
      const r = await postSoap(listening.onvif, soapEnvelope('<tds:GetSystemDateAndTime/>'));
      assert.equal(r.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
