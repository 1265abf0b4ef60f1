/**
 * Clients for simulator tests: modbus-serial (an implementation of the wire independent of ours)
 * and a raw TCP connection for bytes no well-behaved client would send.
 */
import net from 'node:net';
import M from 'modbus-serial';
import { pino, type Logger } from 'pino';
import type { ResolvedPoint } from '@quanlink/device-profiles';
import { decodeValue, registerCount } from '@quanlink/firmware-bridge';

// modbus-serial's types and runtime disagree on the default export (see DESIGN.md).
type ModbusRTUClass = typeof M.default;
const ModbusRTU: ModbusRTUClass = (M as unknown as { default?: ModbusRTUClass }).default ?? (M as unknown as ModbusRTUClass);
export type ModbusClient = InstanceType<ModbusRTUClass>;

export async function connectClient(port: number, opts: { unitId?: number; timeoutMs?: number } = {}): Promise<ModbusClient> {
  const client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port });
  client.setID(opts.unitId ?? 1);
  client.setTimeout(opts.timeoutMs ?? 1000);
  return client;
}

export function closeClient(client: ModbusClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isOpen) return resolve();
    client.close(() => resolve());
  });
}

/** The 16-bit words of one profile point (for a bit, [0] or [1]), read with the function code of its table. */
export async function readPointWords(client: ModbusClient, point: ResolvedPoint): Promise<number[]> {
  const { table, address, type } = point.wire;
  const n = registerCount(type);
  if (table === 'input-register') return (await client.readInputRegisters(address, n)).data;
  if (table === 'holding-register') return (await client.readHoldingRegisters(address, n)).data;
  if (table === 'discrete-input') return [(await client.readDiscreteInputs(address, 1)).data[0] ? 1 : 0];
  return [(await client.readCoils(address, 1)).data[0] ? 1 : 0];
}

/** Raw (unscaled) value of a point, decoded with the profile's type, byte and word order. */
export async function readPointRaw(client: ModbusClient, point: ResolvedPoint): Promise<number> {
  return decodeValue(await readPointWords(client, point), 0, point.wire);
}

/** Engineering value of a point: raw * scale + offset. */
export async function readPointValue(client: ModbusClient, point: ResolvedPoint): Promise<number> {
  return (await readPointRaw(client, point)) * point.scale + point.offset;
}

export function pointOf(points: readonly ResolvedPoint[], quantity: string, lane?: number): ResolvedPoint {
  const point = points.find((p) => p.quantity === quantity && p.lane === lane);
  if (!point) throw new Error(`profile has no ${quantity} point${lane === undefined ? '' : ` for lane ${lane}`}`);
  return point;
}

export interface RawResponse {
  transactionId: number;
  protocolId: number;
  unitId: number;
  pdu: Buffer;
}

/** A raw TCP connection that collects MBAP responses, split by their length field. */
export class RawConnection {
  private received = Buffer.alloc(0);
  private readonly responses: RawResponse[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      while (this.received.length >= 7) {
        const size = 6 + this.received.readUInt16BE(4);
        if (this.received.length < size) break;
        const frame = this.received.subarray(0, size);
        this.responses.push({
          transactionId: frame.readUInt16BE(0),
          protocolId: frame.readUInt16BE(2),
          unitId: frame.readUInt8(6),
          pdu: Buffer.from(frame.subarray(7)),
        });
        this.received = this.received.subarray(size);
      }
      this.wake();
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Next response, or undefined when none arrives within timeoutMs (or the connection closed). */
  async next(timeoutMs = 1000): Promise<RawResponse | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.responses.shift();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** An MBAP request, written out by hand (transaction id, protocol 0, length, unit id, PDU). */
export function mbap(transactionId: number, unitId: number, pdu: Buffer | string): Buffer {
  const body = typeof pdu === 'string' ? Buffer.from(pdu.replace(/\s+/g, ''), 'hex') : pdu;
  const header = Buffer.alloc(7);
  header.writeUInt16BE(transactionId, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt16BE(body.length + 1, 4);
  header.writeUInt8(unitId, 6);
  return Buffer.concat([header, body]);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** modbus-serial's timeout is not an Error instance: recognise it by name. */
export const isTimeout = (err: unknown): boolean => (err as { name?: string } | null)?.name === 'TransactionTimedOutError';

/** modbus-serial's exception error carries the exception code. */
export const isException =
  (code: number) =>
  (err: unknown): boolean =>
    (err as { modbusCode?: number } | null)?.modbusCode === code;

/** A pino logger that keeps its records in memory, so tests stay quiet and can check what was logged. */
export function capturingLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records };
}

/** Resolves with `promise`, or rejects naming `what` when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
