/**
 * The MQTT face of a simulated screen: the sign's side of the JSON wire documented in
 * firmware-bridge mqtt-sign-driver.ts. It connects with 'offline' as its last will, says
 * 'online', keeps its state retained, answers set and get. Going offline drops the connection
 * without a DISCONNECT, so the broker publishes the will, as for a sign that lost power.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  SignPayloadError,
  parseSignGet,
  parseSignSet,
  signTopics,
  type SignReply,
  type SignStatePayload,
  type SignTopics,
} from '@quanlink/firmware-bridge';
import type { ActivationResult, VmsScreen } from './screen.js';

/** Waits for `promise` at most `ms` (mqtt.js never settles on a dead connection). */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export class MqttSign {
  readonly topics: SignTopics;
  #client: MqttClient | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly screen: VmsScreen,
    private readonly brokerUrl: string,
    topicBase: string,
    private readonly logger: Logger,
  ) {
    this.topics = signTopics(topicBase);
  }

  get connected(): boolean {
    return this.#client?.connected === true;
  }

  /** Connects, subscribes, says online and publishes the state; resolves once all of that is done. */
  async start(): Promise<void> {
    if (this.#client) return;
    const client = mqtt.connect(this.brokerUrl, {
      clientId: `vms-sim-${this.screen.id}-${Math.random().toString(16).slice(2, 8)}`,
      clean: true,
      reconnectPeriod: 500,
      connectTimeout: 5000,
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    client.on('error', (err) => this.logger.warn({ device: this.screen.id, operation: 'connect', problem: err.message }, 'sign simulator broker error'));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    this.#client = client;
    // On every connect (the first, and after a broker restart): subscribe and say we are here.
    const announced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vms ${this.screen.id}: no connection to the broker ${this.brokerUrl} within 5000 ms`)), 5000);
      client.on('connect', () =>
        void this.#announce(client).then(() => {
          clearTimeout(timer);
          resolve();
        }),
      );
    });
    try {
      await announced;
    } catch (err) {
      await this.#drop();
      throw err;
    }
    this.#unsubscribe = this.screen.onChange((what) => {
      if (what !== 'faults') this.#publishState();
    });
  }

  /** Drops the connection without DISCONNECT: the broker publishes the last will ('offline'). */
  async goOffline(): Promise<void> {
    await this.#drop();
  }

  /** A clean shutdown: says offline itself, then disconnects. */
  async close(): Promise<void> {
    const client = this.#client;
    if (client?.connected) await settleWithin(client.publishAsync(this.topics.availability, 'offline', { qos: 1, retain: true }), 1000);
    if (client) await settleWithin(client.endAsync(), 1000);
    await this.#drop();
  }

  async #drop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    client.removeAllListeners('message');
    client.removeAllListeners('connect');
    await settleWithin(client.endAsync(true), 1000);
    client.removeAllListeners();
    client.on('error', () => undefined);
  }

  async #announce(client: MqttClient): Promise<void> {
    if (client !== this.#client) return;
    await settleWithin(client.subscribeAsync([this.topics.set, this.topics.get], { qos: 1 }), 2000);
    await settleWithin(client.publishAsync(this.topics.availability, 'online', { qos: 1, retain: true }), 2000);
    await settleWithin(client.publishAsync(this.topics.state, JSON.stringify(this.#state()), { qos: 1, retain: true }), 2000);
  }

  #state(tx?: string): SignStatePayload {
    const s = this.screen.status();
    return {
      displayedCrc: s.displayedCrc,
      multi: s.multi,
      doorOpen: s.doorOpen,
      powerFault: s.powerFault,
      controllerFault: s.controllerFault,
      pixelFailures: s.pixelFailures,
      brightness: s.brightness,
      ts: Date.now(),
      ...(tx !== undefined && { tx }),
    };
  }

  /** Publishes after the slowMs fault's delay, unless the sign went offline meanwhile. */
  #publish(topic: string, body: object, retain: boolean): void {
    const client = this.#client;
    if (!client) return;
    const send = (): void => {
      if (client === this.#client && client.connected) client.publish(topic, JSON.stringify(body), { qos: 1, retain });
    };
    const delay = this.screen.faults().slowMs;
    if (delay <= 0) return send();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      send();
    }, delay);
    this.#timers.add(timer);
  }

  #publishState(): void {
    this.#publish(this.topics.state, this.#state(), true);
  }

  #onMessage(topic: string, payload: Buffer): void {
    try {
      if (topic === this.topics.get) {
        const { tx } = parseSignGet(payload);
        // The answer to a get is not retained: the retained state stays the last change.
        this.#publish(this.topics.state, this.#state(tx), false);
        return;
      }
      if (topic !== this.topics.set) return;
      const request = parseSignSet(payload);
      let result: ActivationResult;
      if ('multi' in request) result = this.screen.display(request.multi, request.crc);
      else if ('blank' in request) result = this.screen.blank();
      else {
        this.screen.setBrightness(request.brightness);
        result = { ok: true };
      }
      const reply: SignReply = result.ok
        ? { tx: request.tx, ok: true }
        : { tx: request.tx, ok: false, error: { code: result.rejection.code, message: result.message.slice(0, 2000) } };
      this.#publish(this.topics.reply, reply, false);
    } catch (err) {
      if (!(err instanceof SignPayloadError)) throw err;
      this.logger.warn({ device: this.screen.id, topic, problem: err.message }, `malformed request ignored: ${err.message}`);
    }
  }
}
