/**
 * The RTSP server on the wire, driven by hand: request/response details (RFC 2326), the RTP it
 * sends (RFC 3550, RFC 6184), bad input from one client while another keeps playing, UDP session
 * timeout, Digest/Basic auth, and the encoder's lifecycle.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestResponse, startRtspServer, type RtspServer, type RtspServerOptions } from '../../src/rtsp/index.js';
import { encoderChildren, isAlive, killChildren, memoryLogger, movingSquare, RawRtspClient, rtpInfo, sleep, udpReceiver } from './helpers.js';

const servers: RtspServer[] = [];
const clients: RawRtspClient[] = [];
async function server(extra: Partial<RtspServerOptions> = {}): Promise<RtspServer> {
  const s = await startRtspServer({ source: movingSquare(160, 120), fps: 20, gop: 10, ...extra });
  servers.push(s);
  return s;
}
async function connect(s: RtspServer): Promise<RawRtspClient> {
  const c = await RawRtspClient.connect(s.port);
  clients.push(c);
  return c;
}
after(async () => {
  for (const c of clients) c.close();
  await killChildren();
  await Promise.all(servers.map((s) => s.close()));
});

/** DESCRIBE, SETUP over interleaved TCP, PLAY; returns what the server answered. */
async function playTcp(c: RawRtspClient, url: string) {
  const describe = await c.request('DESCRIBE', url, { Accept: 'application/sdp' });
  assert.equal(describe.status, 200);
  const setup = await c.request('SETUP', `${url}/trackID=1`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
  assert.equal(setup.status, 200, `SETUP: ${setup.status} ${setup.reason}`);
  const session = setup.header('session')!.split(';')[0]!;
  const play = await c.request('PLAY', `${url}/`, { Session: session, Range: 'npt=0.000-' });
  assert.equal(play.status, 200);
  return { describe, setup, play, session };
}

describe('issue 5: RTSP RFC 2326 exchange and the RTP it carries', () => {
  it('RTSP RFC 2326 §10: OPTIONS, DESCRIBE (SDP per RFC 6184 §8.2), SETUP interleaved, PLAY with RTP-Info, then RTP from a keyframe', async () => {
    const s = await server();
    const c = await connect(s);
    const options = await c.request('OPTIONS', s.url);
    assert.equal(options.status, 200);
    for (const m of ['DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN', 'GET_PARAMETER']) assert.match(options.header('public')!, new RegExp(`\\b${m}\\b`));

    const { describe, setup, play, session } = await playTcp(c, s.url);
    assert.equal(describe.header('content-type'), 'application/sdp');
    assert.equal(describe.header('content-base'), `${s.url}/`);
    const sdp = describe.body;
    assert.match(sdp, /^v=0\r\n/);
    assert.match(sdp, /\r\nm=video 0 RTP\/AVP 96\r\n/);
    assert.match(sdp, /\r\na=rtpmap:96 H264\/90000\r\n/);
    const fmtp = /\r\na=fmtp:96 (.*)\r\n/.exec(sdp)![1]!;
    assert.match(fmtp, /packetization-mode=1/);
    const profile = /profile-level-id=([0-9a-f]{6})/.exec(fmtp)![1]!;
    assert.equal(profile.slice(0, 2), '42', 'Baseline profile_idc 66');
    const [sps, pps] = /sprop-parameter-sets=([^;,]+),([^;]+)/.exec(fmtp)!.slice(1).map((b) => Buffer.from(b, 'base64'));
    assert.equal(sps![0]! & 0x1f, 7);
    assert.equal(pps![0]! & 0x1f, 8);
    assert.equal(sps!.subarray(1, 4).toString('hex'), profile, 'profile-level-id matches the SPS');
    assert.match(sdp, /\r\na=control:trackID=1\r\n/);

    const transport = setup.header('transport')!;
    assert.match(transport, /^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8}$/);
    assert.match(setup.header('session')!, /^[0-9A-F]{16};timeout=60$/);
    const ssrc = parseInt(/ssrc=([0-9A-F]{8})/.exec(transport)![1]!, 16);
    assert.equal(play.header('range'), 'npt=0.000-');
    const info = /^url=(.+);seq=(\d+);rtptime=(\d+)$/.exec(play.header('rtp-info')!)!;
    assert.equal(info[1], `${s.url}/trackID=1`);

    await c.until(() => c.rtp.length >= 40, 5000, '40 RTP packets');
    const packets = c.rtp.map((p) => ({ channel: p.channel, ...rtpInfo(p.packet) }));
    assert.ok(packets.every((p) => p.channel === 0 && p.version === 2 && p.payloadType === 96 && p.ssrc === ssrc));
    assert.equal(packets[0]!.seq, Number(info[2]), 'the first packet has the RTP-Info seq');
    assert.equal(packets[0]!.timestamp, Number(info[3]), 'and the RTP-Info rtptime');
    assert.equal(packets[0]!.nalType, 7, 'a new client starts at a keyframe, SPS first');
    for (let i = 1; i < packets.length; i++) assert.equal(packets[i]!.seq, (packets[i - 1]!.seq + 1) & 0xffff, 'consecutive sequence numbers');
    assert.ok(packets.some((p) => p.fuStart === true), 'the textured keyframe needs FU-A');
    // One timestamp per picture, the marker on its last packet, ~4500 ticks (50 ms) apart at 20 fps.
    const pictures: number[] = [];
    for (const [i, p] of packets.entries()) {
      const next = packets[i + 1];
      if (!next) break;
      assert.equal(p.marker, next.timestamp !== p.timestamp, `marker exactly where the timestamp changes (packet ${i})`);
      if (p.marker) pictures.push(next.timestamp - p.timestamp);
    }
    const mean = pictures.reduce((a, b) => a + b, 0) / pictures.length;
    assert.ok(mean > 3500 && mean < 5500, `90 kHz clock: mean step ${mean} ticks per frame at 20 fps`);
    assert.deepEqual(s.clients().map((x) => ({ ...x, remote: x.remote.split(':')[0] })), [{ id: session, transport: 'tcp', playing: true, remote: '127.0.0.1' }]);

    const keepAlive = await c.request('GET_PARAMETER', s.url, { Session: session });
    assert.equal(keepAlive.status, 200);
    const teardown = await c.request('TEARDOWN', s.url, { Session: session });
    assert.equal(teardown.status, 200);
    assert.deepEqual(s.clients(), []);
    const st = s.stats();
    assert.ok(st.framesEncoded > 0 && st.packetsSent >= 40 && st.bytesSent > st.packetsSent * 12 && st.lastFrameSentAt !== null);
  });

  it('RTSP RFC 2326 §12.39: SETUP over UDP answers an even/odd server_port pair and RTP arrives at client_port', async () => {
    const s = await server();
    const c = await connect(s);
    const rx = await udpReceiver();
    try {
      const setup = await c.request('SETUP', `${s.url}/trackID=1`, { Transport: `RTP/AVP;unicast;client_port=${rx.rtpPort}-${rx.rtpPort + 1}` });
      assert.equal(setup.status, 200);
      const m = /^RTP\/AVP;unicast;client_port=(\d+)-(\d+);server_port=(\d+)-(\d+);ssrc=([0-9A-F]{8})$/.exec(setup.header('transport')!)!;
      assert.ok(m, setup.header('transport'));
      assert.equal(Number(m[1]), rx.rtpPort);
      assert.equal(Number(m[3]) % 2, 0);
      assert.equal(Number(m[4]), Number(m[3]) + 1);
      const play = await c.request('PLAY', s.url, { Session: setup.header('session')!.split(';')[0]! });
      assert.equal(play.status, 200);
      const deadline = Date.now() + 5000;
      while (rx.packets.length < 10 && Date.now() < deadline) await sleep(50);
      assert.ok(rx.packets.length >= 10, `${rx.packets.length} UDP packets`);
      assert.equal(rtpInfo(rx.packets[0]!).ssrc, parseInt(m[5]!, 16));
      assert.equal(rtpInfo(rx.packets[0]!).nalType, 7);
      assert.equal(s.clients()[0]?.transport, 'udp');
    } finally {
      rx.close();
    }
  });
});

describe('issue 5: RTSP bad input is answered and the other clients keep playing', () => {
  it('RTSP RFC 2326 §7.1.1: garbage 400, unknown method 501, wrong path 404, unknown track 404, PLAY before SETUP 454, oversized header 400', async () => {
    const s = await server();
    const good = await connect(s);
    await playTcp(good, s.url);
    await good.until(() => good.rtp.length > 0, 5000, 'RTP for the good client');

    const bad = await connect(s);
    const expect = async (raw: string, status: number, what: string) => {
      bad.sendRaw(raw);
      const r = await bad.nextResponse();
      assert.equal(r.status, status, `${what}: ${r.status} ${r.reason}`);
      return r;
    };
    const u = s.url;
    const garbage = await expect('\x16\x03\x01\x00\xffgarbage here\r\nCSeq: 1\r\n\r\n', 400, 'garbage');
    assert.equal(garbage.header('cseq'), '1');
    await expect(`OPTIONS ${u} RTSP/1.0\r\nCSeq: 2\r\n\r\n`, 200, 'a good request on the same connection after garbage');
    await expect(`FROB ${u} RTSP/1.0\r\nCSeq: 3\r\n\r\n`, 501, 'unknown method');
    const announce = await expect(`ANNOUNCE ${u} RTSP/1.0\r\nCSeq: 4\r\n\r\n`, 405, 'ANNOUNCE on a camera');
    assert.match(announce.header('allow')!, /DESCRIBE/);
    await expect(`OPTIONS ${u} RTSP/1.0\r\n\r\n`, 400, 'no CSeq');
    await expect(`OPTIONS ${u} RTSP/2.0\r\nCSeq: 5\r\n\r\n`, 505, 'RTSP/2.0');
    await expect(`OPTIONS ${u} RTSP/1.0\r\nCSeq: 6\r\nBroken header line\r\n\r\n`, 400, 'header without colon');
    await expect(`DESCRIBE ${u.replace('/stream1', '/nope')} RTSP/1.0\r\nCSeq: 7\r\n\r\n`, 404, 'wrong path');
    await expect(`SETUP ${u}/trackID=7 RTSP/1.0\r\nCSeq: 8\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`, 404, 'unknown track');
    await expect(`PLAY ${u} RTSP/1.0\r\nCSeq: 9\r\n\r\n`, 454, 'PLAY without SETUP');
    await expect(`PLAY ${u} RTSP/1.0\r\nCSeq: 10\r\nSession: DEADBEEF\r\n\r\n`, 454, 'PLAY with an unknown session');
    await expect(`TEARDOWN ${u} RTSP/1.0\r\nCSeq: 11\r\n\r\n`, 454, 'TEARDOWN without a session');
    await expect(`SETUP ${u}/trackID=1 RTSP/1.0\r\nCSeq: 12\r\nTransport: RTP/AVP;multicast\r\n\r\n`, 461, 'multicast');
    await expect(`SETUP ${u}/trackID=1 RTSP/1.0\r\nCSeq: 13\r\n\r\n`, 400 + 61, 'no Transport');
    await expect(`SET_PARAMETER ${u} RTSP/1.0\r\nCSeq: 14\r\nContent-Length: 9\r\n\r\nfoo: bar\n`, 451, 'SET_PARAMETER with a parameter');
    // The other client's session cannot be played, or torn down, from this connection.
    await expect(`TEARDOWN ${u} RTSP/1.0\r\nCSeq: 15\r\nSession: ${s.clients()[0]!.id}\r\n\r\n`, 454, "another connection's session");
    await expect(`OPTIONS ${u} RTSP/1.0\r\nCSeq: 16\r\nX-Pad: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 400, 'header block over 16 KiB');
    await bad.until(() => bad.closed, 3000, 'the server to close the flooding connection');

    // Binary noise without any line end: refused and closed once past the limit.
    const noise = await connect(s);
    noise.sendRaw(Buffer.alloc(20 * 1024, 0x41));
    assert.equal((await noise.nextResponse()).status, 400);
    await noise.until(() => noise.closed, 3000, 'close after noise');

    const before = good.rtp.length;
    await good.until(() => good.rtp.length > before + 10, 5000, 'the good client still gets RTP');
    assert.equal(s.clients().length, 1);
    const fresh = await connect(s);
    assert.equal((await fresh.request('OPTIONS', u)).status, 200, 'new connections are served');
  });

  it('issue 5: disconnectAll drops a connected client', async () => {
    const s = await server();
    const c = await connect(s);
    await playTcp(c, s.url);
    assert.equal(s.clients().length, 1);
    s.disconnectAll();
    await c.until(() => c.closed, 2000, 'the connection to drop').catch(() => undefined);
    assert.ok(c.closed);
    assert.deepEqual(s.clients(), []);
    const again = await connect(s);
    assert.equal((await again.request('OPTIONS', s.url)).status, 200, 'and it takes new clients after');
  });

  it('RTSP RFC 2326 §12.37: a UDP session without keep-alive times out; one with GET_PARAMETER keep-alives stays', async () => {
    const s = await server({ sessionTimeoutS: 1 });
    const rxQuiet = await udpReceiver();
    const rxAlive = await udpReceiver();
    try {
      const quiet = await connect(s);
      const alive = await connect(s);
      const start = async (c: RawRtspClient, port: number) => {
        const setup = await c.request('SETUP', `${s.url}/trackID=1`, { Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1}` });
        assert.match(setup.header('session')!, /;timeout=1$/);
        const id = setup.header('session')!.split(';')[0]!;
        assert.equal((await c.request('PLAY', s.url, { Session: id })).status, 200);
        return id;
      };
      const quietId = await start(quiet, rxQuiet.rtpPort);
      const aliveId = await start(alive, rxAlive.rtpPort);
      for (let i = 0; i < 8; i++) {
        await sleep(300);
        assert.equal((await alive.request('GET_PARAMETER', s.url, { Session: aliveId })).status, 200);
      }
      assert.deepEqual(s.clients().map((x) => x.id), [aliveId]);
      assert.equal((await quiet.request('PLAY', s.url, { Session: quietId })).status, 454, 'the expired session is gone');
      const quietCount = rxQuiet.packets.length;
      const aliveCount = rxAlive.packets.length;
      await sleep(400);
      assert.equal(rxQuiet.packets.length, quietCount, 'no more RTP to the expired session');
      assert.ok(rxAlive.packets.length > aliveCount);
    } finally {
      rxQuiet.close();
      rxAlive.close();
    }
  });
});

describe('issue 5: RTSP Digest and Basic authentication on the wire', () => {
  it('RFC 2617: 401 with a Digest challenge; the right digest or Basic passes; a wrong one is 401 again and logged without the password', async () => {
    const { logger, lines } = memoryLogger('info');
    const password = 'pw-Секрет-1';
    const s = await server({ credentials: { username: 'operator', password }, logger });
    const c = await connect(s);
    const first = await c.request('DESCRIBE', s.url);
    assert.equal(first.status, 401);
    const challenges = first.headers.get('www-authenticate')!;
    const digest = /^Digest realm="([^"]+)", nonce="([^"]+)"/.exec(challenges[0]!)!;
    assert.ok(digest, challenges[0]);
    assert.match(challenges[1]!, /^Basic realm=/);
    const authorization = (pw: string, method: string) =>
      `Digest username="operator", realm="${digest[1]}", nonce="${digest[2]}", uri="${s.url}", response="${digestResponse({ username: 'operator', realm: digest[1]!, password: pw, method, uri: s.url, nonce: digest[2]! })}"`;
    assert.equal((await c.request('DESCRIBE', s.url, { Authorization: authorization(password, 'DESCRIBE') })).status, 200);
    assert.equal((await c.request('DESCRIBE', s.url, { Authorization: authorization('guess', 'DESCRIBE') })).status, 401);
    assert.equal((await c.request('OPTIONS', s.url, { Authorization: `Basic ${Buffer.from(`operator:${password}`).toString('base64')}` })).status, 200);
    assert.equal((await c.request('OPTIONS', s.url, { Authorization: `Basic ${Buffer.from('operator:guess').toString('base64')}` })).status, 401);
    const failures = lines.filter((l) => l.includes('RTSP authentication failed'));
    assert.equal(failures.length, 2);
    assert.ok(failures.every((l) => /"remote":"127\.0\.0\.1:\d+"/.test(l)));
    assert.ok(lines.every((l) => !l.includes('guess') && !l.includes(password) && !l.includes(Buffer.from(`operator:${password}`).toString('base64'))));
  });
});

describe('issue 5: RTSP encoder lifecycle', () => {
  it('ffmpeg starts when a client plays, stops after the last one leaves, and close() leaves no child running', async () => {
    const s = await server({ encoderLingerMs: 200 });
    const before = await encoderChildren();
    assert.equal(s.encoderPid(), undefined, 'idle: no encoder');
    const c = await connect(s);
    const { session } = await playTcp(c, s.url);
    const pid = s.encoderPid()!;
    assert.ok(pid && isAlive(pid));
    assert.ok((await encoderChildren()).includes(pid));
    await c.request('TEARDOWN', s.url, { Session: session });
    for (let i = 0; i < 40 && isAlive(pid); i++) await sleep(50);
    assert.equal(isAlive(pid), false, 'stopped after the linger time');
    assert.equal(s.encoderPid(), undefined);

    // DESCRIBE answers from the kept parameter sets without starting ffmpeg again.
    assert.equal((await c.request('DESCRIBE', s.url)).status, 200);
    assert.equal(s.encoderPid(), undefined);

    const c2 = await connect(s);
    await playTcp(c2, s.url);
    const pid2 = s.encoderPid()!;
    assert.ok(pid2 && pid2 !== pid && isAlive(pid2));
    await s.close();
    assert.equal(isAlive(pid2), false, 'close() waited for the encoder to exit');
    assert.deepEqual((await encoderChildren()).filter((p) => !before.includes(p)), []);
    await c2.until(() => c2.closed, 2000, 'clients dropped on close');
  });
});

describe('issue 5: RTSP with a broken frame source or no ffmpeg', () => {
  it('frames of the wrong size are skipped and logged once; the good ones still stream', async () => {
    const { logger, lines } = memoryLogger('info');
    const good = movingSquare(160, 120);
    let n = 0;
    const s = await server({ source: { width: 160, height: 120, frame: () => (n++ % 3 === 1 ? Buffer.alloc(10) : good.frame()) }, logger });
    const c = await connect(s);
    await playTcp(c, s.url);
    await c.until(() => c.rtp.length > 20, 5000, 'RTP despite bad frames');
    assert.equal(lines.filter((l) => l.includes('frame source gave a frame of the wrong size')).length, 1);
  });

  it('a missing ffmpeg makes DESCRIBE answer 503 naming the cause; the server keeps answering', async () => {
    const { logger, lines } = memoryLogger('info');
    const s = await server({ ffmpegPath: '/nonexistent/ffmpeg', logger });
    const c = await connect(s);
    const r = await c.request('DESCRIBE', s.url);
    assert.equal(r.status, 503);
    assert.ok(lines.some((l) => l.includes('encoder ended unexpectedly') && l.includes('ENOENT')), 'logged with the cause');
    assert.ok(lines.some((l) => /"status":503.*encoder not ready: ffmpeg could not run/.test(l)));
    assert.equal((await c.request('OPTIONS', s.url)).status, 200);
  });
});
