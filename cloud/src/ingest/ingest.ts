/**
 * Ingest: an MQTT client (so it works against the embedded broker or an external one) that hears
 * every gateway's uplink, commits event batches to the store and only then publishes the SyncedAck.
 * Event batches that arrive together (from one gateway's window or from many gateways) are committed
 * together, with one durable commit, and each is then acknowledged on its gateway's `synced` topic.
 * Their PUBACK goes out on arrival: what the edge relies on is the SyncedAck, sent only after the
 * commit; a batch lost before its commit is never acknowledged and the edge resends it.
 * Other messages are handled one at a time, in arrival order, PUBACKed after handling.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import {
  allGatewaysFilter,
  assertMessage,
  CONTRACT_VERSION,
  decodeMessage,
  isUplink,
  parseTopic,
  topicFor,
  UPLINK_CHANNELS,
  validateMessage,
  type ChannelPayloads,
  type Decoded,
  type CommandResult,
  type DownlinkChannel,
  type EventBatch,
  type GatewayBirth,
  type GatewayStatus,
  type SyncedAck,
  type UplinkChannel,
} from '@quanlink/contracts';
import type { Logger } from 'pino';
import type { BatchToIngest, CloudStore, IngestResult } from '../store/types.js';
import { stripBirthCredentials } from '../cameras/credentials.js';
import { GRADES } from '../traffic/grades.js';
import { splitBatch } from './split-batch.js';

export interface IngestOptions {
  /** mqtt://host:port (or mqtts://) of the broker. */
  url: string;
  /** For mqtts: the CA certificates (PEM) to trust instead of the system's, and the name the broker's certificate must carry when it is not the url's host. */
  ca?: string | string[] | undefined;
  servername?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  clientId?: string | undefined;
  store: CloudStore;
  logger: Logger;
}

export interface IngestCounters {
  batches: number;
  eventsInserted: number;
  eventsDuplicate: number;
  eventsQuarantined: number;
  gaps: number;
  acksSent: number;
  statusUpdates: number;
  births: number;
  telemetry: number;
  commandResults: number;
  /** Payloads dropped because they were not valid JSON or did not match their channel's schema. */
  malformed: number;
  /** Messages dropped because their gateway is not registered. */
  unregistered: number;
  /** Messages that could not be handled because the store failed (not acknowledged: the edge resends). */
  storeErrors: number;
  /** Road segment traffic grade changes recorded. */
  gradeChanges: number;
}

/**
 * Who else needs to hear what ingest handled (the dispatcher). Called after the store was updated,
 * never awaited: a listener that waits for MQTT itself would otherwise stall this client's inbound stream.
 */
export interface IngestListener {
  batchCommitted?(gatewayId: string, result: IngestResult): void;
  status?(gatewayId: string, status: GatewayStatus): void;
  birth?(gatewayId: string, birth: GatewayBirth): void;
  commandResult?(gatewayId: string, result: CommandResult): void;
}

export interface Ingest {
  readonly counters: Readonly<IngestCounters>;
  connected(): boolean;
  /** Adds a listener; returns its removal. */
  listen(listener: IngestListener): () => void;
  /** Publishes on a gateway's downlink channel (QoS 1) with the cloud's service client; resolves on PUBACK. */
  publish<C extends DownlinkChannel>(gatewayId: string, channel: C, payload: ChannelPayloads[C]): Promise<void>;
  close(): Promise<void>;
}

const UNREGISTERED_LOG_INTERVAL_MS = 60_000;
const STARTUP_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 2000;
/** Bounds one commit's size (and how long it holds the event loop). */
const MAX_BATCHES_PER_COMMIT = 64;

function emptyCounters(): IngestCounters {
  return {
    batches: 0,
    eventsInserted: 0,
    eventsDuplicate: 0,
    eventsQuarantined: 0,
    gaps: 0,
    acksSent: 0,
    statusUpdates: 0,
    births: 0,
    telemetry: 0,
    commandResults: 0,
    malformed: 0,
    unregistered: 0,
    storeErrors: 0,
    gradeChanges: 0,
  };
}

class MqttIngest implements Ingest {
  readonly counters = emptyCounters();
  private readonly registered = new Set<string>();
  private readonly unregisteredLoggedAt = new Map<string, number>();
  private handling: Promise<void> = Promise.resolve();
  /** Event batches received and not yet committed, in arrival order. */
  private pendingBatches: { gatewayId: string; payload: Buffer | string }[] = [];
  private committing: Promise<void> | undefined;
  private readonly listeners = new Set<IngestListener>();

  constructor(
    private readonly client: MqttClient,
    private readonly store: CloudStore,
    private readonly logger: Logger,
  ) {
    client.handleMessage = (packet, done) => {
      const parsed = parseTopic(packet.topic);
      if (parsed?.channel === 'events') {
        this.pendingBatches.push({ gatewayId: parsed.gatewayId, payload: packet.payload });
        // setImmediate: batches that arrived in the same I/O turn join this group.
        if (!this.committing) this.committing = new Promise((resolve) => setImmediate(() => void this.commitPending().finally(resolve)));
        done();
        return;
      }
      this.handling = this.handle(packet).catch((err: unknown) => {
        this.counters.storeErrors++;
        this.logger.error(
          { gateway: parseTopic(packet.topic)?.gatewayId, topic: packet.topic, operation: 'ingest', err },
          'ingest failed; message not acknowledged to the gateway',
        );
      });
      void this.handling.then(() => done());
    };
  }

  connected(): boolean {
    return this.client.connected;
  }

  listen(listener: IngestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish<C extends DownlinkChannel>(gatewayId: string, channel: C, payload: ChannelPayloads[C]): Promise<void> {
    assertMessage(channel, payload);
    await this.client.publishAsync(topicFor(gatewayId, channel), JSON.stringify(payload), { qos: 1 });
  }

  private notify(call: (listener: IngestListener) => void, gatewayId: string, operation: string): void {
    for (const listener of this.listeners) {
      try {
        call(listener);
      } catch (err) {
        this.logger.error({ gateway: gatewayId, operation, err }, 'ingest listener failed');
      }
    }
  }

  async close(): Promise<void> {
    await this.handling;
    await this.committing;
    // A graceful end waits for in-flight acks to be PUBACKed, which never happens if the broker is gone.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_GRACE_MS)));
    const timedOut = await Promise.race([this.client.endAsync().then(() => false), gaveUp]);
    clearTimeout(timer);
    if (timedOut) await this.client.endAsync(true);
  }

  private async handle(packet: IPublishPacket): Promise<void> {
    const topic = packet.topic;
    const parsed = parseTopic(topic);
    if (!parsed || !isUplink(parsed.channel)) {
      this.counters.malformed++;
      this.logger.warn({ topic, operation: 'ingest' }, 'message on a topic outside the uplink map dropped');
      return;
    }
    const { gatewayId, channel } = parsed;
    if (!(await this.isRegistered(gatewayId))) return;
    const payload = packet.payload;
    switch (channel) {
      case 'events':
        return; // never reaches here: batches are committed in groups (commitPending)
      case 'status': {
        const decoded = decodeMessage('status', payload);
        if (!decoded.ok) return this.dropMalformed(gatewayId, channel, decoded.error);
        await this.store.setGatewayStatus(gatewayId, decoded.value, Date.now());
        this.counters.statusUpdates++;
        this.notify((l) => l.status?.(gatewayId, decoded.value), gatewayId, 'status listener');
        this.logger.info({ gateway: gatewayId, state: decoded.value.state, reason: decoded.value.reason }, 'gateway status');
        return;
      }
      case 'birth': {
        const { decoded, stripped } = decodeBirth(payload);
        if (!decoded.ok) return this.dropMalformed(gatewayId, channel, decoded.error);
        if (stripped.length > 0) {
          this.logger.warn(
            { gateway: gatewayId, fields: stripped, operation: 'ingest birth' },
            'birth carried credentials in device URIs; stripped before storing (the gateway must not send them)',
          );
        }
        await this.store.applyBirth(gatewayId, decoded.value, Date.now());
        this.counters.births++;
        this.notify((l) => l.birth?.(gatewayId, decoded.value), gatewayId, 'birth listener');
        this.logger.info(
          { gateway: gatewayId, agentVersion: decoded.value.agentVersion, devices: decoded.value.devices.length },
          'gateway birth',
        );
        return;
      }
      case 'telemetry': {
        const decoded = decodeMessage('telemetry', payload);
        if (!decoded.ok) return this.dropMalformed(gatewayId, channel, decoded.error);
        await this.store.recordTelemetry(gatewayId, decoded.value, Date.now());
        this.counters.telemetry++;
        return;
      }
      case 'cmd/result': {
        const decoded = decodeMessage('cmd/result', payload);
        if (!decoded.ok) return this.dropMalformed(gatewayId, channel, decoded.error);
        this.counters.commandResults++;
        this.logger.info({ gateway: gatewayId, tx: decoded.value.tx, status: decoded.value.status }, 'command result');
        this.notify((l) => l.commandResult?.(gatewayId, decoded.value), gatewayId, 'command result listener');
        return;
      }
    }
  }

  /** Commits every pending batch, in groups, until none is left. */
  private async commitPending(): Promise<void> {
    try {
      while (this.pendingBatches.length > 0) {
        const group = this.pendingBatches.splice(0, MAX_BATCHES_PER_COMMIT);
        await this.commitGroup(group);
      }
    } finally {
      this.committing = undefined;
    }
  }

  private async commitGroup(group: { gatewayId: string; payload: Buffer | string }[]): Promise<void> {
    const items: BatchToIngest[] = [];
    for (const { gatewayId, payload } of group) {
      if (!(await this.isRegistered(gatewayId))) continue;
      const decoded = decodeMessage('events', payload);
      if (!decoded.ok) {
        this.dropMalformed(gatewayId, 'events', decoded.error);
        continue;
      }
      const batch: EventBatch = decoded.value;
      const { valid, rejected } = splitBatch(batch);
      items.push({ gatewayId, batch: { stream: batch.stream, first: batch.first, last: batch.last }, valid, rejected });
    }
    if (items.length === 0) return;
    let results: (IngestResult | Error)[];
    try {
      results = await this.store.ingestBatches(items, Date.now());
    } catch (err) {
      results = items.map(() => (err instanceof Error ? err : new Error(String(err))));
    }
    items.forEach((item, i) => this.acknowledge(item, results[i]!));
  }

  private acknowledge(item: BatchToIngest, result: IngestResult | Error): void {
    const { gatewayId, batch, rejected } = item;
    if (result instanceof Error) {
      this.counters.storeErrors++;
      this.logger.error(
        { gateway: gatewayId, stream: batch.stream, first: batch.first, last: batch.last, operation: 'ingest batch', err: result },
        'batch not committed; not acknowledged, the gateway will resend',
      );
      return;
    }
    this.counters.batches++;
    this.counters.eventsInserted += result.inserted;
    this.counters.eventsDuplicate += result.duplicates;
    this.counters.eventsQuarantined += result.quarantined;
    if (result.status === 'gap') {
      this.counters.gaps++;
      this.logger.info(
        { gateway: gatewayId, stream: batch.stream, first: batch.first, syncedUpTo: result.upTo },
        'event batch starts after a gap; asking the gateway to resend',
      );
    } else if (rejected.length > 0) {
      this.logger.warn(
        { gateway: gatewayId, stream: batch.stream, rejected: rejected.length, firstReason: rejected[0]!.reason },
        'events quarantined',
      );
    }

    for (const change of result.gradeChanges ?? []) {
      this.counters.gradeChanges++;
      this.logger.info(
        {
          segment: change.segmentId,
          periodStart: new Date(change.periodStart).toISOString(),
          periodS: change.periodS,
          from: GRADES[change.fromGrade].name,
          to: GRADES[change.toGrade].name,
          speedKmh: change.speed === null ? null : Math.round(change.speed * 10) / 10,
          gateway: gatewayId,
          operation: 'segment grade',
        },
        `segment '${change.segmentId}' traffic state ${GRADES[change.fromGrade].nameZh} -> ${GRADES[change.toGrade].nameZh}`,
      );
    }

    if (result.status === 'ok') this.notify((l) => l.batchCommitted?.(gatewayId, result), gatewayId, 'batch listener');
    for (const event of result.storeRejected ?? []) {
      this.logger.warn({ gateway: gatewayId, stream: batch.stream, seq: event.seq, reason: event.reason, operation: 'ingest' }, 'event quarantined');
    }

    const ack: SyncedAck = { v: CONTRACT_VERSION, stream: batch.stream, upTo: result.upTo, status: result.status };
    const refused = [
      ...rejected.map((event) => ({ seq: event.seq, error: event.reason })),
      ...(result.storeRejected ?? []).map((event) => ({ seq: event.seq, error: event.reason })),
    ].sort((a, b) => a.seq - b.seq);
    if (result.status === 'ok' && refused.length > 0) ack.rejected = refused;
    assertMessage('synced', ack);
    this.client.publish(topicFor(gatewayId, 'synced'), JSON.stringify(ack), { qos: 1 }, (err) => {
      if (err) this.logger.warn({ gateway: gatewayId, stream: batch.stream, operation: 'publish synced ack', err: err.message }, 'ack not sent');
    });
    this.counters.acksSent++;
  }

  private dropMalformed(gatewayId: string, channel: UplinkChannel, error: { path: string; problem: string }): void {
    this.counters.malformed++;
    this.logger.warn(
      { gateway: gatewayId, channel, path: error.path === '' ? '(payload)' : error.path, problem: error.problem, operation: 'ingest' },
      'malformed payload dropped',
    );
  }

  private async isRegistered(gatewayId: string): Promise<boolean> {
    if (this.registered.has(gatewayId)) return true;
    // Gateways are never deleted, so a positive answer is cached; a negative one is asked again next time.
    if (await this.store.getGateway(gatewayId)) {
      this.registered.add(gatewayId);
      return true;
    }
    this.counters.unregistered++;
    const now = Date.now();
    const last = this.unregisteredLoggedAt.get(gatewayId);
    if (last === undefined || now - last > UNREGISTERED_LOG_INTERVAL_MS) {
      if (this.unregisteredLoggedAt.size > 1000) this.unregisteredLoggedAt.clear();
      this.unregisteredLoggedAt.set(gatewayId, now);
      this.logger.warn({ gateway: gatewayId, operation: 'ingest' }, 'message from an unregistered gateway dropped');
    }
    return false;
  }
}

/**
 * A birth whose camera stream URI or endpoint carries credentials (the contract forbids it) is not
 * refused, which would also lose every other device it describes: the credentials are stripped
 * first, and `stripped` says where (never what).
 */
function decodeBirth(payload: Buffer | string): { decoded: Decoded<GatewayBirth>; stripped: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { decoded: decodeMessage('birth', payload), stripped: [] };
  }
  const stripped = stripBirthCredentials(value);
  return { decoded: validateMessage('birth', value), stripped };
}

/** Connects, subscribes (QoS 1) to every gateway's uplink channels, and resolves once subscribed. */
export async function startIngest(options: IngestOptions): Promise<Ingest> {
  const logger = options.logger.child({ component: 'ingest' });
  const client = mqtt.connect(options.url, {
    protocolVersion: 4,
    clientId: options.clientId ?? `quanlink-cloud-ingest-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
    username: options.username,
    password: options.password,
    // A clean session: a batch missed while ingest is away is resent by the gateway's outbox.
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(options.ca !== undefined && { ca: options.ca }),
    ...(options.servername !== undefined && { servername: options.servername }),
  });
  const ingest = new MqttIngest(client, options.store, logger);
  try {
    await new Promise<void>((resolve, reject) => {
      // mqtt.js retries refused sockets silently, so a dead broker shows up only as this timeout.
      const timer = setTimeout(
        () => reject(new Error(`ingest: cannot connect to ${options.url}: no CONNACK within ${STARTUP_TIMEOUT_MS} ms`)),
        STARTUP_TIMEOUT_MS,
      );
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(new Error(`ingest: cannot connect to ${options.url}: ${err.message}`));
      };
      client.once('error', onError);
      client.once('connect', () => {
        clearTimeout(timer);
        client.off('error', onError);
        resolve();
      });
    });
    const filters = UPLINK_CHANNELS.map((channel) => allGatewaysFilter(channel));
    try {
      await client.subscribeAsync(filters, { qos: 1 });
    } catch (err) {
      const granted = (err as { packet?: { granted?: number[] } }).packet?.granted ?? [];
      const refused = filters.filter((_, i) => granted[i] === undefined || granted[i]! >= 128);
      throw new Error(`ingest: broker ${options.url} refused subscriptions ${refused.join(', ')} (${(err as Error).message})`);
    }
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  client.on('error', (err) => logger.warn({ operation: 'mqtt', err: err.message }, 'ingest mqtt error'));
  client.on('offline', () => logger.warn({ url: options.url }, 'ingest disconnected from broker; reconnecting'));
  client.on('connect', () => logger.info({ url: options.url }, 'ingest connected'));
  logger.info({ url: options.url, filters: UPLINK_CHANNELS.length }, 'ingest subscribed');
  return ingest;
}
