/**
 * A guidance screen that speaks JSON over MQTT (QoS 1), under its own topic base, e.g. vms/sign-1.
 *
 * Driver -> sign:
 *   {base}/set    {"tx":"<id>","multi":"...","crc":n}   show this message (crc: NTCIP 1203 CRC of multi)
 *                 {"tx":"<id>","blank":true}            blank the screen
 *                 {"tx":"<id>","brightness":n}          brightness 0-100
 *   {base}/get    {"tx":"<id>"}                         ask for the state
 * Sign -> driver:
 *   {base}/reply  {"tx":"<id>","ok":true}
 *                 {"tx":"<id>","ok":false,"error":{"code":"CrcMismatch|MultiSyntax|DoesNotFit|Rejected","message":"..."}}
 *   {base}/state  retained; on every change, and in answer to a get (then carrying its tx):
 *                 {"displayedCrc":n,"multi":"...","doorOpen":false,"powerFault":false,"controllerFault":false,
 *                  "pixelFailures":0,"brightness":80,"ts":<epoch ms>}
 *   {base}/availability  retained 'online' | 'offline'; 'offline' is the sign's MQTT last will
 *
 * Every received payload is validated; a malformed one is logged with device and topic and
 * ignored. mqtt.js never settles a publish on a dead connection, so every wait has a timer.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { DeviceError, DeviceUnreachableError, messageOf } from '../errors.js';
import type { DriverLogger, DriverState } from '../types.js';
import {
  SignPayloadError,
  parseSignAvailability,
  parseSignReply,
  parseSignState,
  signTopics,
  type SignAvailability,
  type SignSetRequest,
  type SignStatePayload,
  type SignTopics,
} from './mqtt-sign-wire.js';
import { SIGN_ERROR_CODES, checkBrightness, checkDisplayArgs, signRejected, type SignDriver, type SignState } from './sign-driver.js';

export interface MqttSignDriverOptions {
  device: string;
  url: string;
  username?: string;
  password?: string;
  topicBase: string;
  /** Longest wait for the sign's answer (and for the broker at start); default 5000. */
  timeoutMs?: number;
  logger: DriverLogger;
}

export function createMqttSignDriver(opts: MqttSignDriverOptions): SignDriver {
  return new MqttSignDriver(opts);
}

interface Waiter {
  kind: 'reply' | 'state';
  operation: string;
  resolve(payload: unknown): void;
  reject(err: DeviceError): void;
}

/** Waits for `promise` at most `ms`; never throws. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

class MqttSignDriver implements SignDriver {
  readonly #device: string;
  readonly #url: string;
  readonly #topics: SignTopics;
  readonly #timeoutMs: number;
  readonly #logger: DriverLogger;
  readonly #client: MqttClient;
  readonly #waiters = new Map<string, Waiter>();
  readonly #txPrefix = randomBytes(4).toString('hex');
  #txCount = 0;
  /** Connected to the broker and subscribed to the sign's topics. */
  #ready = false;
  #readyListeners = new Set<() => void>();
  #availability: SignAvailability | undefined;
  #closed = false;
  /** A connection attempt has ended at least once: from then on, not ready means backoff. */
  #attemptEnded = false;

  constructor(opts: MqttSignDriverOptions) {
    if (typeof opts.device !== 'string' || opts.device === '') throw new TypeError('mqtt sign driver: device is missing');
    const where = `mqtt sign driver ${opts.device}`;
    if (typeof opts.topicBase !== 'string' || opts.topicBase === '' || /[#+]/.test(opts.topicBase)) {
      throw new TypeError(`${where}: topicBase must be a topic without wildcards, got ${JSON.stringify(opts.topicBase)}`);
    }
    const timeoutMs = opts.timeoutMs ?? 5000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`${where}: timeoutMs must be > 0, got ${timeoutMs}`);
    this.#device = opts.device;
    this.#url = opts.url;
    this.#topics = signTopics(opts.topicBase);
    this.#timeoutMs = timeoutMs;
    this.#logger = opts.logger;
    const options: IClientOptions = {
      clientId: `quanlink-sign-${opts.device}-${this.#txPrefix}`.slice(0, 64),
      clean: true,
      connectTimeout: timeoutMs,
      reconnectPeriod: 1000,
      // Subscriptions are renewed on every connect below, so that the retained state arrives again.
      resubscribe: false,
    };
    if (opts.username !== undefined) options.username = opts.username;
    if (opts.password !== undefined) options.password = opts.password;
    this.#client = mqtt.connect(opts.url, options);
    this.#client.on('connect', () => this.#onConnect());
    this.#client.on('close', () => this.#onDisconnect());
    this.#client.on('error', (err) => this.#logger.warn({ device: this.#device, operation: 'connect', url: this.#url, problem: err.message }, 'sign broker connection error'));
    this.#client.on('message', (topic, payload) => this.#onMessage(topic, payload));
  }

  get state(): DriverState {
    if (this.#closed) return 'closed';
    if (!this.#ready) return this.#attemptEnded ? 'backoff' : 'connecting';
    return this.#availability === 'offline' ? 'backoff' : 'connected';
  }

  async display(multi: string, crc: number): Promise<void> {
    checkDisplayArgs(this.#device, multi, crc);
    await this.#set('display', { multi, crc });
  }

  async blank(): Promise<void> {
    await this.#set('blank', { blank: true });
  }

  async setBrightness(percent: number): Promise<void> {
    checkBrightness(this.#device, percent);
    await this.#set('set brightness', { brightness: percent });
  }

  async readState(): Promise<SignState> {
    const operation = 'read state';
    const tx = await this.#begin(operation);
    const state = (await this.#exchange(tx, 'state', operation, this.#topics.get, { tx })) as SignStatePayload;
    const result: SignState = {
      displayedCrc: state.displayedCrc,
      doorOpen: state.doorOpen,
      powerFault: state.powerFault,
      controllerFault: state.controllerFault,
      pixelFailures: state.pixelFailures,
    };
    if (state.brightness !== undefined) result.brightness = state.brightness;
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll((operation) => new DeviceUnreachableError(this.#device, operation, 'the driver was closed'));
    await settleWithin(this.#client.endAsync(), 1000);
    if (!this.#client.disconnected) this.#client.end(true);
    this.#client.removeAllListeners();
    this.#client.on('error', () => undefined);
  }

  async #set(operation: string, body: Omit<SignSetRequest, 'tx'> & Record<string, unknown>): Promise<void> {
    const tx = await this.#begin(operation);
    await this.#exchange(tx, 'reply', operation, this.#topics.set, { tx, ...body });
  }

  /** Checks that a request can go out now (waiting a bounded time for the first connection); returns its tx. */
  async #begin(operation: string): Promise<string> {
    if (this.#closed) throw new DeviceUnreachableError(this.#device, operation, 'the driver is closed');
    if (!this.#ready) await this.#waitReady(operation);
    if (this.#availability === 'offline') throw this.#offline(operation);
    this.#txCount += 1;
    return `${this.#txPrefix}-${this.#txCount}`;
  }

  #waitReady(operation: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#readyListeners.delete(done);
        if (this.#closed) reject(new DeviceUnreachableError(this.#device, operation, 'the driver is closed'));
        else resolve();
      };
      const timer = setTimeout(() => {
        this.#readyListeners.delete(done);
        reject(new DeviceUnreachableError(this.#device, operation, `no connection to the broker ${this.#url} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#readyListeners.add(done);
    });
  }

  /** Publishes a request and waits for the reply (or state) carrying its tx, at most timeoutMs. */
  #exchange(tx: string, kind: Waiter['kind'], operation: string, topic: string, body: object): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(tx);
        reject(new DeviceError(SIGN_ERROR_CODES.timeout, this.#device, operation, `no ${kind} from the sign on ${this.#topics[kind]} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(tx);
      };
      this.#waiters.set(tx, {
        kind,
        operation,
        resolve: (payload) => {
          finish();
          resolve(payload);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      });
      this.#client.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => {
        if (err) this.#waiters.get(tx)?.reject(new DeviceUnreachableError(this.#device, operation, `publish on ${topic} failed: ${messageOf(err)}`, { cause: err }));
      });
    });
  }

  #offline(operation: string): DeviceError {
    return new DeviceError(SIGN_ERROR_CODES.unreachable, this.#device, operation, `the sign is offline (${this.#topics.availability} says offline)`);
  }

  #failAll(error: (operation: string) => DeviceError): void {
    for (const waiter of [...this.#waiters.values()]) waiter.reject(error(waiter.operation));
  }

  #onConnect(): void {
    const { reply, state, availability } = this.#topics;
    this.#client.subscribe([reply, state, availability], { qos: 1 }, (err) => {
      if (err) {
        this.#logger.warn({ device: this.#device, operation: 'subscribe', problem: err.message }, 'cannot subscribe to the sign topics');
        return;
      }
      if (this.#closed || !this.#client.connected) return;
      this.#ready = true;
      this.#logger.debug({ device: this.#device, operation: 'connect', url: this.#url }, 'sign driver connected');
      for (const listener of [...this.#readyListeners]) listener();
    });
  }

  #onDisconnect(): void {
    this.#attemptEnded = true;
    if (!this.#ready) return;
    this.#ready = false;
    if (this.#closed) return;
    this.#logger.warn({ device: this.#device, operation: 'connect', url: this.#url }, 'lost the broker connection; reconnecting');
    // An answer published while we are away is lost (clean session): fail now rather than at the timeout.
    this.#failAll((operation) => new DeviceUnreachableError(this.#device, operation, `lost the connection to the broker ${this.#url}`));
  }

  #onMessage(topic: string, payload: Buffer): void {
    try {
      switch (topic) {
        case this.#topics.availability: {
          const availability = parseSignAvailability(payload);
          if (availability !== this.#availability) this.#logger.info({ device: this.#device, availability }, `sign is ${availability}`);
          this.#availability = availability;
          if (availability === 'offline') this.#failAll((operation) => this.#offline(operation));
          return;
        }
        case this.#topics.reply: {
          const reply = parseSignReply(payload);
          const waiter = this.#waiters.get(reply.tx);
          if (waiter?.kind !== 'reply') {
            this.#logger.debug({ device: this.#device, topic, tx: reply.tx }, 'reply to no request of ours (late, or another driver)');
            return;
          }
          if (reply.ok) waiter.resolve(reply);
          else waiter.reject(signRejected(this.#device, waiter.operation, `${reply.error.message} (${reply.error.code})`));
          return;
        }
        case this.#topics.state: {
          const state = parseSignState(payload);
          const waiter = state.tx === undefined ? undefined : this.#waiters.get(state.tx);
          if (waiter?.kind === 'state') waiter.resolve(state);
          return;
        }
        default:
          this.#logger.debug({ device: this.#device, topic }, 'message on an unexpected topic ignored');
      }
    } catch (err) {
      const problem = err instanceof SignPayloadError ? err.message : messageOf(err);
      this.#logger.warn({ device: this.#device, topic, problem, bytes: payload.length }, `malformed sign payload ignored: ${problem}`);
    }
  }
}
