/**
 * The RTSP server against independent clients: Debian ffprobe and ffmpeg, over RTP/TCP
 * (interleaved) and RTP/UDP, several at once, with Digest auth, and under stall/disconnect faults.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRtspServer, type RtspServer } from '../../src/rtsp/index.js';
import { brightCentroid, decodeFrames, ffprobe, killChildren, memoryLogger, movingSquare, runTool, sleep, SQUARE } from './helpers.js';

const W = 320;
const H = 240;
/** 20 fps and a keyframe every half second: ffmpeg's stream probe wants ~20 frames and a client joins at a keyframe, so this keeps each client run short. */
const FPS = 20;
const GOP = 10;
const FRAME = W * H * 3;

function frames(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off + FRAME <= raw.length; off += FRAME) out.push(raw.subarray(off, off + FRAME));
  return out;
}

/** Every frame shows the square, and it is not a still: it sits in several places. */
function assertMovingSquare(decoded: Buffer[], what: string): void {
  const centroids = decoded.map((f) => brightCentroid(f, W));
  for (const [i, c] of centroids.entries()) assert.ok(Math.abs(c.count - SQUARE * SQUARE) < 0.25 * SQUARE * SQUARE, `${what}: frame ${i} shows the square (${c.count} bright pixels)`);
  const places = new Set(centroids.map((c) => Math.round(c.x / 4)));
  assert.ok(places.size >= decoded.length / 2, `${what}: the square moved (${centroids.map((c) => c.x.toFixed(0)).join(' ')})`);
}

describe('issue 5: camera simulator RTSP with ffprobe/ffmpeg as clients', () => {
  let server: RtspServer;
  before(async () => {
    server = await startRtspServer({ source: movingSquare(W, H), fps: FPS, gop: GOP });
  });
  after(async () => {
    await killChildren();
    await server?.close();
  });

  for (const transport of ['tcp', 'udp'] as const) {
    it(`issue 5: ffprobe sees H.264 ${W}x${H} over RTP/${transport.toUpperCase()}`, async () => {
      const r = await ffprobe(server.url, transport);
      assert.equal(r.code, 0, r.stderr);
      const [stream] = r.json!.streams;
      assert.equal(stream?.codec_name, 'h264');
      assert.equal(stream?.width, W);
      assert.equal(stream?.height, H);
      assert.match(stream!.profile, /Baseline/);
    });
  }

  for (const transport of ['tcp', 'udp'] as const) {
    it(`issue 5: ffmpeg decodes 10 frames of a moving picture over RTP/${transport.toUpperCase()}`, async () => {
      const r = await decodeFrames(server.url, transport, 10).done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'the decoder saw no broken packets');
      const decoded = frames(r.stdout);
      assert.equal(decoded.length, 10);
      assertMovingSquare(decoded, transport);
    });
  }

  it('issue 5: three clients at once (TCP, TCP, UDP) all get frames', async () => {
    const runs = (['tcp', 'tcp', 'udp'] as const).map((t) => ({ t, run: decodeFrames(server.url, t, 5) }));
    let seen = 0;
    const watch = (async () => {
      while (runs.some((r) => r.run.child.exitCode === null)) {
        seen = Math.max(seen, server.clients().filter((c) => c.playing).length);
        if (seen === 3) return;
        await sleep(50);
      }
    })();
    const results = await Promise.all(runs.map((r) => r.run.done));
    await watch;
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `${runs[i]!.t} client: ${r.stderr}`);
      const decoded = frames(r.stdout);
      assert.equal(decoded.length, 5);
      assertMovingSquare(decoded, `client ${i} (${runs[i]!.t})`);
    }
    assert.equal(seen, 3, 'the server served the three together');
  });

  it('issue 5: stall(true) stops frames reaching a playing client, stall(false) resumes them; disconnectAll drops it', async () => {
    const run = runTool('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', server.url, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], 20000);
    const framesOut = () => Math.floor(run.stdoutBytes() / FRAME);
    const waitFrames = async (n: number, ms: number) => {
      const deadline = Date.now() + ms;
      while (framesOut() < n && Date.now() < deadline) await sleep(50);
      return framesOut();
    };
    assert.ok((await waitFrames(3, 8000)) >= 3, 'frames before the stall');
    server.stall(true);
    await sleep(800); // what was already in flight
    const atStall = framesOut();
    const packetsAtStall = server.stats().packetsSent;
    await sleep(1500);
    assert.equal(framesOut(), atStall, 'no frame while stalled');
    assert.equal(server.stats().packetsSent, packetsAtStall, 'no RTP packet while stalled');
    assert.equal(server.clients().length, 1, 'the connection stays open');
    assert.equal(run.child.exitCode, null);
    server.stall(false);
    assert.ok((await waitFrames(atStall + 3, 4000)) >= atStall + 3, 'frames again after the stall (from the next keyframe)');

    server.disconnectAll();
    assert.deepEqual(server.clients(), []);
    const exit = await Promise.race([run.done, sleep(6000).then(() => undefined)]);
    assert.ok(exit, 'the client noticed the dropped connection and ended');
  });
});

describe('issue 5: camera simulator RTSP Digest authentication with ffprobe', () => {
  let server: RtspServer;
  const { logger, lines } = memoryLogger('info');
  const password = 'Cam3ra-Secret';
  before(async () => {
    server = await startRtspServer({ source: movingSquare(W, H), fps: FPS, gop: GOP, credentials: { username: 'admin', password }, logger });
  });
  after(async () => {
    await killChildren();
    await server?.close();
  });

  it('issue 5: the right credentials (rtsp://user:pass@...) give the stream; the URL has none', async () => {
    assert.doesNotMatch(server.url, /@/);
    const r = await ffprobe(server.url.replace('rtsp://', `rtsp://admin:${password}@`), 'tcp');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.streams[0]?.codec_name, 'h264');
  });

  it('issue 5: wrong or missing credentials give 401; the failed attempt is logged with the address, never the password', async () => {
    const wrong = await ffprobe(server.url.replace('rtsp://', 'rtsp://admin:not-it@'), 'tcp');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /401/);
    const none = await ffprobe(server.url, 'tcp');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /401/);
    const failed = lines.filter((l) => l.includes('RTSP authentication failed')).map((l) => JSON.parse(l) as { remote: string; username: string });
    assert.ok(failed.length >= 1);
    assert.match(failed[0]!.remote, /^127\.0\.0\.1:\d+$/);
    assert.equal(failed[0]!.username, 'admin');
    for (const l of lines) {
      assert.ok(!l.includes(password) && !l.includes('not-it'), `a log line holds a password: ${l}`);
    }
  });
});
