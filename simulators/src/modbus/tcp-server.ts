/**
 * A Modbus server on TCP for simulators, speaking Modbus TCP (MBAP frames) or RTU frames over
 * TCP (as a serial-to-Ethernet converter in front of an RS-485 bus does). Several clients at once;
 * a client that sends a malformed MBAP frame is disconnected without touching the others. The
 * port can be closed and reopened on the same number to simulate a device that goes away and
 * comes back.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { RequestHandler } from './reply.js';
import { openSession, type Framing, type Session } from './sessions.js';

export interface ModbusTcpServerOptions {
  host: string;
  port: number;
  /** Default 'mbap' (Modbus TCP). */
  framing?: Framing;
  /** RTU framing: silence that ends a frame, ms. Default 5. */
  silenceMs?: number;
  /** Names the simulated device in logs (host and port are added). */
  device: string;
  logger: Logger;
  handle: RequestHandler;
}

export class ModbusTcpServer {
  private server: net.Server | undefined;
  private readonly clients = new Map<net.Socket, Session>();
  private boundPort: number;

  constructor(private readonly opts: ModbusTcpServerOptions) {
    this.boundPort = opts.port;
  }

  get host(): string {
    return this.opts.host;
  }

  /** The bound port (the one chosen by the OS when asked for port 0). */
  get port(): number {
    return this.boundPort;
  }

  get deviceName(): string {
    return `${this.opts.device}@${this.opts.host}:${this.boundPort}`;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Starts listening; after a first listen on port 0, listens again on the port it got. */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.host, port: this.boundPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
    server.on('error', (err) => this.opts.logger.error({ device: this.deviceName, operation: 'listen', err }, 'server error'));
    this.opts.logger.debug({ device: this.deviceName }, 'listening');
  }

  /** Stops listening and drops every client connection and pending delayed reply. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const [socket, session] of this.clients) {
      session.close();
      socket.destroy();
    }
    this.clients.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    const logger = this.opts.logger.child({ device: this.deviceName, client });
    socket.setNoDelay(true);
    const session = openSession(
      this.opts.framing ?? 'mbap',
      {
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        drop: () => socket.destroy(),
      },
      { client, logger, handle: this.opts.handle, silenceMs: this.opts.silenceMs ?? 5 },
    );
    this.clients.set(socket, session);
    logger.debug('client connected');
    socket.on('data', (chunk: Buffer) => session.push(chunk));
    socket.on('error', (err) => logger.debug({ err }, 'client socket error'));
    socket.on('close', () => {
      session.close();
      this.clients.delete(socket);
      logger.debug('client disconnected');
    });
  }
}
