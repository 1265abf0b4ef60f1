/**
 * One Modbus RTU line shared by every device on it (Modbus over Serial Line V1.02). RTU has no
 * transaction ids, so only one request may be on the wire at a time (§2.4.1: the master waits for
 * the answer or its turnaround timeout before the next request); requests from all the devices
 * wait in one FIFO queue, and frames are separated by the t3.5 silence (§2.5.1.1). A unit that
 * stops answering is set aside (unit-health.ts) so that it costs the others little. The line
 * (a serial port or a TCP connection to a converter) is opened in the background and reopened
 * with backoff when it fails.
 */
import { EventEmitter } from 'node:events';
import { reconnectSettings, RetrySchedule, type ReconnectOptions } from '../backoff.js';
import {
  DeviceError,
  DeviceProtocolError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  InvalidRequestError,
  ModbusExceptionError,
  messageOf,
} from '../errors.js';
import type { DriverLogger, DriverState } from '../types.js';
import { decodeResponsePdu, encodeRequestPdu, exceptionCodeOf } from './client-pdu.js';
import { describeModbusEndpoint, type ModbusEndpoint } from './endpoint.js';
import { encodeRtuFrame, ModbusFrameError, RTU_MAX_FRAME_BYTES, type ModbusRequest, type ModbusResponse } from './frame.js';
import { describeUnmatched, matchRtuAnswer } from './rtu-answer.js';
import type { RtuLine, RtuLineOpener } from './rtu-line.js';
import { UnitHealth, type UnitBackoffOptions, type UnitChange, type UnitState } from './unit-health.js';

export type BusState = DriverState;

export interface ModbusBusOptions {
  /** Silence before each request; default t3.5 at the line's baud rate (Serial Line §2.5.1.1). */
  interFrameDelayMs?: number;
  /** Longest wait for the line to open; default 2000. */
  connectTimeoutMs?: number;
  /** Reopening the line after it failed. */
  reconnect?: ReconnectOptions;
  /** Setting aside units that stop answering. */
  unitBackoff?: UnitBackoffOptions;
  logger?: DriverLogger;
}

export interface BusRequestOptions {
  /** Turnaround timeout (Serial Line §2.4.1); the bus adds the time the frames take on the wire. */
  timeoutMs: number;
  /** Names the device in errors. */
  device: string;
  /** Names what was being done in errors, e.g. `read input-register 100+40`. */
  operation: string;
  /**
   * Aborting fails the request at once (with the abort reason when it is a string); if it is
   * already on the wire, the bus still waits out its answer before the next request.
   */
  signal?: AbortSignal;
}

export interface ModbusBusStats {
  /** Frames put on the wire. */
  requests: number;
  /** Answers with a valid CRC, normal or exception. */
  answers: number;
  exceptions: number;
  timeouts: number;
  /** Answers whose CRC did not check (Serial Line §2.5.1.2). */
  crcErrors: number;
  /** Answers that were no valid answer to their request: truncated, another unit or function, a bad byte count, noise. */
  malformed: number;
  /** Requests refused without going on the wire: unit in backoff, line down. */
  failedFast: number;
  /** Bytes that belonged to no answer. */
  discardedBytes: number;
  /** Requests waiting for the wire now. */
  queueDepth: number;
  /** Most requests ever waiting at once. */
  maxQueueDepth: number;
  unitsInBackoff: number[];
}

export type BusListener = ((state: BusState) => void) | ((unitId: number, state: UnitState) => void);

export interface ModbusBus {
  /** The serial device path, or host:port of the converter. */
  readonly name: string;
  readonly state: BusState;
  /** Sends one request to a unit and resolves with its answer; rejects with a DeviceError. */
  request(unitId: number, request: ModbusRequest, options: BusRequestOptions): Promise<ModbusResponse>;
  unitState(unitId: number): UnitState;
  /** The endpoint URI of a unit on this bus, for birth messages. */
  endpoint(unitId: number): string;
  stats(): ModbusBusStats;
  on(event: 'state', listener: (state: BusState) => void): void;
  on(event: 'unit', listener: (unitId: number, state: UnitState) => void): void;
  off(event: 'state' | 'unit', listener: BusListener): void;
  /** Fails every pending request, stops reopening and closes the line. */
  close(): Promise<void>;
}

/** What a transport gives the bus core. */
export interface RtuBusSetup {
  name: string;
  /** The endpoint of unit 1; unitId is replaced per unit. */
  endpoint: ModbusEndpoint;
  open: RtuLineOpener;
  /** Time of one character on the line (for the frames' time on the wire). */
  charTimeMs: number;
  /** Default silence between frames. */
  silenceMs: number;
}

interface Job {
  unitId: number;
  request: ModbusRequest;
  pdu: Buffer;
  options: BusRequestOptions;
  settled: boolean;
  resolve(response: ModbusResponse): void;
  reject(err: DeviceError): void;
}

interface Transaction {
  job: Job;
  received: Buffer;
  timer: NodeJS.Timeout;
  ended(): void;
}

/** How much noise one answer may come with before the bus stops listening to it. */
const MAX_RECEIVED_BYTES = 4 * RTU_MAX_FRAME_BYTES;
const EMPTY = Buffer.alloc(0);

export function checkBusOptions(where: string, options: ModbusBusOptions): void {
  const { interFrameDelayMs, connectTimeoutMs } = options;
  if (interFrameDelayMs !== undefined && !(Number.isFinite(interFrameDelayMs) && interFrameDelayMs >= 0)) {
    throw new RangeError(`${where}: interFrameDelayMs must be >= 0, got ${interFrameDelayMs}`);
  }
  if (connectTimeoutMs !== undefined && !(Number.isFinite(connectTimeoutMs) && connectTimeoutMs > 0)) {
    throw new RangeError(`${where}: connectTimeoutMs must be > 0, got ${connectTimeoutMs}`);
  }
  reconnectSettings(options.reconnect);
}

/** Bytes of the normal answer to `request` (exceptions are shorter). */
function answerBytes(request: ModbusRequest): number {
  switch (request.functionCode) {
    case 0x01:
    case 0x02:
      return 5 + Math.ceil(request.quantity / 8);
    case 0x03:
    case 0x04:
      return 5 + request.quantity * 2;
    default:
      return 8;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RtuBus implements ModbusBus {
  readonly name: string;
  readonly #setup: RtuBusSetup;
  readonly #options: ModbusBusOptions;
  readonly #silenceMs: number;
  readonly #units: UnitHealth;
  readonly #events = new EventEmitter();
  readonly #queue: Job[] = [];
  readonly #stats = { requests: 0, answers: 0, exceptions: 0, timeouts: 0, crcErrors: 0, malformed: 0, failedFast: 0, discardedBytes: 0, maxQueueDepth: 0 };

  #state: BusState = 'connecting';
  #line: RtuLine | undefined;
  #attempt: Promise<void> = Promise.resolve();
  #abortAttempt: AbortController | undefined;
  readonly #retry: RetrySchedule;
  #pumping = false;
  #current: Transaction | undefined;
  /** performance.now() when the line last carried a byte, either way. */
  #lastTrafficAt = 0;

  constructor(setup: RtuBusSetup, options: ModbusBusOptions) {
    checkBusOptions(`modbus bus ${setup.name}`, options);
    this.name = setup.name;
    this.#setup = setup;
    this.#options = options;
    this.#silenceMs = options.interFrameDelayMs ?? setup.silenceMs;
    this.#units = new UnitHealth(options.unitBackoff);
    this.#retry = new RetrySchedule(options.reconnect);
    // Every driver on the bus listens; there may be dozens.
    this.#events.setMaxListeners(0);
    this.#connect();
  }

  get state(): BusState {
    return this.#state;
  }

  on(event: 'state', listener: (state: BusState) => void): void;
  on(event: 'unit', listener: (unitId: number, state: UnitState) => void): void;
  on(event: 'state' | 'unit', listener: BusListener): void {
    this.#events.on(event, listener as (...args: unknown[]) => void);
  }

  off(event: 'state' | 'unit', listener: BusListener): void {
    this.#events.off(event, listener as (...args: unknown[]) => void);
  }

  unitState(unitId: number): UnitState {
    return this.#units.state(unitId);
  }

  endpoint(unitId: number): string {
    return describeModbusEndpoint({ ...this.#setup.endpoint, unitId });
  }

  stats(): ModbusBusStats {
    return { ...this.#stats, queueDepth: this.#queue.length, unitsInBackoff: this.#units.inBackoff() };
  }

  request(unitId: number, request: ModbusRequest, options: BusRequestOptions): Promise<ModbusResponse> {
    const { device, operation, signal } = options;
    if (this.#state === 'closed') return Promise.reject(new DeviceUnreachableError(device, operation, `bus ${this.name} is closed`));
    if (!Number.isInteger(unitId) || unitId < 1 || unitId > 247) {
      return Promise.reject(new InvalidRequestError(device, operation, `unit id ${unitId} is outside 1..247 (Serial Line §2.2)`));
    }
    let pdu: Buffer;
    try {
      pdu = encodeRequestPdu(request);
    } catch (err) {
      return Promise.reject(new InvalidRequestError(device, operation, messageOf(err)));
    }
    const refusal = this.#refusal(unitId);
    if (refusal) {
      this.#stats.failedFast += 1;
      return Promise.reject(new DeviceUnreachableError(device, operation, refusal));
    }
    const abandoned = (): DeviceError => new DeviceUnreachableError(device, operation, typeof signal?.reason === 'string' ? signal.reason : 'the request was abandoned');
    if (signal?.aborted) return Promise.reject(abandoned());

    return new Promise<ModbusResponse>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#queue.indexOf(job);
        if (index >= 0) this.#queue.splice(index, 1);
        this.#settle(job, abandoned());
      };
      const job: Job = {
        unitId,
        request,
        pdu,
        options,
        settled: false,
        resolve: (response) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(response);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(job);
      this.#stats.maxQueueDepth = Math.max(this.#stats.maxQueueDepth, this.#queue.length);
      void this.#pump();
    });
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#retry.cancel();
    this.#abortAttempt?.abort();
    for (const job of this.#queue.splice(0)) this.#settle(job, this.#closedError(job));
    if (this.#current) this.#end(this.#current, this.#closedError(this.#current.job));
    await this.#attempt;
    const line = this.#line;
    this.#line = undefined;
    await line?.destroy();
    this.#events.removeAllListeners();
  }

  #closedError(job: Job): DeviceError {
    return new DeviceUnreachableError(job.options.device, job.options.operation, `bus ${this.name} was closed`);
  }

  /** Why a request for `unitId` must fail now without going on the wire, or undefined. */
  #refusal(unitId: number): string | undefined {
    if (this.#state === 'closed') return `bus ${this.name} is closed`;
    if (this.#state === 'backoff') {
      return `bus ${this.name} is not open: ${this.#retry.lastProblem || 'not connected'}; next attempt in ${this.#retry.waitMs} ms`;
    }
    const unit = this.#units.refusal(unitId);
    return unit && `unit ${unitId} on bus ${this.name} ${unit}`;
  }

  #settle(job: Job, outcome: ModbusResponse | DeviceError): void {
    if (job.settled) return;
    job.settled = true;
    if (outcome instanceof DeviceError) job.reject(outcome);
    else job.resolve(outcome);
  }

  /** Serves the queue one request at a time until it is empty. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let job = this.#queue.shift(); job; job = this.#queue.shift()) await this.#serve(job);
    } finally {
      this.#pumping = false;
    }
  }

  async #serve(job: Job): Promise<void> {
    // An attempt to open the line is bounded by connectTimeoutMs, so waiting for it is not hanging.
    if (this.#state === 'connecting') await this.#attempt;
    if (job.settled) return;
    const refusal = this.#refusal(job.unitId);
    if (refusal || !this.#line) {
      this.#stats.failedFast += 1;
      this.#settle(job, new DeviceUnreachableError(job.options.device, job.options.operation, refusal ?? `bus ${this.name} is not open`));
      return;
    }
    await this.#quiet();
    const line = this.#line;
    if (job.settled) return;
    if (!line) return this.#settle(job, new DeviceUnreachableError(job.options.device, job.options.operation, `bus ${this.name} is not open`));
    await this.#transact(line, job);
  }

  /**
   * Waits for the inter-frame silence since the last byte either way (Serial Line §2.5.1.1). A line
   * that keeps chattering (noise, a babbling unit) is waited for only so long.
   */
  async #quiet(): Promise<void> {
    const giveUpAt = performance.now() + Math.max(50, 10 * this.#silenceMs);
    for (;;) {
      const now = performance.now();
      const wait = Math.min(this.#lastTrafficAt + this.#silenceMs - now, giveUpAt - now);
      if (wait <= 0) return;
      await sleep(wait);
    }
  }

  #transact(line: RtuLine, job: Job): Promise<void> {
    return new Promise<void>((ended) => {
      const frame = encodeRtuFrame({ unitId: job.unitId, pdu: job.pdu });
      // The timeout counts from the end of the request to the end of the answer, so add the frames' time on the wire.
      const onWireMs = this.#setup.charTimeMs * (frame.length + answerBytes(job.request));
      const transaction: Transaction = {
        job,
        received: EMPTY,
        timer: setTimeout(() => this.#onDeadline(transaction), job.options.timeoutMs + onWireMs),
        ended,
      };
      this.#current = transaction;
      this.#stats.requests += 1;
      this.#lastTrafficAt = performance.now() + frame.length * this.#setup.charTimeMs;
      line.write(frame);
    });
  }

  #end(transaction: Transaction, outcome: ModbusResponse | DeviceError): void {
    if (this.#current !== transaction) return;
    this.#current = undefined;
    clearTimeout(transaction.timer);
    this.#settle(transaction.job, outcome);
    transaction.ended();
  }

  #onData(chunk: Buffer): void {
    this.#lastTrafficAt = performance.now();
    const transaction = this.#current;
    // Between requests nothing is expected: the late answer of a timed-out request, noise. Dropped, so that every request starts clean.
    if (!transaction) {
      this.#stats.discardedBytes += chunk.length;
      return;
    }
    transaction.received = transaction.received.length === 0 ? chunk : Buffer.concat([transaction.received, chunk]);
    const { job } = transaction;
    const match = matchRtuAnswer(transaction.received, job.unitId, job.request.functionCode);
    if (match.kind === 'answer') {
      this.#stats.discardedBytes += match.skippedBytes + match.trailingBytes;
      this.#unitAnswered(job.unitId);
      this.#end(transaction, this.#decode(job, match.pdu));
    } else if (match.kind === 'bad-crc') {
      this.#stats.crcErrors += 1;
      this.#stats.discardedBytes += transaction.received.length;
      this.#unitAnswered(job.unitId);
      const detail = `CRC 0x${match.received.toString(16).padStart(4, '0')} of the answer does not match its computed 0x${match.computed.toString(16).padStart(4, '0')} (Serial Line §2.5.1.2)`;
      this.#end(transaction, new DeviceProtocolError(job.options.device, job.options.operation, detail));
    } else if (transaction.received.length > MAX_RECEIVED_BYTES) {
      this.#stats.malformed += 1;
      this.#stats.discardedBytes += transaction.received.length;
      const detail = `${transaction.received.length} bytes without an answer: ${describeUnmatched(transaction.received, job.unitId, job.request.functionCode)}`;
      this.#end(transaction, new DeviceProtocolError(job.options.device, job.options.operation, detail));
    }
  }

  #decode(job: Job, pdu: Buffer): ModbusResponse | DeviceError {
    const { device, operation } = job.options;
    this.#stats.answers += 1;
    const exceptionCode = exceptionCodeOf(job.request, pdu);
    if (exceptionCode !== undefined) {
      this.#stats.exceptions += 1;
      return new ModbusExceptionError(exceptionCode, device, operation);
    }
    try {
      return decodeResponsePdu(job.request, pdu);
    } catch (err) {
      if (!(err instanceof ModbusFrameError)) throw err;
      this.#stats.malformed += 1;
      return new DeviceProtocolError(device, operation, err.problem, { cause: err });
    }
  }

  #onDeadline(transaction: Transaction): void {
    const { job, received } = transaction;
    if (received.length === 0) {
      this.#stats.timeouts += 1;
      this.#unitTimedOut(job.unitId);
      this.#end(transaction, new DeviceTimeoutError(job.options.device, job.options.operation, job.options.timeoutMs));
      return;
    }
    this.#stats.malformed += 1;
    this.#stats.discardedBytes += received.length;
    this.#end(transaction, new DeviceProtocolError(job.options.device, job.options.operation, describeUnmatched(received, job.unitId, job.request.functionCode)));
  }

  #unitAnswered(unitId: number): void {
    this.#onUnitChange(this.#units.answered(unitId));
  }

  #unitTimedOut(unitId: number): void {
    this.#onUnitChange(this.#units.timedOut(unitId));
  }

  #onUnitChange(change: UnitChange | undefined): void {
    if (!change) return;
    const { unitId, state, timeoutsInRow, retryInMs } = change;
    const log = { bus: this.name, unitId, operation: 'poll', timeoutsInRow, retryInMs };
    if (state === 'backoff') this.#options.logger?.warn(log, `unit ${unitId} on bus ${this.name} not answering, next try in ${retryInMs} ms`);
    else this.#options.logger?.info(log, `unit ${unitId} on bus ${this.name} answers again`);
    this.#events.emit('unit', unitId, state);
  }

  #setState(state: BusState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#options.logger?.debug({ bus: this.name, state }, 'modbus bus state');
    this.#events.emit('state', state);
  }

  #connect(): void {
    this.#setState('connecting');
    const abort = new AbortController();
    this.#abortAttempt = abort;
    this.#attempt = this.#setup.open(this.#options.connectTimeoutMs ?? 2000, abort.signal).then(
      (line) => {
        if (this.#state === 'closed') return line.destroy();
        this.#line = line;
        line.onData((chunk) => this.#onData(chunk));
        line.onClose((reason) => this.#onLineClosed(line, reason));
        this.#retry.succeeded();
        this.#options.logger?.info({ bus: this.name, operation: 'open' }, 'modbus bus open');
        this.#setState('connected');
      },
      (err: unknown) => {
        if (this.#state === 'closed') return;
        this.#retry.lastProblem = `open failed: ${messageOf(err)}`;
        this.#scheduleReconnect();
      },
    );
  }

  #scheduleReconnect(): void {
    const delay = this.#retry.retry(() => this.#connect());
    this.#options.logger?.warn(
      { bus: this.name, operation: 'open', problem: this.#retry.lastProblem, attempt: this.#retry.failures, retryInMs: delay },
      `modbus bus ${this.name} unavailable, retrying in ${delay} ms`,
    );
    this.#setState('backoff');
  }

  #onLineClosed(line: RtuLine, reason: string): void {
    if (line !== this.#line) return;
    this.#line = undefined;
    this.#retry.lastProblem = reason;
    const current = this.#current;
    if (current) this.#end(current, new DeviceUnreachableError(current.job.options.device, current.job.options.operation, `bus ${this.name}: ${reason}`));
    if (this.#state === 'closed') return;
    this.#scheduleReconnect();
  }
}
