/**
 * The byte pipes an RTU bus runs on: a serial port (RS-485 adapter), or a TCP connection to a
 * serial-to-Ethernet converter that passes RTU frames through unchanged.
 */
import { SerialPort } from 'serialport';
import { messageOf } from '../errors.js';
import type { SerialFraming } from './rtu-timing.js';
import { openSocket } from './tcp-socket.js';

export interface RtuLine {
  /** Sends bytes; a failure closes the line. */
  write(bytes: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Calls `listener` once when the line closes, from either end, with the reason. */
  onClose(listener: (reason: string) => void): void;
  /** Closes the line; resolves once it is closed. */
  destroy(): Promise<void>;
}

/** Opens a line; gives up (and leaves nothing open) when `signal` aborts or after `timeoutMs`. */
export type RtuLineOpener = (timeoutMs: number, signal: AbortSignal) => Promise<RtuLine>;

export interface SerialLineOptions extends SerialFraming {
  path: string;
}

export function serialLineOpener(options: SerialLineOptions): RtuLineOpener {
  return (timeoutMs, signal) => {
    const { path, baudRate, parity = 'none', dataBits = 8, stopBits = 1 } = options;
    const port = new SerialPort({ path, baudRate, parity, dataBits, stopBits, autoOpen: false });
    // Errors reach us through open, write callbacks and close; an unheard 'error' would crash the process.
    port.on('error', () => undefined);
    return new Promise<RtuLine>((resolve, reject) => {
      let gaveUp: Error | undefined;
      const giveUp = (reason: Error): void => {
        gaveUp ??= reason;
        reject(reason);
      };
      const timer = setTimeout(() => giveUp(new Error(`open timed out after ${timeoutMs} ms`)), timeoutMs);
      const onAbort = (): void => giveUp(new Error('open abandoned'));
      signal.addEventListener('abort', onAbort, { once: true });
      port.open((err) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) return reject(err);
        // Opened after all, too late: close it again so that nothing stays open.
        if (gaveUp) return port.close(() => undefined);
        resolve(new SerialLine(port));
      });
    });
  };
}

class SerialLine implements RtuLine {
  #closeReason = 'the serial port was closed';

  constructor(private readonly port: SerialPort) {}

  write(bytes: Buffer): void {
    this.port.write(bytes, (err) => {
      if (!err) return;
      this.#closeReason = `write failed: ${messageOf(err)}`;
      void this.destroy();
    });
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.port.on('data', listener);
  }

  onClose(listener: (reason: string) => void): void {
    if (!this.port.isOpen) return queueMicrotask(() => listener(this.#closeReason));
    // serialport passes an error when the device went away (an unplugged USB adapter).
    this.port.once('close', (err?: Error | null) => listener(err ? `serial port lost: ${messageOf(err)}` : this.#closeReason));
  }

  destroy(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

export interface TcpLineOptions {
  host: string;
  port: number;
}

export function tcpLineOpener({ host, port }: TcpLineOptions): RtuLineOpener {
  return async (timeoutMs, signal) => {
    const socket = await openSocket({ host, port, timeoutMs, signal });
    socket.setNoDelay(true);
    let closeReason = 'the converter closed the connection';
    socket.on('error', (err) => void (closeReason = messageOf(err)));
    return {
      write: (bytes) => void socket.write(bytes),
      onData: (listener) => void socket.on('data', listener),
      onClose: (listener) => {
        if (socket.closed) queueMicrotask(() => listener(closeReason));
        else socket.once('close', () => listener(closeReason));
      },
      destroy: () =>
        socket.closed
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              socket.once('close', () => resolve());
              socket.destroy();
            }),
    };
  };
}
