/**
 * Test helpers for the RTSP server: a synthetic moving picture, ffmpeg/ffprobe children that are
 * always reaped, a raw RTSP client for protocol tests, and a look at decoded frames.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { FrameSource } from '../../src/rtsp/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const SQUARE = 40;

/**
 * A bright square moving across a dark textured background: each frame() moves it 10 px (a still
 * would not pass). The texture makes keyframes larger than one RTP packet, so FU-A is exercised.
 */
export function movingSquare(width = 320, height = 240): FrameSource & { calls: number } {
  const background = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) background.fill(60 + (((x * 7 + y * 13) ^ (x * y)) & 63), (y * width + x) * 3, (y * width + x + 1) * 3);
  }
  const src = {
    width,
    height,
    calls: 0,
    frame(): Buffer {
      const buf = Buffer.from(background);
      const span = width - SQUARE;
      const step = (src.calls++ * 10) % (2 * span);
      const x0 = step < span ? step : 2 * span - step; // back and forth, never jumps
      const y0 = Math.floor((height - SQUARE) / 2);
      for (let y = y0; y < y0 + SQUARE; y++) buf.fill(250, (y * width + x0) * 3, (y * width + x0 + SQUARE) * 3);
      return buf;
    },
  };
  return src;
}

/** Centre x of the bright pixels of an RGB24 frame, and how many there are. */
export function brightCentroid(frame: Buffer, width: number): { x: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let i = 0, p = 0; i + 2 < frame.length; i += 3, p++) {
    if (frame[i]! > 200 && frame[i + 1]! > 200 && frame[i + 2]! > 200) {
      sum += p % width;
      count++;
    }
  }
  return { x: count ? sum / count : NaN, count };
}

const children = new Set<ChildProcess>();

/** Kills every child a test started that is still running. */
export async function killChildren(): Promise<void> {
  const waits = [...children].map((c) => new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    c.once('exit', () => r());
    c.kill('SIGKILL');
  }));
  await Promise.all(waits);
}

export interface ToolRun {
  child: ChildProcess;
  /** Resolves when the child exits (killed after timeoutMs). */
  done: Promise<{ code: number | null; signal: string | null; stdout: Buffer; stderr: string }>;
  /** Bytes of stdout so far. */
  stdoutBytes(): number;
}

export function runTool(cmd: 'ffmpeg' | 'ffprobe', args: string[], timeoutMs = 15000): ToolRun {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const out: Buffer[] = [];
  let bytes = 0;
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    out.push(c);
    bytes += c.length;
  });
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: string | null; stdout: Buffer; stderr: string }>((resolve) => {
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr });
    });
  });
  return { child, done, stdoutBytes: () => bytes };
}

export async function ffprobe(url: string, transport: 'tcp' | 'udp', timeoutMs = 15000) {
  const r = await runTool('ffprobe', ['-v', 'error', '-rtsp_transport', transport, '-show_streams', '-of', 'json', url], timeoutMs).done;
  return { ...r, json: r.code === 0 ? (JSON.parse(r.stdout.toString('utf8')) as { streams: Array<{ codec_name: string; width: number; height: number; profile: string }> }) : undefined };
}

/** Decodes `frames` frames as rgb24 from the stream. */
export function decodeFrames(url: string, transport: 'tcp' | 'udp', frames: number, timeoutMs = 15000): ToolRun {
  return runTool('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', transport, '-i', url, '-frames:v', String(frames), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], timeoutMs);
}

/** Encoder children (libx264 ffmpeg) of this process, from /proc. */
export async function encoderChildren(): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes('libx264')) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pino logger that keeps its lines for assertions. */
export function memoryLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export interface RtspResponse {
  status: number;
  reason: string;
  headers: Map<string, string[]>;
  body: string;
  header(name: string): string | undefined;
}

/** A hand-driven RTSP client over a raw socket: sends any bytes, reads responses and interleaved RTP. */
export class RawRtspClient {
  private buf = Buffer.alloc(0);
  private readonly responses: RtspResponse[] = [];
  private waiters: Array<() => void> = [];
  readonly rtp: Array<{ channel: number; packet: Buffer }> = [];
  closed = false;
  private cseq = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawRtspClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new RawRtspClient(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length === 0) return;
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) return;
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + len) return;
        this.rtp.push({ channel: this.buf[1]!, packet: Buffer.from(this.buf.subarray(4, 4 + len)) });
        this.buf = this.buf.subarray(4 + len);
        this.wake();
        continue;
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^RTSP\/1\.0 (\d{3}) (.*)$/.exec(head[0]!);
      if (!m) throw new Error(`not an RTSP response: ${head[0]}`);
      const headers = new Map<string, string[]>();
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim().toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
      }
      const length = Number(headers.get('content-length')?.[0] ?? 0);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buf = this.buf.subarray(end + 4 + length);
      this.responses.push({ status: Number(m[1]), reason: m[2]!, headers, body, header: (n) => headers.get(n.toLowerCase())?.[0] });
      this.wake();
    }
  }

  /** Waits until cond() holds or the socket closes; fails after timeoutMs. */
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async nextResponse(timeoutMs = 5000): Promise<RtspResponse> {
    await this.until(() => this.responses.length > 0, timeoutMs, 'a response');
    return this.responses.shift()!;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a request with the next CSeq and waits for its response. */
  async request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RtspResponse> {
    let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${++this.cseq}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    this.sendRaw(`${text}\r\n`);
    const res = await this.nextResponse();
    const cseq = res.header('cseq');
    if (cseq !== String(this.cseq)) throw new Error(`CSeq ${cseq} in the answer to ${this.cseq}`);
    return res;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A UDP port pair (even RTP, odd RTCP) that collects what arrives on the RTP port. */
export async function udpReceiver(): Promise<{ rtpPort: number; packets: Buffer[]; close(): void }> {
  for (let i = 0; i < 20; i++) {
    const rtp = dgram.createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', () => r()));
    const port = rtp.address().port;
    if (port % 2) {
      rtp.close();
      continue;
    }
    const rtcp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      rtcp.once('error', () => r(false));
      rtcp.bind(port + 1, '127.0.0.1', () => r(true));
    });
    if (!ok) {
      rtp.close();
      continue;
    }
    const packets: Buffer[] = [];
    rtp.on('message', (m) => packets.push(m));
    return { rtpPort: port, packets, close: () => (rtp.close(), rtcp.close()) };
  }
  throw new Error('no UDP port pair');
}

/** Fields of an RTP packet's fixed header, and the H.264 NAL type of its payload (FU-A: the fragment's type). */
export function rtpInfo(packet: Buffer) {
  const payload = packet.subarray(12);
  const type = payload[0]! & 0x1f;
  return {
    version: packet[0]! >> 6,
    marker: (packet[1]! & 0x80) !== 0,
    payloadType: packet[1]! & 0x7f,
    seq: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    nalType: type === 28 ? payload[1]! & 0x1f : type,
    fuStart: type === 28 ? (payload[1]! & 0x80) !== 0 : undefined,
  };
}
