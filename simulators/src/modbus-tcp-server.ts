/**
 * A Modbus TCP server on `net`, for simulators: reassembles MBAP frames, hands each to a
 * synchronous handler and writes its answer at once (or after a delay the handler asks for, to
 * inject faults). Several clients at once; a client that sends a malformed MBAP frame is
 * disconnected without touching the others. The port can be closed and reopened on the same
 * number to simulate a device that goes away and comes back.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { MbapFramer, ModbusFrameError, encodeMbapFrame, type MbapFrame } from '@quanlink/firmware-bridge';

/** What to send back for one request frame: a PDU (now or after `delayMs`), or nothing at all. */
export type ServerReply = { pdu: Buffer; delayMs?: number } | undefined;

export interface ModbusTcpServerOptions {
  host: string;
  port: number;
  /** Names the simulated device in logs (host and port are added). */
  device: string;
  logger: Logger;
  handle(frame: MbapFrame, client: string): ServerReply;
}

export class ModbusTcpServer {
  private server: net.Server | undefined;
  private readonly clients = new Set<net.Socket>();
  private readonly delayedReplies = new Set<NodeJS.Timeout>();
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
    for (const timer of this.delayedReplies) clearTimeout(timer);
    this.delayedReplies.clear();
    for (const socket of this.clients) socket.destroy();
    this.clients.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    const log = this.opts.logger.child({ device: this.deviceName, client });
    this.clients.add(socket);
    socket.setNoDelay(true);
    log.debug('client connected');
    const framer = new MbapFramer();
    socket.on('data', (chunk: Buffer) => {
      let frames: MbapFrame[];
      try {
        frames = framer.push(chunk);
      } catch (err) {
        const problem = err instanceof ModbusFrameError ? err.problem : String(err);
        log.warn({ operation: 'receive', problem }, `malformed frame, closing connection: ${problem}`);
        socket.destroy();
        return;
      }
      for (const frame of frames) this.reply(socket, frame, client, log);
    });
    socket.on('error', (err) => log.debug({ err }, 'client socket error'));
    socket.on('close', () => {
      this.clients.delete(socket);
      log.debug('client disconnected');
    });
  }

  private reply(socket: net.Socket, frame: MbapFrame, client: string, log: Logger): void {
    let answer: ServerReply;
    try {
      answer = this.opts.handle(frame, client);
    } catch (err) {
      // A bug in the handler must not take the server down; the client sees a silent device.
      log.error({ operation: 'handle', err, transactionId: frame.transactionId }, 'request handler failed');
      return;
    }
    if (!answer) return;
    const bytes = encodeMbapFrame({ transactionId: frame.transactionId, unitId: frame.unitId, pdu: answer.pdu });
    const send = (): void => {
      if (!socket.destroyed) socket.write(bytes);
    };
    if (!answer.delayMs || answer.delayMs <= 0) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      this.delayedReplies.delete(timer);
      send();
    }, answer.delayMs);
    this.delayedReplies.add(timer);
  }
}
