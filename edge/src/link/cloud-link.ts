/**
 * The edge's MQTT link to the cloud. On connect it publishes its status (retained; the broker
 * publishes the offline form as its last will) and birth, then streams the outbox as QoS 1
 * batches with a bounded window. It prunes the outbox only on the cloud's "synced up to N"
 * acknowledgement; after a reconnect, a `gap` answer or an acknowledgement timeout it resends
 * from the oldest unacknowledged event (the cloud is idempotent on gateway, stream and seq).
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  CONTRACT_VERSION,
  decodeMessage,
  topicFor,
  type ChannelPayloads,
  type Command,
  type CommandResult,
  type ErrorInfo,
  type GatewayBirth,
  type SyncedAck,
  type UplinkChannel,
} from '@quanlink/contracts';
import { RetrySchedule } from '@quanlink/firmware-bridge';
import type { EventBus, Extension } from '../events/bus.js';
import type { Outbox } from '../outbox/index.js';

export interface CloudLinkOptions {
  gatewayId: string;
  url: string;
  username?: string;
  password?: string;
  /** PEM file of the CA to trust for an mqtts:// url (besides the system's). */
  caFile?: string;
  keepaliveS?: number;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  /** Builds the birth message at each (re)connect. */
  birth: () => Omit<GatewayBirth, 'v' | 'ts' | 'stream'>;
  batchSize?: number;
  maxInFlight?: number;
  ackTimeoutMs?: number;
  /**
   * How long to wait before trying again after the broker refused the credentials (CONNACK 4 or 5):
   * retrying at the usual pace cannot help a revoked gateway. Default 5 minutes.
   */
  refusedRetryMs?: number;
  /** Answers a command; throwing gives an `error` result. Unknown commands are answered by the link. */
  commandHandler?: (command: Command) => Promise<Record<string, unknown>>;
}

interface InFlightBatch {
  first: number;
  last: number;
  sentAt: number;
}

export interface LinkStats {
  connected: boolean;
  reconnects: number;
  ackRttMs?: number;
  batchesSent: number;
  resends: number;
  /** While the broker refuses this gateway's credentials, e.g. `refused: bad username or password (gateway revoked or credentials rotated?)`. */
  refused?: string;
}

export const DEFAULT_REFUSED_RETRY_MS = 5 * 60_000;

/** MQTT 3.1.1 CONNACK return codes that say the credentials will not do (§3.2.2.3). */
const CREDENTIAL_REFUSALS: Record<number, string> = {
  4: 'refused: bad username or password (gateway revoked or credentials rotated?)',
  5: 'refused: not authorized (gateway revoked or credentials rotated?)',
};

/** How long acknowledgements gather before one prune deletes what they cover, ms. */
const PRUNE_COALESCE_MS = 50;

export class CloudLink implements Extension {
  readonly name = 'cloud-link';
  private client: MqttClient | undefined;
  private connected = false;
  private stopping = false;
  private nextSeq = 1;
  private inFlight: InFlightBatch[] = [];
  /** Highest seq the cloud acknowledged, and the highest pruned from the outbox (see schedulePrune). */
  private pruneUpTo = 0;
  private prunedUpTo = 0;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Wide jitter: after a cloud outage a fleet must not reconnect in step. */
  private readonly retry = new RetrySchedule({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.5 });
  private ackTimer: NodeJS.Timeout | undefined;
  /** The next attempt after a credentials refusal (instead of the backoff schedule). */
  private refusedTimer: NodeJS.Timeout | undefined;
  /** The password the current (or last) connection attempt uses. */
  private attemptPassword: string | undefined;
  /** The last connection error logged, so that a repeated one is not logged at every attempt. */
  private lastLoggedError = '';
  private unsubscribeBus: (() => void) | undefined;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly ackTimeoutMs: number;
  readonly stats: LinkStats = { connected: false, reconnects: 0, batchesSent: 0, resends: 0 };

  constructor(private readonly opts: CloudLinkOptions) {
    this.batchSize = opts.batchSize ?? 500;
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
  }

  private topic(channel: Parameters<typeof topicFor>[1]): string {
    return topicFor(this.opts.gatewayId, channel);
  }

  async start(): Promise<void> {
    const { gatewayId, url } = this.opts;
    const will: ChannelPayloads['status'] = { v: CONTRACT_VERSION, state: 'offline', ts: Date.now(), reason: 'connection lost' };
    this.client = mqtt.connect(url, {
      ...(this.opts.caFile !== undefined && url.startsWith('mqtts:') ? { ca: readFileSync(this.opts.caFile) } : {}),
      clientId: gatewayId,
      username: this.opts.username ?? gatewayId,
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      keepalive: this.opts.keepaliveS ?? 30,
      clean: true,
      // Reconnects are ours (backoff with jitter), not mqtt.js's fixed period.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      will: { topic: this.topic('status'), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    });
    this.attemptPassword = this.opts.password;
    this.client.on('connect', () => void this.onConnect());
    this.client.on('close', () => this.onClose());
    this.client.on('error', (err) => this.onError(err as Error & { code?: unknown }));
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.unsubscribeBus = this.opts.bus.on('outbox.appended', () => this.pump());
    this.ackTimer = setInterval(() => this.checkAckTimeout(), Math.max(100, Math.floor(this.ackTimeoutMs / 4)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.retry.cancel();
    clearTimeout(this.refusedTimer);
    clearInterval(this.ackTimer);
    this.flushPrune();
    this.unsubscribeBus?.();
    const client = this.client;
    if (!client) return;
    // mqtt.js never settles a publish or end() on a client whose connection is already gone, so neither is awaited unbounded.
    if (this.connected) {
      const offline: ChannelPayloads['status'] = { v: CONTRACT_VERSION, state: 'offline', ts: Date.now(), reason: 'agent stopped' };
      await settleWithin(client.publishAsync(this.topic('status'), JSON.stringify(offline), { qos: 1, retain: true }), 1000);
    }
    await settleWithin(client.endAsync(true), this.connected ? 1000 : 100);
  }

  /**
   * Uses a new password from now on: closes the connection cleanly (what is in flight, e.g. the
   * answer to the command that brought the password, is delivered first) and reconnects with it.
   */
  async reconnectWithPassword(password: string): Promise<void> {
    this.opts.password = password;
    const client = this.client;
    if (!client) return;
    client.options.password = password;
    if (!this.connected) {
      // Waiting (e.g. refused): a new password is worth trying now. An attempt under way is followed by one with it (onClose).
      if (this.refusedTimer !== undefined || this.retry.waitMs > 0) {
        clearTimeout(this.refusedTimer);
        this.refusedTimer = undefined;
        this.retry.cancel();
        this.attempt();
      }
      return;
    }
    // The close starts the usual reconnect schedule (onClose), now with the new password.
    await settleWithin(client.endAsync(false), 5000);
  }

  /** Publishes on one of this gateway's uplink channels; false when offline (the caller decides whether that matters). */
  publish<C extends UplinkChannel>(channel: C, payload: ChannelPayloads[C], qos: 0 | 1 = 1): boolean {
    if (!this.client || !this.connected) return false;
    this.client.publish(this.topic(channel), JSON.stringify(payload), { qos });
    return true;
  }

  private async onConnect(): Promise<void> {
    const client = this.client!;
    const { gatewayId, logger, outbox } = this.opts;
    this.retry.succeeded();
    this.lastLoggedError = '';
    if (this.stats.refused !== undefined) {
      logger.info({ gateway: gatewayId, was: this.stats.refused, operation: 'mqtt connect' }, 'cloud accepts the credentials again');
      delete this.stats.refused;
    }
    try {
      await client.subscribeAsync([this.topic('synced'), this.topic('cmd')], { qos: 1 });
      const status: ChannelPayloads['status'] = { v: CONTRACT_VERSION, state: 'online', ts: Date.now() };
      await client.publishAsync(this.topic('status'), JSON.stringify(status), { qos: 1, retain: true });
      const birth: GatewayBirth = { v: CONTRACT_VERSION, ts: Date.now(), stream: outbox.stream, ...this.opts.birth() };
      await client.publishAsync(this.topic('birth'), JSON.stringify(birth), { qos: 1 });
    } catch (err) {
      logger.warn({ gateway: gatewayId, err: (err as Error).message, operation: 'link handshake' }, 'handshake failed; will reconnect');
      client.end(true);
      return;
    }
    this.connected = true;
    this.stats.connected = true;
    // Everything not acknowledged is sent again: the cloud drops what it already has.
    this.inFlight = [];
    this.flushPrune();
    this.nextSeq = outbox.stats().firstSeq;
    logger.info({ gateway: gatewayId, url: this.opts.url, resumeFrom: this.nextSeq }, 'cloud link up');
    this.opts.bus.emit('link.state', { connected: true });
    this.pump();
  }

  private onClose(): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.stats.connected = false;
    this.inFlight = [];
    if (wasConnected) {
      if (this.stopping) this.opts.logger.info({ gateway: this.opts.gatewayId }, 'cloud link closed');
      else this.opts.logger.warn({ gateway: this.opts.gatewayId }, 'cloud link down');
      this.opts.bus.emit('link.state', { connected: false });
    }
    if (this.stopping) return;
    if (this.stats.refused !== undefined && this.attemptPassword === this.opts.password) {
      clearTimeout(this.refusedTimer);
      this.refusedTimer = setTimeout(() => {
        this.refusedTimer = undefined;
        this.attempt();
      }, this.opts.refusedRetryMs ?? DEFAULT_REFUSED_RETRY_MS);
      return;
    }
    this.retry.retry(() => this.attempt());
  }

  private attempt(): void {
    if (this.stopping || !this.client) return;
    this.attemptPassword = this.opts.password;
    this.stats.reconnects++;
    this.client.reconnect();
  }

  /** A refusal of the credentials is a state (shown in status, logged when it starts); other errors are logged when they change. */
  private onError(err: Error & { code?: unknown }): void {
    const { gatewayId, logger } = this.opts;
    const refused = typeof err.code === 'number' ? CREDENTIAL_REFUSALS[err.code] : undefined;
    if (refused !== undefined) {
      if (this.stats.refused !== refused) {
        const retryInS = Math.round((this.opts.refusedRetryMs ?? DEFAULT_REFUSED_RETRY_MS) / 100) / 10;
        logger.warn({ gateway: gatewayId, url: this.opts.url, returnCode: err.code, retryInS, operation: 'mqtt connect' }, `cloud link ${refused}; trying again every ${retryInS} s`);
      }
      this.stats.refused = refused;
      this.lastLoggedError = refused;
      return;
    }
    if (err.message === this.lastLoggedError) return;
    this.lastLoggedError = err.message;
    logger.warn({ gateway: gatewayId, err: err.message, operation: 'mqtt connect' }, 'cloud link error');
  }

  /** Sends outbox batches while the window has room. */
  private pump(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    const { outbox } = this.opts;
    while (this.inFlight.length < this.maxInFlight) {
      const rows = outbox.readFrom(this.nextSeq, this.batchSize);
      if (rows.length === 0) return;
      const first = rows[0]!.seq;
      const last = rows[rows.length - 1]!.seq;
      const sentAt = Date.now();
      // The rows are stored serialized; the batch is assembled without parsing them again.
      const payload = `{"v":${CONTRACT_VERSION},"stream":${JSON.stringify(outbox.stream)},"first":${first},"last":${last},"sentAt":${sentAt},"events":[${rows.map((r) => r.json).join(',')}]}`;
      client.publish(this.topic('events'), payload, { qos: 1 });
      this.inFlight.push({ first, last, sentAt });
      this.stats.batchesSent++;
      this.nextSeq = last + 1;
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topic('synced')) this.onSynced(payload);
    else if (topic === this.topic('cmd')) void this.onCommand(payload);
  }

  private onSynced(payload: Buffer): void {
    const { logger, gatewayId, outbox } = this.opts;
    const decoded = decodeMessage('synced', payload);
    if (!decoded.ok) {
      logger.warn({ gateway: gatewayId, err: decoded.error.message, operation: 'synced ack' }, 'ignoring malformed acknowledgement');
      return;
    }
    const ack: SyncedAck = decoded.value;
    if (ack.stream !== outbox.stream) {
      logger.debug({ gateway: gatewayId, stream: ack.stream }, 'acknowledgement for another outbox stream ignored');
      return;
    }
    for (const rejected of ack.rejected ?? []) {
      logger.warn({ gateway: gatewayId, seq: rejected.seq, error: rejected.error }, 'cloud quarantined an event');
    }
    if (ack.upTo > 0) this.schedulePrune(ack.upTo);
    const acked = this.inFlight.filter((b) => b.last <= ack.upTo);
    if (acked.length > 0) this.stats.ackRttMs = Date.now() - acked[acked.length - 1]!.sentAt;
    this.inFlight = this.inFlight.filter((b) => b.last > ack.upTo);
    if (ack.status === 'gap') {
      logger.warn({ gateway: gatewayId, upTo: ack.upTo }, 'cloud reported a gap; resending');
      this.rewind(ack.upTo + 1);
    }
    this.pump();
  }

  /**
   * Acknowledged events are pruned a moment later, several acks in one delete: each prune is a
   * durable commit (an fsync), and acks come in bursts. An event acked but not yet pruned when the
   * gateway stops is sent again at most once more, and the cloud drops it as a duplicate.
   */
  private schedulePrune(upTo: number): void {
    this.pruneUpTo = Math.max(this.pruneUpTo, upTo);
    this.pruneTimer ??= setTimeout(() => this.flushPrune(), PRUNE_COALESCE_MS);
  }

  private flushPrune(): void {
    clearTimeout(this.pruneTimer);
    this.pruneTimer = undefined;
    if (this.pruneUpTo <= this.prunedUpTo) return;
    const upTo = this.pruneUpTo;
    try {
      const pruned = this.opts.outbox.pruneUpTo(upTo);
      this.prunedUpTo = upTo;
      if (pruned > 0) this.opts.bus.emit('link.synced', { upTo, pruned });
    } catch (err) {
      this.opts.logger.error({ gateway: this.opts.gatewayId, err, operation: 'outbox prune' }, 'could not prune acknowledged events; they are sent again');
    }
  }

  private rewind(fromSeq: number): void {
    this.flushPrune();
    this.stats.resends++;
    this.inFlight = [];
    this.nextSeq = Math.max(fromSeq, this.opts.outbox.stats().firstSeq);
  }

  private checkAckTimeout(): void {
    const oldest = this.inFlight[0];
    if (!this.connected) return;
    if (!oldest || Date.now() - oldest.sentAt < this.ackTimeoutMs) {
      // Also a safety net for appends nobody announced on the bus.
      this.pump();
      return;
    }
    this.opts.logger.warn({ gateway: this.opts.gatewayId, first: oldest.first, timeoutMs: this.ackTimeoutMs }, 'no acknowledgement in time; resending');
    this.rewind(this.opts.outbox.stats().firstSeq);
    this.pump();
  }

  private async onCommand(payload: Buffer): Promise<void> {
    const { logger, gatewayId } = this.opts;
    const decoded = decodeMessage('cmd', payload);
    if (!decoded.ok) {
      logger.warn({ gateway: gatewayId, err: decoded.error.message, operation: 'command' }, 'ignoring malformed command');
      return;
    }
    const command = decoded.value;
    const reply = (result: { status: 'ok'; data: Record<string, unknown> } | { status: 'error'; error: ErrorInfo }) =>
      this.publish('cmd/result', { v: CONTRACT_VERSION, tx: command.tx, ts: Date.now(), ...result } as CommandResult);
    if (command.expiresAt !== undefined && command.expiresAt < Date.now()) {
      reply({ status: 'error', error: { code: 'CommandExpired', message: `command ${command.name} expired at ${new Date(command.expiresAt).toISOString()}` } });
      return;
    }
    try {
      const data = command.name === 'ping' ? { pong: Date.now() } : await this.handle(command);
      reply({ status: 'ok', data });
    } catch (err) {
      const e = err as Error & { code?: string };
      reply({ status: 'error', error: { code: e.code ?? 'CommandFailed', message: e.message, operation: command.name } });
    }
  }

  private async handle(command: Command): Promise<Record<string, unknown>> {
    if (!this.opts.commandHandler) {
      throw Object.assign(new Error(`unknown command '${command.name}'`), { code: 'UnknownCommand' });
    }
    return this.opts.commandHandler(command);
  }
}

/** Waits for a promise at most `ms`; its outcome is ignored. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
