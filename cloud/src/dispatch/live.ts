/**
 * Live push to dashboards: JSON lines over a WebSocket at /api/v1/ws (the `ws` package, attached to
 * fastify's HTTP server). `?topics=dispatch,audit` picks what a client hears. A client that does
 * not keep up (its send buffer passes a bound) is dropped, so one slow dashboard never holds back
 * the others or grows the cloud's memory.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { AuditEntry, DispatchRecord, MessageRecord } from './types.js';

export const LIVE_TOPICS = ['dispatch', 'message', 'screen', 'audit', 'grade', 'proposal', 'video', 'camera'] as const;
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
  | { type: 'camera'; camera: Record<string, unknown> };

export const LIVE_PATH = '/api/v1/ws';
/** Bytes a client may have waiting before it is dropped. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1 << 20;

interface Subscriber {
  socket: WebSocket;
  topics: ReadonlySet<string>;
}

export class LiveHub {
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly subscribers = new Set<Subscriber>();
  private readonly logger: Logger;

  constructor(
    logger: Logger,
    private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
  ) {
    this.logger = logger.child({ component: 'live' });
  }

  /** Handles upgrades to LIVE_PATH on `http`; other upgrade requests are refused. */
  attach(http: Server): void {
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== LIVE_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      const asked = (url.searchParams.get('topics') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
      const unknown = asked.filter((t) => !(LIVE_TOPICS as readonly string[]).includes(t));
      if (unknown.length > 0) {
        const body = `unknown topics ${unknown.join(', ')}; known: ${LIVE_TOPICS.join(', ')}`;
        socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        return;
      }
      this.server.handleUpgrade(request, socket, head, (ws) => {
        const subscriber: Subscriber = { socket: ws, topics: new Set(asked.length > 0 ? asked : LIVE_TOPICS) };
        this.subscribers.add(subscriber);
        ws.on('close', () => this.subscribers.delete(subscriber));
        ws.on('error', (err) => this.logger.debug({ operation: 'websocket', err: err.message }, 'live client error'));
      });
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
    for (const subscriber of this.subscribers) subscriber.socket.terminate();
    this.subscribers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
