/**
 * A Modbus RTU server on a serial device (an RS-485 adapter, or one end of a pseudo-terminal
 * pair): the device end of a multi-drop line, where every request reaches every simulated unit.
 */
import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import type { RequestHandler } from './reply.js';
import { openSession, type Session } from './sessions.js';

export interface RtuSerialServerOptions {
  path: string;
  baudRate: number;
  /** Silence that ends a frame, ms; default t3.5 at the baud rate (1.75 ms above 19200), at least 2 ms. */
  silenceMs?: number;
  device: string;
  logger: Logger;
  handle: RequestHandler;
}

/** t3.5 (Modbus over Serial Line V1.02 §2.5.1.1): 3.5 characters of 11 bits, fixed at 1.75 ms above 19200 baud. */
export function interFrameSilenceMs(baudRate: number): number {
  return baudRate > 19200 ? 1.75 : (3.5 * 11 * 1000) / baudRate;
}

export class RtuSerialServer {
  private port: SerialPort | undefined;
  private session: Session | undefined;

  constructor(private readonly opts: RtuSerialServerOptions) {}

  get deviceName(): string {
    return `${this.opts.device}@${this.opts.path}`;
  }

  async open(): Promise<void> {
    if (this.port) return;
    const { path, baudRate } = this.opts;
    const logger = this.opts.logger.child({ device: this.deviceName });
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new Error(`${this.deviceName}: cannot open serial device: ${err.message}`)) : resolve())),
    );
    // Node timers are coarse: below 2 ms a frame written in two chunks could be cut in half.
    const silenceMs = this.opts.silenceMs ?? Math.max(2, interFrameSilenceMs(baudRate));
    const session = openSession(
      'rtu',
      { write: (bytes) => void port.write(bytes), drop: () => undefined },
      { client: path, logger, handle: this.opts.handle, silenceMs },
    );
    port.on('data', (chunk: Buffer) => session.push(chunk));
    port.on('error', (err) => logger.error({ operation: 'serial', err }, `serial device error: ${err.message}`));
    this.port = port;
    this.session = session;
    logger.debug({ baudRate, silenceMs }, 'serial line open');
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.session?.close();
    this.session = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
