/**
 * Ingest with the real Debian ffmpeg: decode a generated H.264 stream to exact rgb24 frames, and the
 * watchdog and error reasons against small local sources (a TCP server playing MPEG-TS that stalls on
 * purpose, a fake RTSP server answering 401 or 404, a closed port). Every ffmpeg is killed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { startRtspServer } from '@quanlink/simulators';
import { classifyFfmpegError, FrameAssembler, StreamIngest, type IngestState, type RgbFrame, type StreamProblem } from '../../src/video/ingest.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-ingest-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'S3cr3t-pa55';

function generate(name: string, args: string[]): string {
  const file = join(dir, name);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', ...args, file]);
  return file;
}

function captureLogger() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A server that answers every RTSP request with the given status line (enough for ffmpeg to fail clearly). */
async function fakeRtsp(status: string): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => {
      const cseq = /CSeq:\s*(\d+)/i.exec(data.toString())?.[1] ?? '1';
      socket.write(`RTSP/1.0 ${status}\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="cam"\r\nContent-Length: 0\r\n\r\n`);
    });
  });
  const port = await listen(server);
  return { port, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

describe('FrameAssembler', () => {
  it('issue 5: cuts a byte stream into exact frames whatever the chunk sizes', () => {
    const frameBytes = 2 * 2 * 3;
    const assembler = new FrameAssembler(frameBytes);
    const bytes = Buffer.from(Array.from({ length: frameBytes * 3 + 5 }, (_, i) => i));
    assert.deepEqual(assembler.push(Buffer.alloc(0)), []);
    const frames: Buffer[] = [];
    let offset = 0;
    for (const size of [1, 7, 13, 2, 18]) {
      frames.push(...assembler.push(bytes.subarray(offset, offset + size)));
      offset += size;
    }
    assert.equal(offset, bytes.length);
    assert.equal(frames.length, 3);
    frames.forEach((f, i) => assert.deepEqual(f, bytes.subarray(i * frameBytes, (i + 1) * frameBytes)));
    assembler.reset();
    assert.deepEqual(assembler.push(bytes.subarray(0, frameBytes)), [bytes.subarray(0, frameBytes)]);
  });
});

describe('classifyFfmpegError', () => {
  const where = 'rtsp://10.0.0.9:554/live';
  it('issue 5: names wrong credentials, a missing stream, a refused connection, a timeout, a stream without data and an undecodable one', () => {
    const cases: [string, string, RegExp][] = [
      ['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized', 'RtspUnauthorized', /^RTSP 401 Unauthorized: wrong camera credentials/],
      ['[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found', 'RtspNotFound', /^RTSP 404: stream not found at rtsp:\/\/10\.0\.0\.9:554\/live$/],
      ['rtsp://10.0.0.9:554/live: Connection refused', 'DeviceUnreachable', /^camera unreachable: connection refused at/],
      ['[tcp @ 0x1] Connection to tcp://10.0.0.9:554 failed: Connection timed out', 'DeviceTimeout', /^camera timed out/],
      // A stream described but stalled at the source: transient, not "not decodable".
      ['Output file #0 does not contain any stream', 'StreamNoData', /^the camera described its stream but sent no video data \(rtsp:\/\/10\.0\.0\.9:554\/live\); retrying$/],
      ['[h264 @ 0x1] Invalid data found when processing input', 'StreamInvalid', /^stream not decodable/],
      ['something odd happened', 'StreamEnded', /^ffmpeg exited with code 1: something odd happened$/],
    ];
    for (const [stderr, code, message] of cases) {
      const problem = classifyFfmpegError(stderr, where, 'ffmpeg exited with code 1');
      assert.equal(problem.code, code, stderr);
      assert.match(problem.message, message);
    }
  });
});

describe('StreamIngest with ffmpeg', { timeout: 60_000 }, () => {
  it('issue 5: a generated H.264 file decodes to frames of the configured size and count', async () => {
    const file = generate('clip.mp4', ['-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
    const frames: RgbFrame[] = [];
    const states: IngestState[] = [];
    const { logger } = captureLogger();
    const ingest = new StreamIngest({ camera: 'cam-file', url: file, width: 176, height: 144, fps: 5, logger, onFrame: (f) => frames.push(f), onState: (s) => states.push(s) });
    try {
      ingest.start();
      await until('the end of the file', () => states.includes('reconnecting'), 15_000);
    } finally {
      await ingest.stop();
    }
    // 3 s at 5 fps.
    assert.equal(frames.length, 15);
    for (const f of frames) {
      assert.equal(f.data.length, 176 * 144 * 3);
      assert.deepEqual([f.width, f.height], [176, 144]);
    }
    // testsrc's frames differ from each other: the frames are real pictures, not one repeated buffer.
    assert.notDeepEqual(frames[0]!.data, frames[10]!.data);
    assert.deepEqual(states.slice(0, 2), ['starting', 'running']);
    assert.equal(ingest.pid, undefined, 'no ffmpeg left');
  });

  it('issue 5: a stream that stalls is restarted by the watchdog and runs again within 5 s', async () => {
    const ts = readFileSync(generate('stream.ts', ['-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'mpegts']));
    let connections = 0;
    const sockets = new Set<Socket>();
    // First connection: half the stream, then silence with the socket open (a stalled camera). Later ones: all of it.
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      connections++;
      socket.write(connections === 1 ? ts.subarray(0, Math.floor(ts.length / 2) - (Math.floor(ts.length / 2) % 188)) : ts);
    });
    const port = await listen(server);
    const states: { state: IngestState; problem?: StreamProblem; at: number }[] = [];
    let frames = 0;
    const pids = new Set<number>();
    const { logger } = captureLogger();
    const ingest = new StreamIngest({
      camera: 'cam-stall',
      url: `tcp://127.0.0.1:${port}`,
      width: 160,
      height: 120,
      fps: 10,
      stallTimeoutMs: 1500,
      retry: { initialDelayMs: 200, maxDelayMs: 1000 },
      logger,
      onFrame: () => {
        frames++;
        if (ingest.pid) pids.add(ingest.pid);
      },
      onState: (state, problem) => states.push({ state, ...(problem ? { problem } : {}), at: Date.now() }),
    });
    try {
      ingest.start();
      await until('the stall', () => states.some((s) => s.state === 'stalled'), 10_000);
      const stalledAt = states.find((s) => s.state === 'stalled')!;
      assert.equal(stalledAt.problem?.code, 'StreamStalled');
      assert.match(stalledAt.problem!.message, /no frame for \d+(\.\d)? s from tcp:\/\/127\.0\.0\.1:\d+ \(stall timeout 1500 ms\)/);
      const framesBefore = frames;
      await until('recovery', () => states.filter((s) => s.state === 'running').length >= 2, 5000);
      const recovered = states.filter((s) => s.state === 'running')[1]!;
      assert.ok(recovered.at - stalledAt.at < 5000, `recovered ${recovered.at - stalledAt.at} ms after the stall`);
      await until('frames after the restart', () => frames > framesBefore + 5, 5000);
      // The replayed stream decodes faster than real time and may stall again: every restart is a new ffmpeg.
      assert.ok(ingest.stats.restarts >= 1);
      assert.ok(connections >= 2);
      assert.ok(pids.size >= 2 && pids.size <= ingest.stats.restarts + 1, `${pids.size} ffmpeg pids delivered frames over ${ingest.stats.restarts} restarts`);
    } finally {
      await ingest.stop();
      for (const s of sockets) s.destroy();
      server.close();
    }
    assert.equal(ingest.pid, undefined);
    assert.equal(ingest.stats.state, 'stopped');
  });

  it('issue 5: the RTSP simulator stalls: the watchdog restarts ffmpeg, and frames flow again within 6 s of the stall ending', async () => {
    let n = 0;
    const source = { width: 160, height: 120, frame: () => Buffer.alloc(160 * 120 * 3, (n++ * 7) % 256) };
    const rtsp = await startRtspServer({ source, fps: 10, credentials: { username: 'admin', password: SECRET } });
    const states: { state: IngestState; at: number }[] = [];
    let frames = 0;
    const { lines, logger } = captureLogger();
    const ingest = new StreamIngest({
      camera: 'cam-rtsp-stall',
      url: rtsp.url,
      username: 'admin',
      password: SECRET,
      width: 160,
      height: 120,
      fps: 10,
      stallTimeoutMs: 1500,
      retry: { initialDelayMs: 200, maxDelayMs: 1000 },
      logger,
      onFrame: () => void frames++,
      onState: (state) => states.push({ state, at: Date.now() }),
    });
    try {
      ingest.start();
      await until('frames', () => frames >= 10, 15_000);
      rtsp.stall(true);
      await until('the watchdog', () => states.some((s) => s.state === 'stalled'), 5000);
      await sleep(500);
      const stallEnded = Date.now();
      rtsp.stall(false);
      const before = frames;
      await until('frames again', () => frames > before + 5 && ingest.stats.state === 'running', 10_000);
      const recoveredIn = Date.now() - stallEnded;
      assert.ok(recoveredIn < 6000, `recovered ${recoveredIn} ms after the stall ended`);
      assert.ok(ingest.stats.restarts >= 1);
    } finally {
      await ingest.stop();
      await rtsp.close();
    }
    assert.equal(ingest.pid, undefined);
    assert.ok(!lines.join('').includes(SECRET));
  });

  for (const [status, code, message] of [
    ['401 Unauthorized', 'RtspUnauthorized', /^RTSP 401 Unauthorized: wrong camera credentials \(rtsp:\/\/127\.0\.0\.1:\d+\/live\)$/],
    ['404 Not Found', 'RtspNotFound', /^RTSP 404: stream not found at rtsp:\/\/127\.0\.0\.1:\d+\/live$/],
  ] as const) {
    it(`issue 5: an RTSP server answering ${status} gives a clear error state, and the password is in no log line`, async () => {
      const rtsp = await fakeRtsp(status);
      const { lines, logger } = captureLogger();
      const states: { state: IngestState; problem?: StreamProblem }[] = [];
      const ingest = new StreamIngest({
        camera: 'cam-auth',
        url: `rtsp://127.0.0.1:${rtsp.port}/live`,
        username: 'admin',
        password: SECRET,
        width: 160,
        height: 120,
        fps: 5,
        retry: { initialDelayMs: 5000 },
        logger,
        onFrame: () => assert.fail('no frame expected'),
        onState: (state, problem) => states.push({ state, ...(problem ? { problem } : {}) }),
      });
      try {
        ingest.start();
        await until('the error', () => states.some((s) => s.state === 'error'), 10_000);
      } finally {
        await ingest.stop();
        await rtsp.close();
      }
      const error = states.find((s) => s.state === 'error')!;
      assert.equal(error.problem?.code, code);
      assert.match(error.problem!.message, message);
      const log = lines.join('');
      assert.match(log, /stream down/);
      assert.ok(!log.includes(SECRET), 'the password never reaches the log');
      assert.ok(!log.includes('admin:'), 'no user:password pair in the log');
    });
  }

  it('issue 5: a bad address (closed port) says the camera is unreachable and retries', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    const states: { state: IngestState; problem?: StreamProblem }[] = [];
    const { lines, logger } = captureLogger();
    const ingest = new StreamIngest({
      camera: 'cam-gone',
      url: `rtsp://127.0.0.1:${port}/live`,
      username: 'admin',
      password: SECRET,
      width: 160,
      height: 120,
      fps: 5,
      retry: { initialDelayMs: 100, maxDelayMs: 200 },
      logger,
      onFrame: () => {},
      onState: (state, problem) => states.push({ state, ...(problem ? { problem } : {}) }),
    });
    try {
      ingest.start();
      await until('two attempts', () => ingest.stats.restarts >= 1 && states.some((s) => s.state === 'reconnecting'), 10_000);
    } finally {
      await ingest.stop();
    }
    const down = states.find((s) => s.state === 'reconnecting')!;
    assert.equal(down.problem?.code, 'DeviceUnreachable');
    assert.equal(down.problem?.message, `camera unreachable: connection refused at rtsp://127.0.0.1:${port}/live`);
    assert.ok(!lines.join('').includes(SECRET));
  });
});
