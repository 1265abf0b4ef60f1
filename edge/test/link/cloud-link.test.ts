/**
 * The cloud link's sync protocol against a real aedes broker, with a minimal acknowledging peer
 * that follows the contract (commit idempotently on stream+seq, answer synced up to N or gap).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { CONTRACT_VERSION, allGatewaysFilter, decodeMessage, parseTopic, topicFor, type SyncedAck } from '@quanlink/contracts';
import { CloudLink, EventBus, MemoryOutbox, type Outbox } from '../../src/index.js';
import { counts } from '../outbox/conformance.js';

const logger = pino({ level: 'silent' });

async function startBroker(port = 0): Promise<{ port: number; broker: Aedes; server: Server; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    broker,
    server,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A stand-in for the cloud's ingest: stores seqs per stream, answers per the contract. */
class Acker {
  readonly seen = new Map<number, number>();
  synced = 0;
  /** Batches to swallow without an answer (tests the ack timeout). */
  swallow = 0;
  /** Answer the next batch that starts after synced+1 ... (tests gap handling) */
  batches = 0;
  private constructor(readonly client: MqttClient) {}

  static async start(url: string): Promise<Acker> {
    const client = await mqtt.connectAsync(url, { clientId: `acker-${Math.random()}` });
    const acker = new Acker(client);
    await client.subscribeAsync(allGatewaysFilter('events'), { qos: 1 });
    client.on('message', (topic, payload) => acker.onBatch(topic, payload));
    return acker;
  }

  private onBatch(topic: string, payload: Buffer): void {
    const gw = parseTopic(topic)!.gatewayId;
    const decoded = decodeMessage('events', payload);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
    const batch = decoded.value;
    this.batches++;
    if (this.swallow > 0) {
      this.swallow--;
      return;
    }
    let ack: SyncedAck;
    if (batch.first > this.synced + 1) {
      ack = { v: CONTRACT_VERSION, stream: batch.stream, upTo: this.synced, status: 'gap' };
    } else {
      for (const event of batch.events) this.seen.set(event.seq, (this.seen.get(event.seq) ?? 0) + 1);
      this.synced = Math.max(this.synced, batch.last);
      ack = { v: CONTRACT_VERSION, stream: batch.stream, upTo: this.synced, status: 'ok' };
    }
    this.client.publish(topicFor(gw, 'synced'), JSON.stringify(ack), { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

function link(url: string, outbox: Outbox, bus = new EventBus(), extra: Partial<ConstructorParameters<typeof CloudLink>[0]> = {}): CloudLink {
  return new CloudLink({
    gatewayId: 'gw-link',
    url,
    outbox,
    bus,
    logger,
    batchSize: 50,
    maxInFlight: 3,
    ackTimeoutMs: 400,
    birth: () => ({ agentVersion: 'test', startedAt: 1, devices: [] }),
    ...extra,
  });
}

function fill(outbox: Outbox, n: number): void {
  outbox.append(Array.from({ length: n }, (_, i) => counts('d1', { '1': i + 1 })));
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
after(() => undefined);

describe('cloud link sync protocol', () => {
  it('sends the whole outbox in batches and prunes only what the cloud acknowledged', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const acker = await Acker.start(url);
    cleanups.push(() => acker.stop());
    const outbox = new MemoryOutbox();
    fill(outbox, 420);
    const bus = new EventBus();
    const l = link(url, outbox, bus);
    cleanups.push(() => l.stop());
    await l.start();
    await until('outbox drained', () => outbox.stats().depth === 0);
    assert.equal(acker.seen.size, 420);
    assert.ok([...acker.seen.values()].every((n) => n === 1), 'each event sent once when nothing went wrong');
    fill(outbox, 10);
    bus.emit('outbox.appended', { lastSeq: 430 });
    await until('new events follow', () => acker.seen.size === 430 && outbox.stats().depth === 0);
  });

  it('publishes a retained online status and a birth on connect; the last will marks it offline when the connection dies', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const watcher = await mqtt.connectAsync(url, { clientId: 'watcher' });
    cleanups.push(() => watcher.endAsync(true));
    const statuses: string[] = [];
    const births: unknown[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic === topicFor('gw-link', 'status')) statuses.push(JSON.parse(payload.toString()).state);
      if (topic === topicFor('gw-link', 'birth')) births.push(JSON.parse(payload.toString()));
    });
    await watcher.subscribeAsync([topicFor('gw-link', 'status'), topicFor('gw-link', 'birth')], { qos: 1 });
    const outbox = new MemoryOutbox();
    const l = link(url, outbox);
    cleanups.push(() => l.stop());
    await l.start();
    await until('online', () => statuses.at(-1) === 'online' && births.length === 1);
    assert.equal((births[0] as { stream: string }).stream, outbox.stream);
    // Kill the TCP connection without an MQTT DISCONNECT, as a crash or cable cut would.
    const clients = (broker.broker as unknown as { clients: Record<string, { id: string; conn: { destroy(): void } }> }).clients;
    for (const client of Object.values(clients)) if (client.id === 'gw-link') client.conn.destroy();
    await until('offline from the last will', () => statuses.includes('offline'));
    await until('back online after reconnecting', () => statuses.at(-1) === 'online');
  });

  it('resends after the broker restarts; the cloud sees every event, the outbox drains', async () => {
    const first = await startBroker();
    const port = first.port;
    const url = `mqtt://127.0.0.1:${port}`;
    let acker = await Acker.start(url);
    const outbox = new MemoryOutbox();
    fill(outbox, 200);
    const l = link(url, outbox, new EventBus(), { maxInFlight: 1, batchSize: 20 });
    cleanups.push(() => l.stop());
    acker.swallow = 2; // batches in flight when the broker goes away are never acknowledged
    await l.start();
    await until('a first batch went out', () => acker.batches >= 1);
    const seenBefore = new Map(acker.seen);
    await acker.stop();
    await first.close();
    const second = await startBroker(port);
    cleanups.push(() => second.close());
    acker = await Acker.start(url);
    acker.synced = Math.max(0, ...seenBefore.keys());
    cleanups.push(() => acker.stop());
    await until('outbox drained after the restart', () => outbox.stats().depth === 0, 20_000);
    for (let seq = 1; seq <= 200; seq++) assert.ok(acker.seen.has(seq) || seenBefore.has(seq), `seq ${seq} reached the cloud`);
    assert.ok(l.stats.reconnects >= 1);
  });

  it('resends when no acknowledgement comes in time', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const acker = await Acker.start(url);
    cleanups.push(() => acker.stop());
    acker.swallow = 1;
    const outbox = new MemoryOutbox();
    fill(outbox, 30);
    const l = link(url, outbox, new EventBus(), { maxInFlight: 1 });
    cleanups.push(() => l.stop());
    await l.start();
    await until('outbox drained', () => outbox.stats().depth === 0);
    assert.equal(acker.seen.size, 30);
    assert.ok(l.stats.resends >= 1);
  });

  it('rewinds on a gap answer and fills the gap', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const acker = await Acker.start(url);
    cleanups.push(() => acker.stop());
    // Swallowing the first of 3 in-flight batches makes the next two arrive after a gap.
    acker.swallow = 1;
    const outbox = new MemoryOutbox();
    fill(outbox, 150);
    const l = link(url, outbox, new EventBus(), { ackTimeoutMs: 60_000 });
    cleanups.push(() => l.stop());
    await l.start();
    await until('outbox drained', () => outbox.stats().depth === 0);
    assert.equal(acker.seen.size, 150);
    assert.ok(l.stats.resends >= 1, 'the gap made the link resend before any timeout');
  });

  it('ignores a malformed acknowledgement and keeps working', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const outbox = new MemoryOutbox();
    const l = link(url, outbox);
    cleanups.push(() => l.stop());
    await l.start();
    await until('connected', () => l.stats.connected);
    const rogue = await mqtt.connectAsync(url, { clientId: 'rogue' });
    cleanups.push(() => rogue.endAsync(true));
    await rogue.publishAsync(topicFor('gw-link', 'synced'), '{"v":1,"upTo":"all"}', { qos: 1 });
    await rogue.publishAsync(topicFor('gw-link', 'synced'), 'not json', { qos: 1 });
    const acker = await Acker.start(url);
    cleanups.push(() => acker.stop());
    fill(outbox, 5); // not announced on the bus: the link's periodic check picks it up
    await until('outbox drained', () => outbox.stats().depth === 0);
    assert.equal(acker.seen.size, 5);
  });
});
