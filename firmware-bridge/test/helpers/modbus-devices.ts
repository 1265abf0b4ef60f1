/**
 * Devices for driver tests, on real sockets: a Modbus TCP device built on modbus-serial's own
 * ServerTCP (an implementation of the wire independent of ours), and a scripted MBAP device for
 * faults (silence, late or malformed answers, dropped connections).
 */
import net from 'node:net';
import M from 'modbus-serial';
import { encodeMbapFrame, MbapFramer, type MbapFrame } from '../../src/modbus/frame.js';

const { ServerTCP } = M as unknown as { ServerTCP: typeof M.ServerTCP };

/** Register maps of a device; an address that is not set answers exception 2 (illegal data address). */
export interface DeviceMemory {
  coils: Map<number, boolean>;
  discrete: Map<number, boolean>;
  input: Map<number, number>;
  holding: Map<number, number>;
}

export function emptyMemory(): DeviceMemory {
  return { coils: new Map(), discrete: new Map(), input: new Map(), holding: new Map() };
}

/** Sets consecutive registers from `address`. */
export function setWords(table: Map<number, number>, address: number, words: readonly number[]): void {
  words.forEach((word, i) => table.set(address + i, word));
}

export interface TcpDevice {
  port: number;
  /** Requests served, by function code (reads count once per request, not per register). */
  requests: Map<number, number>;
  /** Most register reads being served at once. */
  maxConcurrent: number;
  close(): Promise<void>;
}

function illegalAddress(): never {
  throw { modbusErrorCode: 2, msg: 'illegal data address' };
}

function at<T>(table: Map<number, T>, address: number): T {
  const value = table.get(address);
  return value === undefined ? illegalAddress() : value;
}

type Callback<T> = (err: unknown, value?: T) => void;

/**
 * A Modbus TCP device (any unit id) on `port`. ServerTCP cannot listen on port 0 (it takes 0 for
 * "use 502"), so without a port the device takes one the OS just handed out.
 */
export async function startTcpDevice(memory: DeviceMemory, port?: number): Promise<TcpDevice> {
  const requests = new Map<number, number>();
  let concurrent = 0;
  const device: TcpDevice = { port: 0, requests, maxConcurrent: 0, close: async () => undefined };
  const count = (fc: number): void => void requests.set(fc, (requests.get(fc) ?? 0) + 1);
  // Answers after a short pause, so that overlapping requests show in maxConcurrent.
  const serve = (fc: number, table: Map<number, number>, addr: number, length: number, cb: Callback<number[]>): void => {
    count(fc);
    device.maxConcurrent = Math.max(device.maxConcurrent, ++concurrent);
    setTimeout(() => {
      concurrent -= 1;
      try {
        cb(null, Array.from({ length }, (_, i) => at(table, addr + i)));
      } catch (err) {
        // ServerTCP indexes the values even on error: without an array it answers exception 4 instead.
        cb(err, []);
      }
    }, 2);
  };
  const one = (cb: Callback<number>): Callback<number[]> => (err, values) => cb(err, values?.[0]);
  // modbus-serial's server picks callback style by the handler's arity, so every parameter is declared.
  const vector = {
    getCoil: (addr: number) => at(memory.coils, addr),
    getDiscreteInput: (addr: number) => at(memory.discrete, addr),
    getHoldingRegister: (addr: number, _unit: number, cb: Callback<number>) => serve(3, memory.holding, addr, 1, one(cb)),
    getInputRegister: (addr: number, _unit: number, cb: Callback<number>) => serve(4, memory.input, addr, 1, one(cb)),
    getMultipleHoldingRegisters: (addr: number, length: number, _unit: number, cb: Callback<number[]>) => serve(3, memory.holding, addr, length, cb),
    getMultipleInputRegisters: (addr: number, length: number, _unit: number, cb: Callback<number[]>) => serve(4, memory.input, addr, length, cb),
    setCoil: (addr: number, value: boolean) => {
      count(5);
      at(memory.coils, addr);
      memory.coils.set(addr, value);
    },
    setRegister: (addr: number, value: number) => {
      count(6);
      at(memory.holding, addr);
      memory.holding.set(addr, value);
    },
    setRegisterArray: (addr: number, values: number[]) => {
      count(16);
      values.forEach((_, i) => at(memory.holding, addr + i));
      values.forEach((v, i) => memory.holding.set(addr + i, v));
    },
  };
  for (let attempt = 0; ; attempt++) {
    const listenPort = port ?? (await freePort());
    const server = new ServerTCP(vector as never, { host: '127.0.0.1', port: listenPort, unitID: 255 });
    const inner = (server as unknown as { _server: net.Server })._server;
    try {
      await new Promise<void>((resolve, reject) => {
        if (inner.listening) resolve();
        inner.once('listening', () => resolve());
        inner.once('error', reject);
      });
    } catch (err) {
      // Another test took the free port in between: try another one.
      if (port === undefined && attempt < 5 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
    device.port = listenPort;
    device.close = () =>
      new Promise<void>((resolve) => {
        for (const socket of (server as unknown as { socks: Map<net.Socket, 0> }).socks.keys()) socket.destroy();
        server.close(() => resolve());
      });
    return device;
  }
}

export interface ScriptedDevice {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Requests received so far. */
  requests: MbapFrame[];
  close(): Promise<void>;
}

/**
 * An MBAP device whose every answer the test scripts: `answer` gets each request (with its index
 * over the device's life) and the socket it came on, and may write anything, later, or nothing.
 */
export async function startScriptedDevice(answer: (request: MbapFrame, index: number, socket: net.Socket) => void): Promise<ScriptedDevice> {
  const sockets = new Set<net.Socket>();
  const device: ScriptedDevice = { port: 0, connections: 0, requests: [], close: async () => undefined };
  const server = net.createServer((socket) => {
    device.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const framer = new MbapFramer();
    socket.on('data', (chunk) => {
      for (const frame of framer.push(chunk)) {
        device.requests.push(frame);
        answer(frame, device.requests.length - 1, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  device.port = (server.address() as net.AddressInfo).port;
  device.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return device;
}

/** Writes an answer PDU for `request` (same transaction and unit), unless the socket is gone. */
export function reply(socket: net.Socket, request: MbapFrame, pdu: readonly number[]): void {
  if (!socket.destroyed) socket.write(encodeMbapFrame({ transactionId: request.transactionId, unitId: request.unitId, pdu: Buffer.from(pdu) }));
}

/** The PDU of an FC3/FC4 answer carrying `words`. */
export function registersPdu(functionCode: number, words: readonly number[]): number[] {
  return [functionCode, words.length * 2, ...words.flatMap((w) => [(w >> 8) & 0xff, w & 0xff])];
}

/** A port that nothing listens on (a server bound it, then let it go). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
