/**
 * Simulated RTU devices for bus tests: several unit ids answering on one line (the other end of a
 * pty pair, or a TCP server standing in for a serial-to-Ethernet converter). Each unit can be
 * told to misbehave: stay silent, answer late, with a bad CRC, under another address, with noise.
 * The devices also watch the master: a request that arrives while an answer is still pending
 * (two on the wire), and the silence before each request.
 */
import net from 'node:net';
import { SerialPort } from 'serialport';
import {
  EXCEPTION_CODES,
  FUNCTION_CODES,
  ModbusRequestError,
  decodeRequestPdu,
  decodeRtuFrame,
  encodeExceptionPdu,
  encodeResponsePdu,
  encodeRtuFrame,
  type ModbusRequest,
} from '../../src/modbus/frame.js';
import type { DeviceMemory } from './modbus-devices.js';

export type UnitBehaviour =
  /** Answers after `delayMs` (default 1), optionally in two writes split after `splitAfter` bytes. */
  | { kind: 'answer'; delayMs?: number; splitAfter?: number }
  | { kind: 'silent' }
  /** Answers after `ms`, when the master has given up. */
  | { kind: 'late'; ms: number }
  /** The right answer with its last CRC byte flipped. */
  | { kind: 'bad-crc' }
  /** Noise and no answer. */
  | { kind: 'garbage' }
  /** The right answer, with noise before it and, a moment later, after it. */
  | { kind: 'noisy' }
  /** A correct frame under another unit id. */
  | { kind: 'as-unit'; unitId: number }
  | { kind: 'exception'; code: number };

export interface ReceivedRequest {
  unitId: number;
  functionCode: number;
  address: number;
  /** performance.now() when the request was complete. */
  at: number;
}

/** Bytes no answer starts with (no unit id 1..3 followed by a function code). */
export const NOISE = Buffer.from([0x00, 0xff, 0x55, 0xaa, 0x13, 0x37, 0x42]);

function read<T>(table: Map<number, T>, functionCode: number, address: number, quantity: number): T[] {
  return Array.from({ length: quantity }, (_, i) => {
    const value = table.get(address + i);
    if (value === undefined) throw new ModbusRequestError(functionCode, EXCEPTION_CODES.illegalDataAddress, `no address ${address + i}`);
    return value;
  });
}

function write<T>(table: Map<number, T>, functionCode: number, address: number, values: readonly T[]): void {
  read(table, functionCode, address, values.length);
  values.forEach((value, i) => table.set(address + i, value));
}

/** The answer PDU of a device with `memory` (unset addresses answer IllegalDataAddress). */
function answerPdu(memory: DeviceMemory, pdu: Buffer): Buffer {
  let request: ModbusRequest;
  try {
    request = decodeRequestPdu(pdu);
    switch (request.functionCode) {
      case FUNCTION_CODES.readCoils:
      case FUNCTION_CODES.readDiscreteInputs: {
        const table = request.functionCode === FUNCTION_CODES.readCoils ? memory.coils : memory.discrete;
        return encodeResponsePdu({ functionCode: request.functionCode, bits: read(table, request.functionCode, request.address, request.quantity) });
      }
      case FUNCTION_CODES.readHoldingRegisters:
      case FUNCTION_CODES.readInputRegisters: {
        const table = request.functionCode === FUNCTION_CODES.readHoldingRegisters ? memory.holding : memory.input;
        return encodeResponsePdu({ functionCode: request.functionCode, registers: read(table, request.functionCode, request.address, request.quantity) });
      }
      case FUNCTION_CODES.writeSingleCoil:
        write(memory.coils, request.functionCode, request.address, [request.value]);
        return encodeResponsePdu(request);
      case FUNCTION_CODES.writeSingleRegister:
        write(memory.holding, request.functionCode, request.address, [request.value]);
        return encodeResponsePdu(request);
      case FUNCTION_CODES.writeMultipleCoils:
        write(memory.coils, request.functionCode, request.address, request.values);
        return encodeResponsePdu({ functionCode: request.functionCode, address: request.address, quantity: request.values.length });
      case FUNCTION_CODES.writeMultipleRegisters:
        write(memory.holding, request.functionCode, request.address, request.values);
        return encodeResponsePdu({ functionCode: request.functionCode, address: request.address, quantity: request.values.length });
    }
  } catch (err) {
    if (err instanceof ModbusRequestError) return encodeExceptionPdu(err.functionCode, err.exceptionCode);
    throw err;
  }
}

/** Length of the request frame starting `buf`, undefined until it can be told, 0 for no known request. */
function requestLength(buf: Buffer): number | undefined {
  const functionCode = buf[1];
  if (functionCode === undefined) return undefined;
  if (functionCode >= 1 && functionCode <= 6) return 8;
  if (functionCode === 15 || functionCode === 16) return buf.length < 7 ? undefined : 9 + buf[6]!;
  return 0;
}

export class RtuDevices {
  /** Register maps by unit id; a unit without one is absent from the line (never answers). */
  readonly memory = new Map<number, DeviceMemory>();
  /** How each unit answers; default { kind: 'answer' }. */
  readonly behaviour = new Map<number, UnitBehaviour>();
  readonly requests: ReceivedRequest[] = [];
  /** Requests that arrived while an answer to an earlier one was still due. */
  overlaps = 0;
  /** Milliseconds from each answer written to the next request received. */
  readonly gapsMs: number[] = [];
  /** Frames that were no valid request (bad CRC, unknown function). */
  badRequests = 0;
  #received = Buffer.alloc(0);
  #answersDue = 0;
  #lastAnswerAt: number | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(private readonly send: (bytes: Buffer) => void) {}

  receive(chunk: Buffer): void {
    this.#received = Buffer.concat([this.#received, chunk]);
    for (;;) {
      const length = requestLength(this.#received);
      if (length === undefined || this.#received.length < length) return;
      if (length === 0) {
        this.badRequests += 1;
        this.#received = Buffer.alloc(0);
        return;
      }
      const frame = this.#received.subarray(0, length);
      this.#received = this.#received.subarray(length);
      try {
        const { unitId, pdu } = decodeRtuFrame(frame);
        this.#onRequest(unitId, pdu);
      } catch {
        this.badRequests += 1;
        this.#received = Buffer.alloc(0);
        return;
      }
    }
  }

  /** Requests received for one unit. */
  requestsFor(unitId: number): ReceivedRequest[] {
    return this.requests.filter((r) => r.unitId === unitId);
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  #onRequest(unitId: number, pdu: Buffer): void {
    const at = performance.now();
    if (this.#answersDue > 0) this.overlaps += 1;
    if (this.#lastAnswerAt !== undefined) this.gapsMs.push(at - this.#lastAnswerAt);
    this.requests.push({ unitId, functionCode: pdu[0]!, address: pdu.length >= 3 ? pdu.readUInt16BE(1) : -1, at });
    const memory = this.memory.get(unitId);
    if (!memory) return;
    const behaviour = this.behaviour.get(unitId) ?? { kind: 'answer' };
    const answer = (): Buffer => encodeRtuFrame({ unitId, pdu: answerPdu(memory, pdu) });
    switch (behaviour.kind) {
      case 'answer': {
        this.#answersDue += 1;
        const frame = answer();
        const split = Math.min(frame.length, behaviour.splitAfter ?? frame.length);
        this.#later(behaviour.delayMs ?? 1, () => {
          this.send(frame.subarray(0, split));
          const done = (): void => {
            this.#answersDue -= 1;
            this.#lastAnswerAt = performance.now();
          };
          if (split === frame.length) return done();
          this.#later(5, () => {
            this.send(frame.subarray(split));
            done();
          });
        });
        return;
      }
      case 'silent':
        return;
      case 'late': {
        const frame = answer();
        this.#later(behaviour.ms, () => this.send(frame));
        return;
      }
      case 'bad-crc': {
        const frame = answer();
        frame[frame.length - 1]! ^= 0xff;
        this.#reply(frame);
        return;
      }
      case 'garbage':
        this.#reply(NOISE);
        return;
      case 'noisy':
        this.#reply(Buffer.concat([NOISE, answer()]));
        this.#later(1, () => this.send(NOISE));
        return;
      case 'as-unit':
        this.#reply(encodeRtuFrame({ unitId: behaviour.unitId, pdu: answerPdu(memory, pdu) }));
        return;
      case 'exception':
        this.#reply(encodeRtuFrame({ unitId, pdu: encodeExceptionPdu(pdu[0]!, behaviour.code) }));
        return;
    }
  }

  #reply(bytes: Buffer): void {
    this.#later(1, () => {
      this.send(bytes);
      this.#lastAnswerAt = performance.now();
    });
  }
}

export interface RtuLineDevices {
  devices: RtuDevices;
  close(): Promise<void>;
}

/** Devices on the far end of a serial line. */
export async function startSerialDevices(path: string): Promise<RtuLineDevices> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  port.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const devices = new RtuDevices((bytes) => void port.write(bytes));
  port.on('data', (chunk: Buffer) => devices.receive(chunk));
  return {
    devices,
    close: async () => {
      devices.stop();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}

export interface ConverterDevices extends RtuLineDevices {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Drops every connection, as a converter that restarts. */
  dropConnections(): void;
}

/** Devices behind a serial-to-Ethernet converter: RTU frames through a TCP server on a free port. */
export async function startConverterDevices(): Promise<ConverterDevices> {
  const sockets = new Set<net.Socket>();
  const devices = new RtuDevices((bytes) => {
    for (const socket of sockets) if (!socket.destroyed) socket.write(bytes);
  });
  const server = net.createServer((socket) => {
    line.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => devices.receive(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const line: ConverterDevices = {
    devices,
    port: (server.address() as net.AddressInfo).port,
    connections: 0,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        devices.stop();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return line;
}
