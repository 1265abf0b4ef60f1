/**
 * RTU clients for simulator tests: modbus-serial over a serial device or RTU over TCP (an
 * implementation of the wire independent of ours), and a raw line for bytes no well-behaved
 * client would send.
 */
import net from 'node:net';
import M from 'modbus-serial';
import { SerialPort } from 'serialport';
import type { ModbusClient } from './modbus-clients.js';

type ModbusRTUClass = typeof M.default;
const ModbusRTU: ModbusRTUClass = (M as unknown as { default?: ModbusRTUClass }).default ?? (M as unknown as ModbusRTUClass);

export async function connectRtuSerialClient(path: string, opts: { baudRate?: number; unitId?: number; timeoutMs?: number } = {}): Promise<ModbusClient> {
  const client = new ModbusRTU();
  await client.connectRTUBuffered(path, { baudRate: opts.baudRate ?? 19200 });
  client.setID(opts.unitId ?? 1);
  client.setTimeout(opts.timeoutMs ?? 1000);
  return client;
}

/**
 * RTU frames over TCP. modbus-serial calls this port "telnet" (raw RTU over a socket, as to a
 * serial-to-Ethernet converter); its "TcpRTUBuffered" port speaks MBAP on the wire instead.
 */
export async function connectRtuTcpClient(port: number, opts: { unitId?: number; timeoutMs?: number } = {}): Promise<ModbusClient> {
  const client = new ModbusRTU();
  await client.connectTelnet('127.0.0.1', { port });
  client.setID(opts.unitId ?? 1);
  client.setTimeout(opts.timeoutMs ?? 1000);
  return client;
}

/** CRC-16/MODBUS written out here from the spec (Serial Line V1.02 §6.2.2), so test frames do not lean on the code under test. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** An RTU frame written by hand: unit id, PDU (hex or bytes), CRC low byte first. */
export function rtu(unitId: number, pdu: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from([unitId]), typeof pdu === 'string' ? Buffer.from(pdu.replace(/\s+/g, ''), 'hex') : pdu]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body));
  return Buffer.concat([body, crc]);
}

/** A raw byte line to the simulator: a serial device or a TCP connection. */
export class RawLine {
  private received: Buffer[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(
    private readonly writeBytes: (bytes: Buffer) => void,
    private readonly end: () => Promise<void>,
    onData: (listener: (chunk: Buffer) => void) => void,
    onClose: (listener: () => void) => void,
  ) {
    onData((chunk) => this.received.push(chunk));
    this.closedPromise = new Promise((resolve) =>
      onClose(() => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static async serial(path: string, baudRate = 19200): Promise<RawLine> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new RawLine(
      (bytes) => void port.write(bytes),
      () => new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
      (listener) => port.on('data', listener),
      (listener) => port.on('close', listener),
    );
  }

  static tcp(port: number): Promise<RawLine> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(
          new RawLine(
            (bytes) => void socket.write(bytes),
            async () => void socket.destroy(),
            (listener) => socket.on('data', listener),
            (listener) => socket.on('close', listener),
          ),
        );
      });
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.writeBytes(bytes);
  }

  /** Every byte that arrives until the line has been quiet for quietMs (at most maxMs in all). */
  async receive(quietMs = 150, maxMs = 2000): Promise<Buffer> {
    const started = Date.now();
    let seen = -1;
    let quietSince = Date.now();
    for (;;) {
      const size = this.received.reduce((n, b) => n + b.length, 0);
      if (size !== seen) {
        seen = size;
        quietSince = Date.now();
      }
      if (Date.now() - quietSince >= quietMs || Date.now() - started >= maxMs) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const all = Buffer.concat(this.received);
    this.received = [];
    return all;
  }

  close(): Promise<void> {
    return this.end();
  }
}
