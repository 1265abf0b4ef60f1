/** Shared test helpers: a log capture, MQTT clients acting as gateways, batch builders, polling. */
import { Writable } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino, { type Logger } from 'pino';
import { topicFor, type EventBatch, type GatewayEvent, type SyncedAck } from '@quanlink/contracts';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

export interface LogCapture {
  logger: Logger;
  lines: LogLine[];
  /** Lines whose fields include all of `fields`. */
  matching(fields: Record<string, unknown>): LogLine[];
}

export function captureLogger(level = 'debug'): LogCapture {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const logger = pino({ level }, sink);
  return {
    logger,
    lines,
    matching: (fields) => lines.filter((line) => Object.entries(fields).every(([key, value]) => line[key] === value)),
  };
}

/** Headers that sign a request with `token` (every /api/ route but health and login needs one). */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves when the broker closes the client's connection; rejects after timeoutMs naming `why`. */
export function closedByBroker(client: MqttClient, why: string, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms: ${why}`)), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Connects as a gateway (username = clientId = gateway id); rejects with the CONNACK error when refused. */
export async function connectGateway(url: string, gatewayId: string, password: string, extra: IClientOptions = {}): Promise<MqttClient> {
  return connectClient(url, { clientId: gatewayId, username: gatewayId, password, ...extra });
}

export async function connectClient(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
  } catch (err) {
    client.end(true);
    throw err;
  }
  return client;
}

/** The CONNACK return code of a refused connection (fails the test if the connection is accepted). */
export async function refusedCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await connectClient(url, options);
    await client.endAsync();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
  throw new Error('connection was accepted');
}

/** Collects the SyncedAcks a gateway receives. */
export class AckInbox {
  readonly acks: SyncedAck[] = [];
  private constructor(readonly client: MqttClient) {}

  static async open(client: MqttClient, gatewayId: string): Promise<AckInbox> {
    const inbox = new AckInbox(client);
    const topic = topicFor(gatewayId, 'synced');
    client.on('message', (received, payload) => {
      if (received === topic) inbox.acks.push(JSON.parse(payload.toString('utf8')) as SyncedAck);
    });
    const [grant] = await client.subscribeAsync(topic, { qos: 1 });
    if (grant?.qos !== 1) throw new Error(`subscription to ${topic} not granted`);
    return inbox;
  }

  /** Waits for the (count)th ack overall and returns it. */
  async nth(count: number, timeoutMs = 5000): Promise<SyncedAck> {
    await waitFor(() => this.acks.length >= count, `ack #${count}`, timeoutMs);
    return this.acks[count - 1]!;
  }
}

/** SUBACK return codes per filter, refused ones (0x80) included (mqtt.js rejects those; the packet is on the error). */
export async function subscribeGrants(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((grant) => grant.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted) return granted;
    throw err;
  }
}

let streamCounter = 0;
/** A fresh stream id (8-64 chars of [A-Za-z0-9_-]). */
export function newStreamId(): string {
  return `stream-${process.pid}-${++streamCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function countsEvent(seq: number, device: string, lanes: Record<string, number>): GatewayEvent {
  return { seq, ts: 1_700_000_000_000 + seq, type: 'counts', device, data: { lanes } };
}

export function readingEvent(seq: number, device: string, values: Record<string, number>, ts = 1_700_000_000_000 + seq): GatewayEvent {
  return { seq, ts, type: 'reading', device, data: { values } };
}

export function batchOf(stream: string, events: GatewayEvent[]): EventBatch {
  return { v: 1, stream, first: events[0]!.seq, last: events[events.length - 1]!.seq, sentAt: Date.now(), events };
}

export async function publishBatch(client: MqttClient, gatewayId: string, batch: EventBatch | string): Promise<void> {
  await client.publishAsync(topicFor(gatewayId, 'events'), typeof batch === 'string' ? batch : JSON.stringify(batch), { qos: 1 });
}
