/**
 * Live push to dashboards: JSON lines over a WebSocket at /api/v1/ws (the `ws` package, attached to
 * fastify's HTTP server). `?topics=dispatch,audit` picks what a client hears. A client that does
 * not keep up (its send buffer passes a bound) is dropped, so one slow dashboard never holds back
 * the others or grows the cloud's memory. A client signs in like on the HTTP API, with
 * `Authorization: Bearer` or, since browsers cannot set headers on a WebSocket, `?token=`; any role
 * may listen. Without a valid token the upgrade is refused with 401.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { AuditEntry, DispatchRecord, MessageRecord } from './types.js';

/** The signed-in user a bearer token stands for, or undefined (Accounts.authenticate). */
export type LiveAuthenticate = (token: string) => Promise<{ username: string } | undefined>;

function refuse(socket: Duplex, status: string, body: string, headers = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${headers}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function tokenOf(request: IncomingMessage, url: URL): string | undefined {
  const header = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return header?.[1] ?? url.searchParams.get('token') ?? undefined;
}

export const LIVE_TOPICS = ['dispatch', 'message', 'screen', 'audit', 'grade', 'proposal', 'video', 'camera', 'config'] as const;
export type LiveTopic = (typeof LIVE_TOPICS)[number];

export type LiveEvent =
  | { type: 'dispatch'; dispatch: DispatchRecord }
  | { type: 'message'; message: MessageRecord }
  | { type: 'screen'; screen: Record<string, unknown> }
  | { type: 'audit'; entry: AuditEntry }
  | { type: 'grade'; [field: string]: unknown }
  | { type: 'proposal'; proposal: Record<string, unknown> }
  /** A stored video event (crossing, alert, zone period, pipeline state), as GET /api/v1/video-events shows it. */
  | { type: 'video'; event: Record<string, unknown> }
  /** A camera's pipeline state changed, or a birth described it. */
  | { type: 'camera'; camera: Record<string, unknown> }
  /** A gateway's configuration shadow changed (desired set, applied or refused), as GET /api/v1/gateways/{id}/config shows it. */
  | { type: 'config'; gateway: string; config: Record<string, unknown> };

export const LIVE_PATH = '/api/v1/ws';
/** Bytes a client may have waiting before it is dropped. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1 << 20;

interface Subscriber {
  socket: WebSocket;
  topics: ReadonlySet<string>;
  /** Checked again every REVALIDATE_INTERVAL_MS: a session that expires or is revoked ends the feed too. */
  token: string;
}

/** How often open feeds' tokens are checked again. */
export const REVALIDATE_INTERVAL_MS = 60_000;
/** WebSocket close code (policy violation) of a feed whose token stopped being valid. */
export const CLOSE_TOKEN_INVALID = 1008;

export class LiveHub {
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly subscribers = new Set<Subscriber>();
  private readonly logger: Logger;
  private closed = false;
  private authenticate: LiveAuthenticate | undefined;
  private revalidateTimer: NodeJS.Timeout | undefined;

  constructor(
    logger: Logger,
    private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
  ) {
    this.logger = logger.child({ component: 'live' });
  }

  /** Handles upgrades to LIVE_PATH on `http` from signed-in users; other upgrade requests are refused. */
  attach(http: Server, authenticate: LiveAuthenticate): void {
    this.authenticate = authenticate;
    this.revalidateTimer = setInterval(() => void this.revalidate(), REVALIDATE_INTERVAL_MS);
    this.revalidateTimer.unref();
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== LIVE_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      const token = tokenOf(request, url);
      if (token === undefined) {
        refuse(socket, '401 Unauthorized', "the live feed needs 'Authorization: Bearer <token>' or ?token=<token>", 'WWW-Authenticate: Bearer realm="quanlink"\r\n');
        return;
      }
      // The socket may close while the token is checked; its errors must not go unhandled meanwhile.
      const onError = (err: Error) => this.logger.debug({ operation: 'websocket upgrade', err: err.message }, 'upgrade socket error');
      socket.on('error', onError);
      authenticate(token).then(
        (principal) => {
          socket.off('error', onError);
          if (socket.destroyed) return;
          if (!principal) {
            refuse(socket, '401 Unauthorized', 'the bearer token is not valid (unknown, expired or revoked, or its user is disabled)', 'WWW-Authenticate: Bearer realm="quanlink"\r\n');
            return;
          }
          this.accept(request, socket, head, url, principal.username, token);
        },
        (err: unknown) => {
          this.logger.error({ operation: 'websocket upgrade', err }, 'could not check the token of a live client');
          refuse(socket, '500 Internal Server Error', 'internal error; see the cloud log');
        },
      );
    });
  }

  /** Closes the feeds whose token is no longer valid (expired, revoked, user disabled); returns how many. */
  async revalidate(): Promise<number> {
    let closed = 0;
    for (const subscriber of [...this.subscribers]) {
      const principal = await this.authenticate?.(subscriber.token).catch(() => undefined);
      if (principal || !this.subscribers.has(subscriber)) continue;
      this.subscribers.delete(subscriber);
      subscriber.socket.close(CLOSE_TOKEN_INVALID, 'the token is no longer valid; sign in again');
      closed++;
    }
    return closed;
  }

  private accept(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL, username: string, token: string): void {
    if (this.closed) {
      refuse(socket, '503 Service Unavailable', 'the cloud is shutting down');
      return;
    }
    const asked = (url.searchParams.get('topics') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
    const unknown = asked.filter((t) => !(LIVE_TOPICS as readonly string[]).includes(t));
    if (unknown.length > 0) {
      refuse(socket, '400 Bad Request', `unknown topics ${unknown.join(', ')}; known: ${LIVE_TOPICS.join(', ')}`);
      return;
    }
    this.server.handleUpgrade(request, socket, head, (ws) => {
      const subscriber: Subscriber = { socket: ws, topics: new Set(asked.length > 0 ? asked : LIVE_TOPICS), token };
      this.subscribers.add(subscriber);
      ws.on('close', () => this.subscribers.delete(subscriber));
      ws.on('error', (err) => this.logger.debug({ operation: 'websocket', user: username, err: err.message }, 'live client error'));
    });
  }

  clients(): number {
    return this.subscribers.size;
  }

  publish(event: LiveEvent): void {
    if (this.subscribers.size === 0) return;
    const line = JSON.stringify(event);
    for (const subscriber of this.subscribers) {
      if (!subscriber.topics.has(event.type) || subscriber.socket.readyState !== WebSocket.OPEN) continue;
      if (subscriber.socket.bufferedAmount > this.maxBufferedBytes) {
        this.logger.warn(
          { operation: 'websocket push', bufferedBytes: subscriber.socket.bufferedAmount, limit: this.maxBufferedBytes },
          'live client too slow; dropped',
        );
        this.subscribers.delete(subscriber);
        subscriber.socket.terminate();
        continue;
      }
      subscriber.socket.send(line);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.revalidateTimer);
    for (const subscriber of this.subscribers) subscriber.socket.terminate();
    this.subscribers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
