/**
 * The pieces of the RTSP server on their own: Annex B cutting, access units, RFC 6184
 * packetisation, RTP headers, Digest/Basic auth, request framing and the Transport header.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AccessUnitAssembler, AnnexBReader, profileLevelId, spropParameterSets, type AccessUnit } from '../../src/rtsp/h264.js';
import { packetizeH264, RtpStream } from '../../src/rtsp/rtp.js';
import { digestResponse, parseAuthParams, RtspAuthenticator } from '../../src/rtsp/auth.js';
import { RtspMessageReader, type RtspReadEvent } from '../../src/rtsp/message.js';
import { chooseTransport } from '../../src/rtsp/transport.js';
import { startRtspServer } from '../../src/rtsp/index.js';
import { movingSquare } from './helpers.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SPS = hex('67 42c01e da 05 07 e8');
const PPS = hex('68 ce0f c8');
const IDR = hex('65 88 84 00 33');
const P = hex('41 9a 02 11');

describe('H.264 Annex B (ITU-T H.264 Annex B)', () => {
  it('cuts NAL units at 3- and 4-byte start codes, however the bytes are split', () => {
    const stream = Buffer.concat([hex('00000001'), SPS, hex('000001'), PPS, hex('00000001'), IDR, hex('0000'), hex('000001'), P]);
    for (let split = 1; split < stream.length; split++) {
      const nals: string[] = [];
      const reader = new AnnexBReader((n) => nals.push(n.toString('hex')));
      reader.push(stream.subarray(0, split));
      reader.push(stream.subarray(split));
      reader.flush();
      assert.deepEqual(nals, [SPS, PPS, IDR, P].map((b) => b.toString('hex')), `split at ${split}`);
    }
  });

  it('a NAL unit is held back until the next start code shows it is complete', () => {
    const nals: Buffer[] = [];
    const reader = new AnnexBReader((n) => nals.push(n));
    reader.push(Buffer.concat([hex('00000001'), SPS]));
    assert.equal(nals.length, 0);
    reader.push(hex('00000001'));
    assert.deepEqual(nals, [SPS]);
  });

  it('groups NAL units into access units; a second slice of the same picture stays in it', () => {
    const aus: AccessUnit[] = [];
    const asm = new AccessUnitAssembler((au) => aus.push(au));
    const aud = hex('09 10');
    const secondSlice = hex('65 40 12 34'); // first_mb_in_slice != 0
    for (const n of [aud, SPS, PPS, IDR, secondSlice, aud, P, hex('41 40 77')]) asm.push(n);
    assert.equal(aus.length, 1, 'the IDR picture is complete when the next AUD arrives');
    assert.equal(aus[0]!.keyframe, true);
    assert.equal(aus[0]!.nals.length, 5);
    asm.push(hex('41 9a 05')); // no AUD: a slice with first_mb_in_slice = 0 starts the next picture
    assert.equal(aus.length, 2);
    assert.deepEqual(aus[1], { nals: [aud, P, hex('41 40 77')], keyframe: false });
    asm.flush();
    assert.equal(aus.length, 3);
  });

  it('RFC 6184 §8.1: profile-level-id and sprop-parameter-sets come from the SPS and PPS', () => {
    assert.equal(profileLevelId(SPS), '42c01e');
    assert.equal(spropParameterSets(SPS, PPS), `${SPS.toString('base64')},${PPS.toString('base64')}`);
    assert.throws(() => profileLevelId(PPS), /not a sequence parameter set/);
  });
});

describe('RTP for H.264 (RFC 6184, RFC 3550)', () => {
  it('RFC 6184 §5.6: a NAL unit that fits goes alone; marker only on the last packet of the access unit', () => {
    const p = packetizeH264([SPS, PPS, IDR], 1400);
    assert.deepEqual(p.map((x) => Buffer.concat(x.parts).toString('hex')), [SPS, PPS, IDR].map((b) => b.toString('hex')));
    assert.deepEqual(p.map((x) => x.marker), [false, false, true]);
  });

  it('RFC 6184 §5.8: a large NAL unit becomes FU-A fragments (S, E bits, NRI kept) that reassemble exactly', () => {
    const nal = Buffer.alloc(3001, 0xab);
    nal[0] = 0x65; // NRI 3, IDR
    const p = packetizeH264([nal, P], 1400);
    const fus = p.slice(0, -1);
    assert.equal(fus.length, 3);
    for (const [i, fu] of fus.entries()) {
      const b = Buffer.concat(fu.parts);
      assert.ok(b.length <= 1400);
      assert.equal(b[0], 0x60 | 28, 'FU indicator: F=0, NRI of the NAL unit, type 28');
      assert.equal(b[1]! & 0x1f, 5);
      assert.equal((b[1]! & 0x80) !== 0, i === 0, 'S bit on the first only');
      assert.equal((b[1]! & 0x40) !== 0, i === fus.length - 1, 'E bit on the last only');
      assert.equal(fu.marker, false);
    }
    const rebuilt = Buffer.concat([Buffer.from([(fus[0]!.parts[0]![0]! & 0xe0) | (fus[0]!.parts[0]![1]! & 0x1f)]), ...fus.map((f) => Buffer.concat(f.parts).subarray(2))]);
    assert.deepEqual(rebuilt, nal);
    assert.equal(p.at(-1)!.marker, true);
  });

  it('RFC 3550 §5.1: version 2, payload type 96, sequence numbers wrap, 90 kHz timestamps from capture time', () => {
    const s = new RtpStream();
    const seq0 = s.nextSequence;
    assert.equal(s.started, false);
    const t0 = s.timestampFor(1000);
    assert.equal(t0, s.initialTimestamp, 'the first frame carries the RTP-Info rtptime');
    assert.equal(s.timestampFor(1100), (s.initialTimestamp + 9000) >>> 0);
    const h = s.header(true, t0);
    assert.equal(h.length, 12);
    assert.equal(h[0], 0x80);
    assert.equal(h[1], 0x80 | 96);
    assert.equal(h.readUInt16BE(2), seq0);
    assert.equal(h.readUInt32BE(8), s.ssrc);
    for (let i = 0; i < 65536; i++) s.header(false, 0);
    assert.equal(s.nextSequence, (seq0 + 1) & 0xffff, 'wrapped around 16 bits');
    assert.notEqual(new RtpStream().ssrc, s.ssrc, 'random per session (fails once in 2^32)');
  });
});

describe('RTSP authentication (RFC 2617)', () => {
  it('RFC 2617 §3.5: the example request digest', () => {
    const r = digestResponse({ username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: 'auth', nc: '00000001', cnonce: '0a4f113b' });
    assert.equal(r, '6629fae49393a05397450978507c4ef1');
  });

  it('accepts the right Digest answer to its own nonce; refuses a wrong password, a forged nonce, a wrong user', () => {
    const auth = new RtspAuthenticator({ username: 'admin', password: 'pa55' });
    const challenge = auth.challenge();
    assert.match(challenge[0]!, /^Digest realm="[^"]+", nonce="[0-9a-f]+"/);
    assert.match(challenge[1]!, /^Basic realm=/);
    const nonce = parseAuthParams(challenge[0]!.slice('Digest '.length))!.get('nonce')!;
    const answer = (password: string, n = nonce, username = 'admin') => {
      const response = digestResponse({ username, realm: auth.realm, password, method: 'DESCRIBE', uri: 'rtsp://h/s', nonce: n });
      return `Digest username="${username}", realm="${auth.realm}", nonce="${n}", uri="rtsp://h/s", response="${response}"`;
    };
    assert.deepEqual(auth.check('DESCRIBE', answer('pa55')), { ok: true, username: 'admin' });
    assert.deepEqual(auth.check('DESCRIBE', answer('wrong')), { ok: false, reason: 'wrong credentials', username: 'admin' });
    assert.deepEqual(auth.check('DESCRIBE', answer('pa55', undefined, 'root')), { ok: false, reason: 'wrong credentials', username: 'root' });
    const forged = '0'.repeat(44);
    assert.equal(auth.check('DESCRIBE', answer('pa55', forged)).ok, false);
    assert.equal(auth.check('PLAY', answer('pa55')).ok, false, 'the method is part of the digest');
    assert.deepEqual(auth.check('DESCRIBE', undefined), { ok: false, reason: 'missing' });
    assert.deepEqual(auth.check('DESCRIBE', 'Digest username="admin", nonce'), { ok: false, reason: 'malformed' });
    assert.deepEqual(auth.check('DESCRIBE', 'Bearer abc'), { ok: false, reason: 'unsupported scheme' });
  });

  it('accepts Basic with the right credentials only', () => {
    const auth = new RtspAuthenticator({ username: 'admin', password: 'pa:55' });
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    assert.equal(auth.check('OPTIONS', basic('admin:pa:55')).ok, true);
    assert.deepEqual(auth.check('OPTIONS', basic('admin:pa:5')), { ok: false, reason: 'wrong credentials', username: 'admin' });
    assert.deepEqual(auth.check('OPTIONS', 'Basic !!!'), { ok: false, reason: 'malformed' });
  });
});

describe('RTSP request framing (RFC 2326 §6, §10.12)', () => {
  function read(chunks: Array<string | Buffer>) {
    const events: RtspReadEvent[] = [];
    const reader = new RtspMessageReader((e) => events.push(e));
    for (const c of chunks) reader.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    return events;
  }

  it('reads requests split anywhere, with bodies, between interleaved frames', () => {
    const text = 'SET_PARAMETER rtsp://h/s RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 5\r\nX-A: 1\r\n  continued\r\n\r\nhello';
    const frame = Buffer.from([0x24, 1, 0, 3, 9, 9, 9]);
    const all = Buffer.concat([frame, Buffer.from(text, 'latin1'), Buffer.from('\r\nOPTIONS * RTSP/1.0\r\nCSeq: 8\r\n\r\n')]);
    const events = read([...all].map((b) => Buffer.from([b])));
    assert.deepEqual(events.map((e) => e.kind), ['interleaved', 'request', 'request']);
    const e1 = events[1]!;
    assert.ok(e1.kind === 'request');
    assert.equal(e1.request.method, 'SET_PARAMETER');
    assert.equal(e1.request.headers.get('cseq'), '7');
    assert.equal(e1.request.headers.get('x-a'), '1 continued');
    assert.equal(e1.request.body.toString(), 'hello');
  });

  it('garbage with an end is a 400 and the next request still reads; a header block over 16 KiB is a fatal 400', () => {
    const events = read(['\x16\x03\x01garbage\r\nCSeq: 3\r\n\r\n', 'OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n\r\n', `DESCRIBE rtsp://h/s RTSP/1.0\r\nCSeq: 5\r\nX: ${'a'.repeat(17000)}`, 'OPTIONS * RTSP/1.0\r\nCSeq: 6\r\n\r\n']);
    assert.equal(events.length, 3);
    assert.deepEqual(events[0], { kind: 'bad', status: 400, problem: "malformed request line '???garbage'", fatal: false, cseq: '3' });
    assert.equal(events[1]!.kind, 'request');
    assert.deepEqual(events[2], { kind: 'bad', status: 400, problem: 'header block longer than 16384 bytes', fatal: true, cseq: '5' });
  });

  it('a header line without a colon, a bad Content-Length and a huge body are refused', () => {
    assert.equal((read(['OPTIONS * RTSP/1.0\r\nCSeq 1\r\n\r\n'])[0] as { problem: string }).problem, "malformed header line 2 'CSeq 1'");
    assert.deepEqual(read(['OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -4\r\n\r\n'])[0], { kind: 'bad', status: 400, problem: "Content-Length '-4' is not a number", fatal: true, cseq: '1' });
    assert.equal((read(['OPTIONS * RTSP/1.0\r\nContent-Length: 999999\r\n\r\n'])[0] as { status: number }).status, 413);
  });
});

describe('RTSP Transport header (RFC 2326 §12.39)', () => {
  it('takes interleaved TCP and unicast UDP, the first acceptable alternative winning', () => {
    assert.deepEqual(chooseTransport('RTP/AVP/TCP;unicast;interleaved=0-1'), { kind: 'tcp', channels: [0, 1] });
    assert.deepEqual(chooseTransport('RTP/AVP/TCP;unicast'), { kind: 'tcp' });
    assert.deepEqual(chooseTransport('RTP/AVP;unicast;client_port=5000-5001'), { kind: 'udp', clientPorts: [5000, 5001] });
    assert.deepEqual(chooseTransport('RTP/AVP/UDP;unicast;client_port=5000-5001;mode=play'), { kind: 'udp', clientPorts: [5000, 5001] });
    assert.deepEqual(chooseTransport('RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=2-3'), { kind: 'tcp', channels: [2, 3] });
  });

  it('refuses multicast, other profiles, missing ports, record mode', () => {
    for (const t of ['RTP/AVP;multicast;client_port=1-2', 'RTP/SAVP;unicast;client_port=5000-5001', 'RTP/AVP;unicast', 'RTP/AVP/TCP;interleaved=300-301', 'RTP/AVP/TCP;interleaved=0-1;mode=record', undefined]) {
      assert.ok('problem' in chooseTransport(t), String(t));
    }
  });
});

describe('startRtspServer options', () => {
  it('refuses a frame size H.264 4:2:0 cannot take, a bad fps, a bad path', async () => {
    await assert.rejects(startRtspServer({ source: { width: 321, height: 240, frame: () => Buffer.alloc(0) }, fps: 10 }), /frame size 321x240/);
    await assert.rejects(startRtspServer({ source: movingSquare(), fps: 0 }), /fps 0/);
    await assert.rejects(startRtspServer({ source: movingSquare(), fps: 10, path: 'no-slash' }), /path 'no-slash'/);
  });
});
