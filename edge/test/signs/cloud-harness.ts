/**
 * A stand-in for the cloud over a real in-process aedes broker: acknowledges event batches per the
 * contract, sends commands on a gateway's cmd topic and waits for their results.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import {
  CONTRACT_VERSION,
  allGatewaysFilter,
  checkEvent,
  decodeMessage,
  parseTopic,
  topicFor,
  type CommandResult,
  type GatewayBirth,
  type GatewayEvent,
} from '@quanlink/contracts';

export async function startBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export class FakeCloud {
  /** Events per gateway, each once (by stream and seq), in arrival order. */
  readonly events = new Map<string, GatewayEvent[]>();
  readonly births = new Map<string, GatewayBirth[]>();
  private readonly seen = new Set<string>();
  private readonly synced = new Map<string, number>();
  private readonly waiting = new Map<string, (result: CommandResult) => void>();

  private constructor(private readonly client: MqttClient) {}

  static async start(url: string): Promise<FakeCloud> {
    const client = await mqtt.connectAsync(url, { clientId: `cloud-${randomUUID()}` });
    const cloud = new FakeCloud(client);
    client.on('message', (topic, payload) => cloud.onMessage(topic, payload));
    await client.subscribeAsync([allGatewaysFilter('events'), allGatewaysFilter('cmd/result'), allGatewaysFilter('birth')], { qos: 1 });
    return cloud;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) return;
    const gw = parsed.gatewayId;
    if (parsed.channel === 'events') {
      const decoded = decodeMessage('events', payload);
      if (!decoded.ok) throw decoded.error;
      const batch = decoded.value;
      const list = this.events.get(gw) ?? [];
      for (const slot of batch.events) {
        const err = checkEvent(slot);
        if (err) throw err;
        const key = `${batch.stream}:${slot.seq}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        list.push(slot as unknown as GatewayEvent);
      }
      this.events.set(gw, list);
      const upTo = Math.max(this.synced.get(batch.stream) ?? 0, batch.last);
      this.synced.set(batch.stream, upTo);
      this.client.publish(topicFor(gw, 'synced'), JSON.stringify({ v: CONTRACT_VERSION, stream: batch.stream, upTo, status: 'ok' }), { qos: 1 });
    } else if (parsed.channel === 'cmd/result') {
      const decoded = decodeMessage('cmd/result', payload);
      if (!decoded.ok) throw decoded.error;
      this.waiting.get(decoded.value.tx)?.(decoded.value);
    } else if (parsed.channel === 'birth') {
      const birth = JSON.parse(payload.toString()) as GatewayBirth;
      this.births.set(gw, [...(this.births.get(gw) ?? []), birth]);
    }
  }

  /** Sends a command and resolves with its result (rejects after timeoutMs). */
  async command(gateway: string, name: string, args: unknown, timeoutMs = 5000): Promise<CommandResult> {
    const tx = randomUUID().replaceAll('-', '');
    const result = new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no result for ${name} (${tx}) from ${gateway} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(tx, (r) => {
        clearTimeout(timer);
        this.waiting.delete(tx);
        resolve(r);
      });
    });
    await this.client.publishAsync(topicFor(gateway, 'cmd'), JSON.stringify({ v: CONTRACT_VERSION, tx, name, args, issuedAt: Date.now() }), { qos: 1 });
    return result;
  }

  /** Raw bytes on a gateway's cmd topic (malformed commands). */
  async publishRaw(gateway: string, payload: string): Promise<void> {
    await this.client.publishAsync(topicFor(gateway, 'cmd'), payload, { qos: 1 });
  }

  /** `dispatchId:state` of every sign.dispatch event the cloud got from a gateway. */
  dispatches(gateway: string): string[] {
    return (this.events.get(gateway) ?? []).flatMap((e) => (e.type === 'sign.dispatch' ? [`${e.data.dispatchId}:${e.data.state}`] : []));
  }

  eventsOf<T extends GatewayEvent['type']>(gateway: string, type: T): Extract<GatewayEvent, { type: T }>[] {
    return (this.events.get(gateway) ?? []).filter((e): e is Extract<GatewayEvent, { type: T }> => e.type === type);
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
