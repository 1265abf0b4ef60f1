/**
 * The Modbus TCP driver of one device. It connects at creation and keeps reconnecting in the
 * background with backoff; reads fail fast while the device is away, so a poller is never held up
 * by a dead device. One request is on the wire at a time: most field devices serve only one.
 */
import { EventEmitter } from 'node:events';
import { reconnectSettings, RetrySchedule, type ReconnectOptions } from '../backoff.js';
import { DeviceTimeoutError, DeviceUnreachableError, messageOf } from '../errors.js';
import type { DriverLogger, DriverState, PointRef, ProtocolDriver, RawValues } from '../types.js';
import { connectModbusTcp, toDeviceError, type ModbusTcpConnection } from './client.js';
import { checkWrite, planRegisterWrite, readOperation, ReadPlanner } from './points.js';

export interface ModbusTcpOptions {
  host: string;
  port: number;
  /** Unit identifier; default 1. */
  unitId?: number;
  /** Answer timeout per request, and connect timeout; default 1000. */
  timeoutMs?: number;
  /** Name used in errors and logs; default host:port/unitId. */
  device?: string;
  /** Registers per read request; default 125, the protocol's most. */
  maxRegistersPerRead?: number;
  /** Unused registers a read may span to merge two points; default 0. */
  maxGap?: number;
  reconnect?: ReconnectOptions;
  logger?: DriverLogger;
}

export interface ModbusDriver extends ProtocolDriver {
  writeRegisters(address: number, values: readonly number[]): Promise<void>;
  on(event: 'state', cb: (s: DriverState) => void): void;
}

export function createModbusTcpDriver(opts: ModbusTcpOptions): ModbusDriver {
  return new ModbusTcpDriver(opts);
}

function checkOptions(opts: ModbusTcpOptions): void {
  const where = `modbus tcp driver ${opts.device ?? `${opts.host}:${opts.port}`}`;
  if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError(`${where}: host is missing`);
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new RangeError(`${where}: port ${opts.port} is outside 1..65535`);
  const unitId = opts.unitId ?? 1;
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) throw new RangeError(`${where}: unitId ${unitId} is outside 0..255`);
  const timeoutMs = opts.timeoutMs ?? 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`${where}: timeoutMs must be > 0, got ${timeoutMs}`);
  reconnectSettings(opts.reconnect);
}

interface InFlight {
  settled: boolean;
  timer: NodeJS.Timeout;
}

class ModbusTcpDriver implements ModbusDriver {
  readonly #opts: ModbusTcpOptions;
  readonly #device: string;
  readonly #unitId: number;
  readonly #timeoutMs: number;
  readonly #events = new EventEmitter();
  readonly #planner: ReadPlanner;

  #state: DriverState = 'connecting';
  #connection: ModbusTcpConnection | undefined;
  /** Settles (never rejects) when the current connection attempt ends. */
  #attempt: Promise<void> = Promise.resolve();
  #abortAttempt: AbortController | undefined;
  /** Failed connection attempts in a row; drives the backoff. */
  readonly #retry: RetrySchedule;
  /** Requests run one after another through this chain. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Requests on the wire or waiting for it. */
  #pending = 0;
  readonly #done = (): void => void (this.#pending -= 1);
  /** Fails the request on the wire, with this reason, when the connection goes away under it. */
  #failInFlight: ((reason: string) => void) | undefined;
  /** Connections being torn down after a timeout; close() waits for them. */
  readonly #retiring = new Set<Promise<void>>();

  constructor(opts: ModbusTcpOptions) {
    checkOptions(opts);
    this.#opts = opts;
    this.#unitId = opts.unitId ?? 1;
    this.#timeoutMs = opts.timeoutMs ?? 1000;
    this.#device = opts.device ?? `${opts.host}:${opts.port}/${this.#unitId}`;
    this.#planner = new ReadPlanner(this.#device, { maxRegistersPerRead: opts.maxRegistersPerRead, maxGap: opts.maxGap });
    this.#retry = new RetrySchedule(opts.reconnect);
    this.#connect();
  }

  get state(): DriverState {
    return this.#state;
  }

  on(event: 'state', cb: (s: DriverState) => void): void {
    this.#events.on(event, cb);
  }

  async read(points: readonly PointRef[]): Promise<RawValues> {
    const values: RawValues = new Map();
    for (const block of this.#planner.blocks(points)) {
      const data = await this.#request(readOperation(block), (c) => c.read(block.table, block.address, block.count));
      this.#planner.decode(block, data, values);
    }
    return values;
  }

  async write(point: PointRef, value: number): Promise<void> {
    const { table, address } = point.wire;
    const { operation, words } = checkWrite(this.#device, point, value);
    await this.#request(operation, (c) => (table === 'coil' ? c.writeCoil(address, value === 1) : c.writeRegisters(address, words)));
  }

  async writeRegisters(address: number, values: readonly number[]): Promise<void> {
    for (const chunk of planRegisterWrite(this.#device, address, values)) {
      await this.#request(chunk.operation, (c) => c.writeMultipleRegisters(chunk.address, chunk.values));
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#retry.cancel();
    this.#abortAttempt?.abort();
    this.#failInFlight?.('the driver was closed');
    await this.#attempt;
    await this.#dropConnection();
    await Promise.all(this.#retiring);
    this.#events.removeAllListeners();
  }

  #request<T>(operation: string, send: (c: ModbusTcpConnection) => Promise<T>): Promise<T> {
    // Nothing ahead (a poller reads one block after another): straight to the wire.
    const task = this.#pending === 0 ? this.#send(operation, send) : this.#queue.then(() => this.#send(operation, send));
    this.#pending += 1;
    this.#queue = task.then(this.#done, this.#done);
    return task;
  }

  #send<T>(operation: string, send: (c: ModbusTcpConnection) => Promise<T>): Promise<T> {
    // A connection attempt in progress is bounded by timeoutMs, so waiting for it is not hanging.
    if (this.#state === 'connecting') return this.#attempt.then(() => this.#sendNow(operation, send));
    return this.#sendNow(operation, send);
  }

  #sendNow<T>(operation: string, send: (c: ModbusTcpConnection) => Promise<T>): Promise<T> {
    const connection = this.#connection;
    if (this.#state === 'closed') return Promise.reject(new DeviceUnreachableError(this.#device, operation, 'the driver is closed'));
    if (this.#state !== 'connected' || !connection) {
      const problem = this.#retry.lastProblem || 'not connected';
      return Promise.reject(new DeviceUnreachableError(this.#device, operation, `${problem}; next attempt in ${this.#retry.waitMs} ms`));
    }

    return new Promise<T>((resolve, reject) => {
      const inFlight: InFlight = {
        settled: false,
        timer: setTimeout(() => {
          this.#settle(inFlight, () => reject(new DeviceTimeoutError(this.#device, operation, this.#timeoutMs)));
          // modbus-serial drops a late answer by its transaction id, but a device that went silent
          // may be on a half-open connection: a fresh one finds out, and starts clean either way.
          this.#replaceConnection(connection, `no answer to ${operation} within ${this.#timeoutMs} ms`);
        }, this.#timeoutMs),
      };
      this.#failInFlight = (reason) => this.#settle(inFlight, () => reject(new DeviceUnreachableError(this.#device, operation, reason)));
      send(connection).then(
        (value) => this.#settle(inFlight, () => resolve(value)),
        (err: unknown) => this.#settle(inFlight, () => reject(toDeviceError(err, this.#device, operation))),
      );
    });
  }

  /** Ends the request on the wire once: by its answer, its timeout or the connection going away, whichever comes first. */
  #settle(inFlight: InFlight, finish: () => void): void {
    if (inFlight.settled) return;
    inFlight.settled = true;
    clearTimeout(inFlight.timer);
    this.#failInFlight = undefined;
    finish();
  }

  #setState(state: DriverState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#opts.logger?.debug({ device: this.#device, state }, 'modbus driver state');
    this.#events.emit('state', state);
  }

  #connect(): void {
    this.#setState('connecting');
    const abort = new AbortController();
    this.#abortAttempt = abort;
    const { host, port } = this.#opts;
    this.#attempt = connectModbusTcp({ host, port, unitId: this.#unitId, timeoutMs: this.#timeoutMs, signal: abort.signal }).then(
      (connection) => {
        if (this.#state === 'closed') return connection.destroy();
        this.#connection = connection;
        connection.onClose(() => this.#onConnectionClosed(connection));
        this.#retry.succeeded();
        this.#opts.logger?.info({ device: this.#device, operation: 'connect', host, port }, 'modbus device connected');
        this.#setState('connected');
      },
      (err: unknown) => {
        if (this.#state === 'closed') return;
        this.#retry.lastProblem = `connect to ${host}:${port} failed: ${messageOf(err)}`;
        this.#scheduleReconnect();
      },
    );
  }

  #scheduleReconnect(): void {
    const delay = this.#retry.retry(() => this.#connect());
    this.#opts.logger?.warn(
      { device: this.#device, operation: 'connect', problem: this.#retry.lastProblem, attempt: this.#retry.failures, retryInMs: delay },
      `modbus device unreachable, retrying in ${delay} ms`,
    );
    this.#setState('backoff');
  }

  #onConnectionClosed(connection: ModbusTcpConnection): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    this.#retry.lastProblem = 'the device closed the connection';
    this.#failInFlight?.(this.#retry.lastProblem);
    if (this.#state === 'closed') return;
    this.#scheduleReconnect();
  }

  /** Drops a connection we no longer trust and opens a new one at once. */
  #replaceConnection(connection: ModbusTcpConnection, reason: string): void {
    if (connection !== this.#connection || this.#state === 'closed') return;
    this.#opts.logger?.warn({ device: this.#device, operation: 'reconnect', reason }, 'replacing modbus connection');
    this.#connection = undefined;
    const retiring = connection.destroy();
    this.#retiring.add(retiring);
    void retiring.finally(() => this.#retiring.delete(retiring));
    this.#connect();
  }

  async #dropConnection(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.destroy();
  }
}
