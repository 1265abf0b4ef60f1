/**
 * A camera gateway as the cloud sees it: a real MQTT client that sends a birth with camera info,
 * event batches with video events, and answers snapshot.get with real JPEGs (made with sharp).
 */
import type { MqttClient } from 'mqtt';
import sharp from 'sharp';
import { topicFor, type BirthDevice, type Command, type CommandResult, type GatewayEvent, type SyncedAck } from '@quanlink/contracts';
import { AckInbox, connectGateway, newStreamId } from '../helpers.js';

export type SnapshotMode = 'answer' | 'silent' | 'not-found' | 'garbage';

/** A real JPEG of a w x h frame with a "vehicle" box drawn, seeded by `shade`. */
export async function frameJpeg(width: number, height: number, shade: number): Promise<Buffer> {
  const svg = `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <rect width="100%" height="100%" fill="rgb(${shade},${shade},${shade})"/>
    <rect x="${width / 4}" y="${height / 3}" width="${width / 5}" height="${height / 6}" fill="none" stroke="lime" stroke-width="3"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 70 }).toBuffer();
}

export class FakeCameraGateway {
  readonly commands: Command[] = [];
  /** Full snapshots it keeps, by id. */
  readonly snapshots = new Map<string, Buffer>();
  snapshotMode: SnapshotMode = 'answer';
  private seq = 0;
  private readonly stream = newStreamId();
  private inbox!: AckInbox;

  private constructor(
    readonly id: string,
    readonly client: MqttClient,
  ) {}

  static async start(url: string, id: string, password: string, devices: BirthDevice[]): Promise<FakeCameraGateway> {
    const client = await connectGateway(url, id, password);
    const gateway = new FakeCameraGateway(id, client);
    gateway.inbox = await AckInbox.open(client, id);
    client.on('message', (topic, payload) => {
      if (topic === topicFor(id, 'cmd')) void gateway.answer(JSON.parse(payload.toString('utf8')) as Command);
    });
    await client.subscribeAsync(topicFor(id, 'cmd'), { qos: 1 });
    await gateway.setOnline(true);
    await gateway.birth(devices);
    return gateway;
  }

  async setOnline(online: boolean): Promise<void> {
    const status = { v: 1, state: online ? 'online' : 'offline', ts: Date.now() };
    await this.client.publishAsync(topicFor(this.id, 'status'), JSON.stringify(status), { qos: 1, retain: true });
  }

  /** Publishes a birth; `raw` lets a test send what the contract forbids. */
  async birth(devices: unknown[]): Promise<void> {
    const birth = { v: 1, ts: Date.now(), agentVersion: 'test', startedAt: Date.now(), stream: this.stream, devices };
    await this.client.publishAsync(topicFor(this.id, 'birth'), JSON.stringify(birth), { qos: 1 });
  }

  /** Sends events (valid or not) as the next batch and returns its ack. */
  async send(events: Record<string, unknown>[]): Promise<SyncedAck> {
    const numbered = events.map((event) => ({ ...event, seq: ++this.seq }) as unknown as GatewayEvent);
    const batch = { v: 1, stream: this.stream, first: numbered[0]!.seq, last: numbered.at(-1)!.seq, sentAt: Date.now(), events: numbered };
    const before = this.inbox.acks.length;
    await this.client.publishAsync(topicFor(this.id, 'events'), JSON.stringify(batch), { qos: 1 });
    return this.inbox.nth(before + 1);
  }

  of(name: string): Command[] {
    return this.commands.filter((c) => c.name === name);
  }

  private async answer(command: Command): Promise<void> {
    this.commands.push(command);
    if (command.name !== 'snapshot.get' || this.snapshotMode === 'silent') return;
    const id = String(command.args.id);
    const jpeg = this.snapshots.get(id);
    let result: CommandResult;
    if (this.snapshotMode === 'not-found' || !jpeg) {
      result = { v: 1, tx: command.tx, ts: Date.now(), status: 'error', error: { code: 'SnapshotNotFound', message: `no snapshot '${id}' on ${this.id}` } };
    } else if (this.snapshotMode === 'garbage') {
      result = { v: 1, tx: command.tx, ts: Date.now(), status: 'ok', data: { id, contentType: 'image/jpeg', base64: Buffer.from('not a jpeg').toString('base64') } };
    } else {
      result = { v: 1, tx: command.tx, ts: Date.now(), status: 'ok', data: { id, contentType: 'image/jpeg', base64: jpeg.toString('base64') } };
    }
    await this.client.publishAsync(topicFor(this.id, 'cmd/result'), JSON.stringify(result), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.setOnline(false).catch(() => undefined);
    await this.client.endAsync();
  }
}
