/**
 * Issue 5: the camera simulator's ONVIF device on its real wire (SOAP 1.2 over HTTP), checked
 * with node-onvif 0.1.7 (the client the edge uses) and with raw SOAP; WS-UsernameToken digest;
 * hostile SOAP refused without harm; the snapshot URL with HTTP Digest/Basic.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { XMLValidator } from 'fast-xml-parser';
import sharp from 'sharp';
import { startOnvifServer, type OnvifServer } from '../../src/camera/onvif/server.js';
import { RoadScene } from '../../src/camera/scene.js';
import { capturingLogger } from '../helpers/modbus-clients.js';
import { postSoap, soapEnvelope, usernameToken } from './helpers/soap-client.js';

const require = createRequire(import.meta.url);
// node-onvif ships no types; it is the edge's client, used here as an independent one.
const onvif = require('node-onvif') as { OnvifDevice: new (p: { xaddr: string; user?: string; pass?: string }) => any };

const CREDS = { username: 'admin', password: 'Sim-Passw0rd!' };
const RTSP = 'rtsp://127.0.0.1:8554/stream';
const IDENTITY = { manufacturer: 'Quanlink Sim', model: 'QL-CAM-SIM', firmware: '1.0.0', serial: 'QLSIM-cam-1', hardwareId: 'ql-cam-sim-r1' };

let server: OnvifServer;
let device: string;
let media: string;
let ptz: string;
let credentials = { ...CREDS };
const scene = new RoadScene({ seed: 3 });

before(async () => {
  await scene.ready();
  server = await startOnvifServer({
    identity: IDENTITY,
    media: { width: 640, height: 360, fps: 10, gop: 20, streamUri: () => RTSP },
    credentials: () => credentials,
    snapshot: () => scene.snapshotJpeg(),
    logger: capturingLogger().logger,
  });
  ({ device, media, ptz } = server.xaddrs);
});
after(() => server.close());

const token = () => usernameToken(CREDS);
const ok = async (url: string, body: string): Promise<string> => {
  const r = await postSoap(url, soapEnvelope(body, token()));
  assert.equal(r.status, 200, r.text);
  assert.equal(XMLValidator.validate(r.text), true);
  return r.text;
};

describe('issue 5: ONVIF device with node-onvif (the edge client)', () => {
  it('init(), device information, profiles, stream URI (no credentials in it), snapshot, PTZ', async () => {
    const cam = new onvif.OnvifDevice({ xaddr: device, user: CREDS.username, pass: CREDS.password });
    const info = await cam.init();
    assert.equal(info.Manufacturer, 'Quanlink Sim');
    assert.deepEqual([info.Model, info.FirmwareVersion, info.SerialNumber, info.HardwareId], ['QL-CAM-SIM', '1.0.0', 'QLSIM-cam-1', 'ql-cam-sim-r1']);
    const profiles = cam.getProfileList();
    assert.deepEqual(profiles.map((p: any) => p.token), ['main', 'sub']);
    assert.deepEqual(profiles[0].video.encoder.resolution, { width: 640, height: 360 });
    assert.equal(profiles[0].video.encoder.encoding, 'H264');
    assert.equal(profiles[0].video.encoder.framerate, 10);
    assert.equal(cam.getUdpStreamUrl(), RTSP, 'UDP transport -> the RTSP URL');
    assert.equal(profiles[0].stream.rtsp, RTSP);
    assert.equal(profiles[0].stream.http, '', 'RTSP-over-HTTP is refused with a fault, so node-onvif leaves it empty');
    assert.doesNotMatch(JSON.stringify(profiles), /admin|Passw0rd/, 'no credentials in any URI');
    assert.equal(profiles[0].snapshot, server.snapshotUrl);

    const snap = await cam.fetchSnapshot();
    assert.equal(snap.headers['content-type'], 'image/jpeg');
    const meta = await sharp(snap.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 640, 360]);

    await cam.ptzMove({ speed: { x: 1, y: -0.5, z: 0.2 }, timeout: 1 });
    await new Promise((r) => setTimeout(r, 120));
    await cam.ptzStop();
    const moved = server.ptz.current();
    assert.ok(moved.pan > 0.03 && moved.tilt < -0.01 && moved.zoom > 0 && !moved.moving, JSON.stringify(moved));

    const services = await cam.services.device.getServices({ IncludeCapability: false });
    const xaddrs = [].concat(services.data.GetServicesResponse.Service).map((s: any) => s.XAddr);
    assert.deepEqual(xaddrs, [device, media, ptz]);

    const set = await cam.services.ptz.setPreset({ ProfileToken: 'main', PresetName: 'gantry' });
    const presetToken = set.data.SetPresetResponse.PresetToken;
    assert.equal(presetToken, 'preset-1');
    const presets = await cam.services.ptz.getPresets({ ProfileToken: 'main' });
    assert.equal(presets.data.GetPresetsResponse.Preset.Name, 'gantry');
    server.ptz.goTo({ pan: 0, tilt: 0, zoom: 0 });
    await cam.services.ptz.gotoPreset({ ProfileToken: 'main', PresetToken: presetToken });
    assert.equal(server.ptz.current().pan, moved.pan, 'GotoPreset restores the stored position');
    await assert.rejects(cam.services.ptz.gotoPreset({ ProfileToken: 'main', PresetToken: 'nope' }), /400 Bad Request - no preset 'nope'/);
  });

  it('wrong credentials: init() fails with NotAuthorized, and the password change (fault) is seen on the next call', async () => {
    const bad = new onvif.OnvifDevice({ xaddr: device, user: CREDS.username, pass: 'wrong' });
    await assert.rejects(bad.init(), /400 Bad Request - Sender not Authorized: wrong username or password/);
    const none = new onvif.OnvifDevice({ xaddr: device });
    await assert.rejects(none.init(), /Sender not Authorized: no WS-Security UsernameToken/);
    credentials = { ...CREDS, password: 'rotated' };
    try {
      const old = new onvif.OnvifDevice({ xaddr: device, user: CREDS.username, pass: CREDS.password });
      await assert.rejects(old.init(), /not Authorized/);
    } finally {
      credentials = { ...CREDS };
    }
  });

  it('malformed SOAP fault injection: the answer is broken XML and node-onvif fails on it', async () => {
    server.malformed = true;
    try {
      const r = await postSoap(device, soapEnvelope('<tds:GetSystemDateAndTime/>'));
      assert.equal(r.status, 200);
      assert.notEqual(XMLValidator.validate(r.text), true, 'broken XML');
      const cam = new onvif.OnvifDevice({ xaddr: device, user: CREDS.username, pass: CREDS.password });
      await assert.rejects(cam.init());
    } finally {
      server.malformed = false;
    }
    await ok(device, '<tds:GetDeviceInformation/>');
  });
});

describe('issue 5: ONVIF device, raw SOAP', () => {
  it('every operation answers with a valid response', async () => {
    assert.match(await ok(device, '<tds:GetDeviceInformation/>'), /<tds:Manufacturer>Quanlink Sim<\/tds:Manufacturer>/);
    const caps = await ok(device, '<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>');
    for (const x of [device, media, ptz]) assert.ok(caps.includes(`<tt:XAddr>${x}</tt:XAddr>`), x);
    assert.match(await ok(device, '<tds:GetCapabilities><tds:Category>Media</tds:Category></tds:GetCapabilities>'), /RTP_RTSP_TCP>true/);
    assert.match(await ok(device, '<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>'), /ver20\/ptz\/wsdl/);
    assert.match(await ok(media, '<trt:GetProfiles/>'), /token="main".*token="sub"/);
    assert.match(await ok(media, '<trt:GetProfile><trt:ProfileToken>sub</trt:ProfileToken></trt:GetProfile>'), /same stream as main/);
    const uri = await ok(media, '<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup><trt:ProfileToken>main</trt:ProfileToken></trt:GetStreamUri>');
    assert.ok(uri.includes(`<tt:Uri>${RTSP}</tt:Uri>`));
    assert.ok(!uri.includes('@'), 'never credentials in the stream URI');
    assert.ok((await ok(media, '<trt:GetSnapshotUri><trt:ProfileToken>main</trt:ProfileToken></trt:GetSnapshotUri>')).includes(`<tt:Uri>${server.snapshotUrl}</tt:Uri>`));
    await ok(ptz, '<tptz:ContinuousMove><tptz:ProfileToken>main</tptz:ProfileToken><tptz:Velocity><tt:PanTilt x="-1" y="0"/></tptz:Velocity><tptz:Timeout>PT0.1S</tptz:Timeout></tptz:ContinuousMove>');
    assert.match(await ok(ptz, '<tptz:GetStatus><tptz:ProfileToken>main</tptz:ProfileToken></tptz:GetStatus>'), /<tt:PanTilt x="-?[0-9.]+"/);
    await ok(ptz, '<tptz:Stop><tptz:ProfileToken>main</tptz:ProfileToken><tptz:PanTilt>true</tptz:PanTilt></tptz:Stop>');
    assert.match(await ok(ptz, '<tptz:SetPreset><tptz:ProfileToken>main</tptz:ProfileToken><tptz:PresetToken>p9</tptz:PresetToken></tptz:SetPreset>'), /<tptz:PresetToken>p9</);
    assert.match(await ok(ptz, '<tptz:GetPresets><tptz:ProfileToken>main</tptz:ProfileToken></tptz:GetPresets>'), /token="p9"/);
    await ok(ptz, '<tptz:GotoPreset><tptz:ProfileToken>main</tptz:ProfileToken><tptz:PresetToken>p9</tptz:PresetToken></tptz:GotoPreset>');
  });

  it('GetSystemDateAndTime needs no credentials and gives UTC; everything else does', async () => {
    const r = await postSoap(device, soapEnvelope('<tds:GetSystemDateAndTime/>'));
    assert.equal(r.status, 200);
    assert.match(r.text, new RegExp(`<tt:Year>${new Date().getUTCFullYear()}</tt:Year>`));
    assert.match(r.text, /<tt:TZ>UTC0<\/tt:TZ>/);
    const denied = await postSoap(device, soapEnvelope('<tds:GetDeviceInformation/>'));
    assert.equal(denied.status, 400);
    assert.match(denied.text, /<s:Value>s:Sender<\/s:Value><s:Subcode><s:Value>ter:NotAuthorized<\/s:Value>/);
  });

  it('WS-UsernameToken digest: wrong password, unknown user, plain text, stale Created and replayed nonce are refused', async () => {
    const cases: [string, string, RegExp][] = [
      ['wrong password', usernameToken({ ...CREDS, password: 'nope' }), /wrong username or password/],
      ['unknown user', usernameToken({ username: 'root', password: CREDS.password }), /wrong username or password/],
      ['PasswordText', usernameToken({ ...CREDS, plainText: true }), /only PasswordDigest is accepted/],
      ['stale Created', usernameToken({ ...CREDS, created: new Date(Date.now() - 3_600_000).toISOString() }), /more than 5 min from device time/],
      ['bad Created', usernameToken({ ...CREDS, created: 'yesterday' }), /is not a date-time/],
    ];
    for (const [what, header, reason] of cases) {
      const r = await postSoap(device, soapEnvelope('<tds:GetDeviceInformation/>', header));
      assert.equal(r.status, 400, what);
      assert.match(r.text, /ter:NotAuthorized/, what);
      assert.match(r.text, reason, what);
    }
    const nonce = randomBytes(16);
    const created = new Date().toISOString();
    const once = usernameToken({ ...CREDS, nonce, created });
    assert.equal((await postSoap(device, soapEnvelope('<tds:GetDeviceInformation/>', once))).status, 200);
    const replay = await postSoap(device, soapEnvelope('<tds:GetDeviceInformation/>', once));
    assert.equal(replay.status, 400);
    assert.match(replay.text, /nonce already used/);
  });

  it('unknown actions, unknown namespaces, bad arguments and wrong methods get clear faults', async () => {
    const unknown = await postSoap(device, soapEnvelope('<tds:FactoryReset/>', token()));
    assert.equal(unknown.status, 500);
    assert.match(unknown.text, /ter:ActionNotSupported/);
    assert.match(unknown.text, /FactoryReset/);
    const foreign = await postSoap(device, soapEnvelope('<x:GetDeviceInformation xmlns:x="urn:other"/>', token()));
    assert.match(foreign.text, /ActionNotSupported.*urn:other GetDeviceInformation/s);
    const noProfile = await postSoap(media, soapEnvelope('<trt:GetSnapshotUri><trt:ProfileToken>nope</trt:ProfileToken></trt:GetSnapshotUri>', token()));
    assert.equal(noProfile.status, 400);
    assert.match(noProfile.text, /ter:InvalidArgVal.*ter:NoProfile.*no media profile 'nope'/s);
    const http = await postSoap(media, soapEnvelope('<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>HTTP</tt:Protocol></tt:Transport></trt:StreamSetup><trt:ProfileToken>main</trt:ProfileToken></trt:GetStreamUri>', token()));
    assert.match(http.text, /ter:InvalidStreamSetup/);
    const soap11 = await postSoap(device, '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>');
    assert.equal(soap11.status, 400);
    assert.match(soap11.text, /not a SOAP 1.2 Envelope/);
    const malformed = await postSoap(device, '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetDeviceInformation></s:Body>');
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /ter:WellFormed.*malformed XML at line 1, column \d+/s);
    assert.equal((await fetch(device)).status, 405);
    assert.equal((await fetch(device.replace('device_service', 'nothing'), { method: 'POST', body: 'x' })).status, 404);
  });
});

describe('issue 5: hostile SOAP is refused without harm', () => {
  const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">${Array.from({ length: 7 }, (_, i) => `<!ENTITY lol${i + 3} "${`&lol${i + 2};`.repeat(10)}">`).join('')}]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetDeviceInformation xmlns:tds="http://www.onvif.org/ver10/device/wsdl">&lol9;</tds:GetDeviceInformation></s:Body></s:Envelope>`;
  const xxe = `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetDeviceInformation xmlns:tds="http://www.onvif.org/ver10/device/wsdl">&xxe;</tds:GetDeviceInformation></s:Body></s:Envelope>`;

  it('billion laughs and an external entity (file:///etc/passwd) get 400 "DTD not allowed", quickly', async () => {
    for (const [what, doc] of [['billion laughs', billionLaughs], ['external entity', xxe]] as const) {
      const r = await postSoap(device, doc);
      assert.equal(r.status, 400, what);
      assert.match(r.text, /DTD not allowed/, what);
      assert.doesNotMatch(r.text, /root:|lollol/, what);
      assert.ok(r.ms < 500, `${what} answered in ${r.ms.toFixed(0)} ms`);
    }
  });

  it('a 10 MB body is cut off with 413 without buffering it, and the device keeps answering', async () => {
    const rssBefore = process.memoryUsage().rss;
    const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
    huge.write(soapEnvelope('<tds:GetDeviceInformation><x>', token()));
    const started = performance.now();
    // Declared length first (refused before reading), then chunked with no length (cut off while reading).
    const declared = await postSoap(device, huge).catch((err: Error) => ({ status: 0, text: err.message, ms: 0 }));
    assert.equal(declared.status, 413, declared.text.slice(0, 200));
    assert.match(declared.text, /larger than 65536 bytes/);
    const chunks = (async function* () {
      for (let i = 0; i < 160; i++) yield huge.subarray(i * 65536, (i + 1) * 65536);
    })();
    const streamed = await fetch(device, { method: 'POST', body: chunks as any, duplex: 'half' } as RequestInit).then(
      async (r) => ({ status: r.status, text: await r.text() }),
      (err: Error) => ({ status: 0, text: err.message }),
    );
    assert.equal(streamed.status, 413, streamed.text.slice(0, 200));
    const ms = performance.now() - started;
    assert.ok(ms < 3000, `refused in ${ms.toFixed(0)} ms`);
    assert.ok(process.memoryUsage().rss - rssBefore < 80 * 1024 * 1024, 'no memory blow-up');
    await ok(device, '<tds:GetDeviceInformation/>');
  });

  it('a flood of elements under the size limit is refused before parsing', async () => {
    const many = soapEnvelope(`<tds:GetDeviceInformation>${'<a/>'.repeat(5000)}</tds:GetDeviceInformation>`, token());
    const r = await postSoap(device, many);
    assert.equal(r.status, 413);
    assert.match(r.text, /SOAP message larger than/);
    assert.ok(r.ms < 500);
  });
});

describe('issue 5: snapshot URL authentication', () => {
  it('401 with a Digest challenge, then Digest (MD5) or Basic with the right credentials', async () => {
    const url = server.snapshotUrl;
    const challenge = await fetch(url);
    assert.equal(challenge.status, 401);
    const www = challenge.headers.get('www-authenticate')!;
    assert.match(www, /^Digest realm="[^"]+", qop="auth", nonce="[0-9a-f]+", algorithm=MD5$/);
    const realm = /realm="([^"]+)"/.exec(www)![1]!;
    const nonce = /nonce="([^"]+)"/.exec(www)![1]!;
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const digest = (password: string) => {
      const path = new URL(url).pathname;
      const response = md5(`${md5(`${CREDS.username}:${realm}:${password}`)}:${nonce}:00000001:abcdef:auth:${md5(`GET:${path}`)}`);
      return `Digest username="${CREDS.username}", realm="${realm}", nonce="${nonce}", uri="${path}", qop=auth, nc=00000001, cnonce="abcdef", response="${response}", algorithm=MD5`;
    };
    const good = await fetch(url, { headers: { authorization: digest(CREDS.password) } });
    assert.equal(good.status, 200);
    assert.equal((await sharp(Buffer.from(await good.arrayBuffer())).metadata()).width, 640);
    assert.equal((await fetch(url, { headers: { authorization: digest('wrong') } })).status, 401);
    const basic = (p: string) => `Basic ${Buffer.from(`${CREDS.username}:${p}`).toString('base64')}`;
    assert.equal((await fetch(url, { headers: { authorization: basic(CREDS.password) } })).status, 200);
    assert.equal((await fetch(url, { headers: { authorization: basic('wrong') } })).status, 401);
  });
});
