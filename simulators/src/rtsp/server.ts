/**
 * The camera simulator's RTSP 1.0 server (RFC 2326): one H.264 stream, served to several clients
 * at once over RTP interleaved in the RTSP connection (TCP) or over UDP, optionally behind Digest
 * or Basic authentication, with stall and disconnect fault injection.
 *
 * Encoder lifecycle: one ffmpeg per server, started lazily when a client plays (or when a DESCRIBE
 * needs the parameter sets before any were seen), stopped ENCODER_LINGER_MS after the last client
 * stops playing, so an idle simulator costs nothing and a client that reconnects at once (a
 * watchdog) does not restart ffmpeg. SPS and PPS are kept across encoder runs (same settings, same
 * parameter sets) so later DESCRIBEs answer at once.
 *
 * Sessions belong to the RTSP connection that made them: closing it ends them (TCP and UDP alike).
 * A UDP session also ends after sessionTimeoutS without a request or RTCP from the client.
 */
import net from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import { RtspAuthenticator, type Credentials } from './auth.js';
import { H264Encoder, type EncodedFrame, type FrameSource } from './encoder.js';
import { NAL_TYPE, nalType } from './h264.js';
import { formatResponse, RtspMessageReader, type RtspReadEvent, type RtspRequest } from './message.js';
import { packetizeH264, RtpStream } from './rtp.js';
import { buildSdp, TRACK_CONTROL } from './sdp.js';
import { chooseTransport } from './transport.js';
import { bindUdpPortPair, type UdpPortPair } from './udp-ports.js';

export interface RtspServerOptions {
  source: FrameSource;
  fps: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = any free port (the default). */
  port?: number;
  /** Default '/stream1'. */
  path?: string;
  /** When set, RTSP requests need Digest (RFC 2617, as RTSP cameras do) or Basic auth with these. */
  credentials?: Credentials;
  /** Keyframe every N frames (default fps, i.e. one a second). */
  gop?: number;
  /** Constant bitrate target; default libx264's quality-based rate control (CRF 23). */
  bitrateKbps?: number;
  logger?: Logger;
  /** A UDP session without a request or RTCP for this long is dropped. Default 60. */
  sessionTimeoutS?: number;
  /** The encoder keeps running this long after the last client stops playing. Default 2000. */
  encoderLingerMs?: number;
  /** Default 'ffmpeg' from PATH. */
  ffmpegPath?: string;
}

export interface RtspClientInfo {
  /** The RTSP session id. */
  id: string;
  transport: 'tcp' | 'udp';
  playing: boolean;
  /** The RTSP connection's peer, address:port. */
  remote: string;
}

export interface RtspStats {
  /** Access units that came out of the encoder (all encoder runs). */
  framesEncoded: number;
  /** RTP packets sent, summed over clients. */
  packetsSent: number;
  /** RTP bytes (headers included, interleaving framing not) sent, summed over clients. */
  bytesSent: number;
  /** Date.now() when a frame last went to any client; null before the first. */
  lastFrameSentAt: number | null;
}

export interface RtspServer {
  /** rtsp://host:port/path, never with credentials. */
  readonly url: string;
  readonly port: number;
  clients(): RtspClientInfo[];
  /** Fault injection: keep connections open but send no more frames until stall(false). Clients resume at the next keyframe. */
  stall(on: boolean): void;
  /** Fault injection: drop every client connection (and its sessions) now. */
  disconnectAll(): void;
  stats(): RtspStats;
  /** The running encoder's process id, if one runs (diagnostics and tests). */
  encoderPid(): number | undefined;
  close(): Promise<void>;
}

const SERVER_NAME = 'Quanlink camera simulator';
const SUPPORTED = ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER'];
/** Methods of RFC 2326 that this stream does not allow (405 rather than 501). */
const NOT_ALLOWED = ['ANNOUNCE', 'RECORD', 'REDIRECT'];
const PARAMETER_SETS_WAIT_MS = 5000;
/** First restart delay after the encoder dies; doubles on each failure in a row, up to the max. */
const ENCODER_RESTART_MS = 1000;
const ENCODER_RESTART_MAX_MS = 30_000;
/** A TCP client this far behind gets frames skipped until it catches up, then the next keyframe. */
const TCP_BACKLOG_LIMIT = 2 * 1024 * 1024;

type SessionTransport =
  | { kind: 'tcp'; rtpChannel: number; rtcpChannel: number }
  | { kind: 'udp'; address: string; rtpPort: number; rtcpPort: number };

interface Connection {
  socket: net.Socket;
  remote: string;
  sessions: Set<Session>;
  /** Requests are answered one after the other, in order. */
  queue: Promise<void>;
  nextChannel: number;
}

interface Session {
  id: string;
  conn: Connection;
  transport: SessionTransport;
  state: 'ready' | 'playing';
  rtp: RtpStream;
  /** Wait for an IDR before sending: a decoder cannot start (or resume) on a P frame. */
  needKeyframe: boolean;
  lastSeen: number;
}

type Target = { kind: 'any' } | { kind: 'aggregate' | 'track'; base: string } | { kind: 'unknown track' | 'not found' };

let sharedLogger: Logger | undefined;
function defaultLogger(): Logger {
  sharedLogger ??= pino({ name: 'rtsp', level: process.env['LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  return sharedLogger;
}

function checkOptions(o: RtspServerOptions): void {
  const { width, height } = o.source;
  const problems: string[] = [];
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 4096 || height > 4096 || width % 2 || height % 2) {
    problems.push(`frame size ${width}x${height} must be even integers 16..4096 (H.264 4:2:0)`);
  }
  if (!(o.fps > 0 && o.fps <= 120)) problems.push(`fps ${o.fps} must be in (0, 120]`);
  if (o.gop !== undefined && !(Number.isInteger(o.gop) && o.gop >= 1)) problems.push(`gop ${o.gop} must be an integer >= 1`);
  if (o.bitrateKbps !== undefined && !(Number.isInteger(o.bitrateKbps) && o.bitrateKbps >= 16)) problems.push(`bitrateKbps ${o.bitrateKbps} must be an integer >= 16`);
  if (o.path !== undefined && !/^\/[\x21-\x7e]*$/.test(o.path)) problems.push(`path '${o.path}' must start with / and hold no spaces`);
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) problems.push(`port ${o.port} out of range`);
  if (o.credentials && (o.credentials.username === '' || /[:\r\n"]/.test(o.credentials.username))) problems.push('credentials.username must be non-empty without : " or line breaks');
  if (problems.length) throw new Error(`RTSP server options: ${problems.join('; ')}`);
}

export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  checkOptions(opts);
  const server = new RtspServerImpl(opts);
  await server.listen();
  return server;
}

class RtspServerImpl implements RtspServer {
  private readonly host: string;
  private readonly path: string;
  private readonly log: Logger;
  private readonly auth: RtspAuthenticator | undefined;
  private readonly sessionTimeoutMs: number;
  private readonly lingerMs: number;
  private readonly sdpSessionId = String(randomInt(1, 2 ** 47));
  private readonly tcp = net.createServer((socket) => this.accept(socket));
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private boundPort = 0;
  private device = '';
  private udp: Promise<UdpPortPair> | undefined;
  /** The bound pair, once udp has resolved (a UDP session exists only after that). */
  private udpPair: UdpPortPair | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  private encoder: H264Encoder | undefined;
  private readonly stoppingEncoders = new Set<Promise<void>>();
  private lingerTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private describeWaiters = 0;
  private parameterSetWaiters: Array<(ok: boolean) => void> = [];
  private sps: Buffer | undefined;
  private pps: Buffer | undefined;
  private lastEncoderFailure: string | undefined;
  private encoderFailuresInARow = 0;

  private stalled = false;
  private closing: Promise<void> | undefined;
  private counters = { framesEncoded: 0, packetsSent: 0, bytesSent: 0, lastFrameSentAt: null as number | null };

  constructor(private readonly opts: RtspServerOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.path = (opts.path ?? '/stream1').replace(/\/+$/, '') || '/';
    this.log = opts.logger ?? defaultLogger();
    this.auth = opts.credentials ? new RtspAuthenticator(opts.credentials) : undefined;
    this.sessionTimeoutMs = (opts.sessionTimeoutS ?? 60) * 1000;
    this.lingerMs = opts.encoderLingerMs ?? 2000;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `rtsp://${host}:${this.boundPort}${this.path}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen({ host: this.host, port: this.opts.port ?? 0 }, () => {
        this.tcp.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.tcp.address() as net.AddressInfo).port;
    this.device = `rtsp ${this.url}`;
    this.tcp.on('error', (err) => this.log.error({ device: this.device, operation: 'listen', err: err.message }, 'RTSP server error'));
    const sweepMs = Math.min(5000, Math.max(100, this.sessionTimeoutMs / 4));
    this.sweepTimer = setInterval(() => this.expireIdleSessions(), sweepMs);
    this.sweepTimer.unref();
    this.log.info({ device: this.device, size: `${this.opts.source.width}x${this.opts.source.height}`, fps: this.opts.fps, auth: this.auth ? 'digest' : 'none' }, 'RTSP server listening');
  }

  clients(): RtspClientInfo[] {
    return [...this.sessions.values()].map((s) => ({ id: s.id, transport: s.transport.kind, playing: s.state === 'playing', remote: s.conn.remote }));
  }

  stall(on: boolean): void {
    if (this.stalled === on) return;
    this.stalled = on;
    if (!on) for (const s of this.sessions.values()) s.needKeyframe = true;
    this.log.info({ device: this.device, operation: 'fault' }, on ? 'stream stalled' : 'stream resumed');
  }

  disconnectAll(): void {
    const count = this.connections.size;
    for (const conn of [...this.connections]) this.dropConnection(conn, 'disconnectAll');
    this.log.info({ device: this.device, operation: 'fault', connections: count }, 'every client disconnected');
  }

  stats(): RtspStats {
    return { ...this.counters };
  }

  encoderPid(): number | undefined {
    return this.encoder?.pid;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearTimeout(this.lingerTimer);
    clearTimeout(this.restartTimer);
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const conn of [...this.connections]) this.dropConnection(conn, 'server closing');
    for (const resolve of this.parameterSetWaiters.splice(0)) resolve(false);
    this.stopEncoder();
    await Promise.all([...this.stoppingEncoders]);
    const udp = await this.udp?.catch(() => undefined);
    await udp?.close();
    await closed;
    this.log.info({ device: this.device }, 'RTSP server closed');
  }

  // ---- connections and requests ----

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn: Connection = { socket, remote: `${socket.remoteAddress}:${socket.remotePort}`, sessions: new Set(), queue: Promise.resolve(), nextChannel: 0 };
    this.connections.add(conn);
    const reader = new RtspMessageReader((event) => this.onReadEvent(conn, event));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', (err) => this.log.debug({ device: this.device, remote: conn.remote, err: err.message }, 'RTSP connection error'));
    socket.on('close', () => this.dropConnection(conn, 'connection closed'));
    this.log.debug({ device: this.device, remote: conn.remote }, 'RTSP connection opened');
  }

  private dropConnection(conn: Connection, why: string): void {
    if (!this.connections.delete(conn)) return;
    conn.socket.destroy();
    for (const session of [...conn.sessions]) this.endSession(session, why);
  }

  private onReadEvent(conn: Connection, event: RtspReadEvent): void {
    switch (event.kind) {
      case 'interleaved':
        // RTCP receiver reports over the connection: the client is alive.
        for (const s of conn.sessions) s.lastSeen = performance.now();
        return;
      case 'bad': {
        this.log.warn({ device: this.device, operation: 'request', remote: conn.remote, status: event.status, problem: event.problem }, 'bad RTSP request');
        const response = formatResponse(event.status, this.baseHeaders(event.cseq));
        if (event.fatal) {
          conn.socket.end(response);
          setTimeout(() => this.dropConnection(conn, 'bad request'), 1000).unref();
        } else {
          conn.socket.write(response);
        }
        return;
      }
      case 'request':
        conn.queue = conn.queue
          .then(() => this.handle(conn, event.request))
          .catch((err: unknown) => {
            this.log.error({ device: this.device, operation: event.request.method, remote: conn.remote, err: err instanceof Error ? err.message : String(err) }, 'RTSP request failed');
            this.reply(conn, event.request, 500);
          });
    }
  }

  private baseHeaders(cseq: string | undefined): Array<[string, string]> {
    return [...(cseq !== undefined ? [['CSeq', cseq] as [string, string]] : []), ['Date', new Date().toUTCString()], ['Server', SERVER_NAME]];
  }

  private reply(conn: Connection, req: RtspRequest, status: number, headers: Array<[string, string]> = [], body?: string): void {
    if (conn.socket.destroyed || !conn.socket.writable) return;
    conn.socket.write(formatResponse(status, [...this.baseHeaders(req.headers.get('cseq')?.trim()), ...headers], body));
  }

  private async handle(conn: Connection, req: RtspRequest): Promise<void> {
    if (!this.connections.has(conn)) return;
    const cseq = req.headers.get('cseq');
    const refuse = (status: number, problem: string, headers: Array<[string, string]> = []) => {
      this.log.warn({ device: this.device, operation: req.method, remote: conn.remote, uri: req.uri, status, problem }, 'RTSP request refused');
      this.reply(conn, req, status, headers);
    };
    if (cseq === undefined || !/^\d{1,10}$/.test(cseq.trim())) return refuse(400, 'missing or malformed CSeq');
    if (req.version !== 'RTSP/1.0') return refuse(505, `version ${req.version}`);
    if (!SUPPORTED.includes(req.method)) {
      if (NOT_ALLOWED.includes(req.method)) return refuse(405, `${req.method} is not allowed on a camera stream`, [['Allow', SUPPORTED.join(', ')]]);
      return refuse(501, `unknown method ${req.method}`);
    }
    if (this.auth) {
      const check = this.auth.check(req.method, req.headers.get('authorization'));
      if (!check.ok) {
        if (check.reason !== 'missing' && check.reason !== 'stale nonce') {
          // Who and how, never what password was tried.
          this.log.warn({ device: this.device, operation: 'auth', remote: conn.remote, method: req.method, username: check.username, reason: check.reason }, 'RTSP authentication failed');
        }
        this.reply(conn, req, 401, this.auth.challenge(check.reason === 'stale nonce').map((c) => ['WWW-Authenticate', c] as [string, string]));
        return;
      }
    }
    const target = this.resolve(req.uri);
    const sessionId = req.headers.get('session')?.split(';')[0]!.trim();
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (session && session.conn === conn) session.lastSeen = performance.now();
    const needSession = (): Session | undefined => {
      if (sessionId === undefined) refuse(454, 'no Session header (SETUP first)');
      else if (!session || session.conn !== conn) refuse(454, `unknown session ${sessionId.slice(0, 40)}`);
      else return session;
      return undefined;
    };
    const needStream = (): { base: string } | undefined => {
      if (target.kind === 'aggregate' || target.kind === 'track') return target;
      refuse(404, target.kind === 'unknown track' ? `unknown track in ${req.uri}` : `no stream at ${req.uri} (serving ${this.path})`);
      return undefined;
    };

    switch (req.method) {
      case 'OPTIONS':
        if (target.kind !== 'any' && !needStream()) return;
        return this.reply(conn, req, 200, [['Public', SUPPORTED.join(', ')]]);
      case 'GET_PARAMETER':
      case 'SET_PARAMETER': {
        if (sessionId !== undefined && !needSession()) return;
        if (req.body.length > 0) return refuse(451, `${req.method} parameters are not supported`);
        return this.reply(conn, req, 200, session ? [['Session', this.sessionHeader(session)]] : []);
      }
      case 'DESCRIBE': {
        const stream = needStream();
        if (!stream) return;
        const ok = await this.parameterSets();
        if (!ok || !this.sps || !this.pps) return refuse(503, `encoder not ready${this.lastEncoderFailure ? `: ${this.lastEncoderFailure}` : ''}`);
        const { width, height } = this.opts.source;
        const sdp = buildSdp({ host: this.host, sessionId: this.sdpSessionId, sps: this.sps, pps: this.pps, fps: this.opts.fps, width, height });
        return this.reply(conn, req, 200, [['Content-Base', `${stream.base}/`], ['Content-Type', 'application/sdp']], sdp);
      }
      case 'SETUP':
        return this.setup(conn, req, target, sessionId, session, refuse);
      case 'PLAY': {
        const stream = needStream();
        if (!stream) return;
        const s = needSession();
        if (!s) return;
        if (s.state !== 'playing') {
          s.state = 'playing';
          s.needKeyframe = true;
        }
        const rtptime = s.rtp.started ? s.rtp.timestampFor(performance.now()) : s.rtp.initialTimestamp;
        this.reply(conn, req, 200, [
          ['Range', 'npt=0.000-'],
          ['Session', this.sessionHeader(s)],
          ['RTP-Info', `url=${stream.base}/${TRACK_CONTROL};seq=${s.rtp.nextSequence};rtptime=${rtptime}`],
        ]);
        this.log.info({ device: this.device, remote: conn.remote, session: s.id, transport: s.transport.kind }, 'client playing');
        this.updateEncoder();
        return;
      }
      case 'PAUSE': {
        if (!needStream()) return;
        const s = needSession();
        if (!s) return;
        s.state = 'ready';
        this.reply(conn, req, 200, [['Session', this.sessionHeader(s)]]);
        this.updateEncoder();
        return;
      }
      case 'TEARDOWN': {
        if (!needStream()) return;
        const s = needSession();
        if (!s) return;
        this.reply(conn, req, 200, [['Session', this.sessionHeader(s)]]);
        this.endSession(s, 'TEARDOWN');
        return;
      }
    }
  }

  private async setup(
    conn: Connection,
    req: RtspRequest,
    target: Target,
    sessionId: string | undefined,
    existing: Session | undefined,
    refuse: (status: number, problem: string) => void,
  ): Promise<void> {
    if (target.kind !== 'track' && target.kind !== 'aggregate') {
      return refuse(404, target.kind === 'unknown track' ? `unknown track in ${req.uri} (the stream has ${TRACK_CONTROL})` : `no stream at ${req.uri}`);
    }
    if (sessionId !== undefined && (!existing || existing.conn !== conn)) return refuse(454, `unknown session ${sessionId.slice(0, 40)}`);
    if (existing?.state === 'playing') return refuse(455, 'cannot change the transport of a playing session');
    const choice = chooseTransport(req.headers.get('transport'));
    if ('problem' in choice) return refuse(461, choice.problem);
    let transport: SessionTransport;
    let reply: string;
    if (choice.kind === 'tcp') {
      const [rtpChannel, rtcpChannel] = choice.channels ?? [conn.nextChannel, conn.nextChannel + 1];
      conn.nextChannel = Math.max(conn.nextChannel, rtcpChannel + 1);
      transport = { kind: 'tcp', rtpChannel, rtcpChannel };
      reply = `RTP/AVP/TCP;unicast;interleaved=${rtpChannel}-${rtcpChannel}`;
    } else {
      let pair: UdpPortPair;
      try {
        pair = await this.udpPorts();
      } catch (err) {
        this.log.error({ device: this.device, operation: 'SETUP', err: (err as Error).message }, 'no UDP ports for RTP');
        return refuse(461, 'UDP transport unavailable on this server');
      }
      // RTP goes to the address the request came from, never to a 'destination' the client names.
      const address = conn.socket.remoteAddress ?? '';
      const [rtpPort, rtcpPort] = choice.clientPorts;
      transport = { kind: 'udp', address, rtpPort, rtcpPort };
      reply = `RTP/AVP;unicast;client_port=${rtpPort}-${rtcpPort};server_port=${pair.rtpPort}-${pair.rtcpPort}`;
    }
    const session: Session = existing ?? {
      id: randomBytes(8).toString('hex').toUpperCase(),
      conn,
      transport,
      state: 'ready',
      rtp: new RtpStream(),
      needKeyframe: true,
      lastSeen: performance.now(),
    };
    session.transport = transport;
    if (!existing) {
      this.sessions.set(session.id, session);
      conn.sessions.add(session);
      this.log.info({ device: this.device, remote: conn.remote, session: session.id, transport: transport.kind }, 'session set up');
    }
    this.reply(conn, req, 200, [
      ['Transport', `${reply};ssrc=${session.rtp.ssrc.toString(16).toUpperCase().padStart(8, '0')}`],
      ['Session', this.sessionHeader(session)],
    ]);
  }

  private sessionHeader(s: Session): string {
    return `${s.id};timeout=${Math.round(this.sessionTimeoutMs / 1000)}`;
  }

  private endSession(session: Session, why: string): void {
    if (!this.sessions.delete(session.id)) return;
    session.conn.sessions.delete(session);
    this.log.info({ device: this.device, remote: session.conn.remote, session: session.id, why }, 'session ended');
    this.updateEncoder();
  }

  private expireIdleSessions(): void {
    const now = performance.now();
    for (const s of [...this.sessions.values()]) {
      if (s.transport.kind === 'udp' && now - s.lastSeen > this.sessionTimeoutMs) this.endSession(s, `no keep-alive for ${Math.round(this.sessionTimeoutMs / 1000)} s`);
    }
  }

  /** Which part of the stream a request URI names; the base is the aggregate URL as the client spells it. */
  private resolve(uri: string): Target {
    if (uri === '*') return { kind: 'any' };
    const m = /^rtsp:\/\/(?:[^@/?#]*@)?([^/?#]+)([^?#]*)/i.exec(uri);
    const authority = m ? m[1]! : uri.startsWith('/') ? this.url.slice('rtsp://'.length).split('/')[0]! : undefined;
    if (authority === undefined) return { kind: 'not found' };
    const path = (m ? m[2]! : uri.split(/[?#]/)[0]!).replace(/\/+$/, '') || '/';
    const base = `rtsp://${authority}${this.path === '/' ? '' : this.path}`;
    if (path === this.path) return { kind: 'aggregate', base };
    const prefix = this.path === '/' ? '/' : `${this.path}/`;
    if (path === `${prefix}${TRACK_CONTROL}`) return { kind: 'track', base };
    if (path.startsWith(prefix)) return { kind: 'unknown track' };
    return { kind: 'not found' };
  }

  // ---- UDP ----

  private udpPorts(): Promise<UdpPortPair> {
    this.udp ??= bindUdpPortPair(this.host).then(
      (pair) => {
        const alive = (rinfo: { address: string; port: number }) => {
          for (const s of this.sessions.values()) {
            const t = s.transport;
            if (t.kind === 'udp' && t.address === rinfo.address && (t.rtcpPort === rinfo.port || t.rtpPort === rinfo.port)) s.lastSeen = performance.now();
          }
        };
        // RTCP receiver reports and NAT punch packets are ignored, apart from showing the client is alive.
        pair.rtcp.on('message', (_msg, rinfo) => alive(rinfo));
        pair.rtp.on('message', (_msg, rinfo) => alive(rinfo));
        for (const socket of [pair.rtp, pair.rtcp]) socket.on('error', (err) => this.log.warn({ device: this.device, operation: 'udp', err: err.message }, 'UDP socket error'));
        this.log.debug({ device: this.device, rtpPort: pair.rtpPort }, 'UDP port pair bound');
        this.udpPair = pair;
        return pair;
      },
      (err: unknown) => {
        this.udp = undefined;
        throw err;
      },
    );
    return this.udp;
  }

  // ---- encoder and frames ----

  /** Resolves true once SPS and PPS are known (starting the encoder if needed), false on failure or timeout. */
  private async parameterSets(): Promise<boolean> {
    if (this.sps && this.pps) return true;
    this.describeWaiters++;
    try {
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), PARAMETER_SETS_WAIT_MS);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          this.parameterSetWaiters = this.parameterSetWaiters.filter((w) => w !== done);
          resolve(ok);
        };
        this.parameterSetWaiters.push(done);
        this.updateEncoder();
      });
    } finally {
      this.describeWaiters--;
      this.updateEncoder();
    }
  }

  private wantEncoder(): boolean {
    if (this.closing) return false;
    if (this.describeWaiters > 0) return true;
    for (const s of this.sessions.values()) if (s.state === 'playing') return true;
    return false;
  }

  private updateEncoder(): void {
    if (this.wantEncoder()) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      if (!this.encoder && !this.restartTimer) this.startEncoder();
    } else if (this.encoder && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        if (!this.wantEncoder()) this.stopEncoder();
      }, this.lingerMs);
    }
  }

  private startEncoder(): void {
    const { source, fps, bitrateKbps, ffmpegPath } = this.opts;
    const encoder: H264Encoder = new H264Encoder({
      source,
      fps,
      gop: this.opts.gop ?? Math.max(1, Math.round(fps)),
      ...(bitrateKbps !== undefined && { bitrateKbps }),
      ...(ffmpegPath !== undefined && { ffmpegPath }),
      logger: this.log,
      device: this.device,
      onFrame: (frame) => {
        if (this.encoder === encoder) this.onFrame(frame);
      },
      onUnexpectedExit: (detail) => {
        if (this.encoder !== encoder) return;
        this.encoder = undefined;
        this.lastEncoderFailure = detail;
        for (const resolve of this.parameterSetWaiters.slice()) resolve(false);
        if (this.closing) return;
        // Clients keep their sessions and get frames again (from a keyframe) once it is back.
        for (const s of this.sessions.values()) s.needKeyframe = true;
        const delay = Math.min(ENCODER_RESTART_MAX_MS, ENCODER_RESTART_MS * 2 ** this.encoderFailuresInARow++);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          this.updateEncoder();
        }, delay);
      },
    });
    this.encoder = encoder;
    encoder.start();
  }

  private stopEncoder(): void {
    const encoder = this.encoder;
    if (!encoder) return;
    this.encoder = undefined;
    const stopping = encoder.stop().finally(() => this.stoppingEncoders.delete(stopping));
    this.stoppingEncoders.add(stopping);
  }

  private onFrame(frame: EncodedFrame): void {
    this.counters.framesEncoded++;
    this.encoderFailuresInARow = 0;
    for (const nal of frame.nals) {
      const type = nalType(nal);
      if (type === NAL_TYPE.SPS) this.sps = nal;
      else if (type === NAL_TYPE.PPS) this.pps = nal;
    }
    if (this.sps && this.pps && this.parameterSetWaiters.length) for (const resolve of this.parameterSetWaiters.slice()) resolve(true);
    if (this.stalled) return;
    // Access unit delimiters are for byte streams; RTP marks the end of a picture itself.
    const payloads = packetizeH264(frame.nals.filter((n) => nalType(n) !== NAL_TYPE.AUD));
    let sent = false;
    for (const s of this.sessions.values()) {
      if (s.state !== 'playing') continue;
      if (s.needKeyframe) {
        if (!frame.keyframe) continue;
        s.needKeyframe = false;
      }
      const t = s.transport;
      if (t.kind === 'tcp' && s.conn.socket.writableLength > TCP_BACKLOG_LIMIT) {
        s.needKeyframe = true;
        this.log.debug({ device: this.device, remote: s.conn.remote, session: s.id }, 'client too slow; frames skipped until the next keyframe');
        continue;
      }
      const timestamp = s.rtp.timestampFor(frame.captureMs);
      if (t.kind === 'tcp') {
        const socket = s.conn.socket;
        socket.cork();
        for (const p of payloads) {
          const prefix = Buffer.allocUnsafe(4);
          prefix[0] = 0x24;
          prefix[1] = t.rtpChannel;
          prefix.writeUInt16BE(12 + p.bytes, 2);
          socket.write(Buffer.concat([prefix, s.rtp.header(p.marker, timestamp)]));
          for (const part of p.parts) socket.write(part);
          this.count(12 + p.bytes);
        }
        socket.uncork();
      } else {
        const rtp = this.udpPair?.rtp;
        if (!rtp) continue;
        for (const p of payloads) {
          rtp.send([s.rtp.header(p.marker, timestamp), ...p.parts], t.rtpPort, t.address, (err) => {
            if (err) this.log.debug({ device: this.device, session: s.id, err: err.message }, 'UDP send failed');
          });
          this.count(12 + p.bytes);
        }
      }
      sent = true;
    }
    if (sent) this.counters.lastFrameSentAt = Date.now();
  }

  private count(bytes: number): void {
    this.counters.packetsSent++;
    this.counters.bytesSent += bytes;
  }
}
