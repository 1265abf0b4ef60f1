/** A gateway as the cloud sees it, for dispatch tests: a real MQTT client that answers sign commands like an edge. */
import type { MqttClient } from 'mqtt';
import {
  topicFor,
  type Command,
  type CommandResult,
  type GatewayEvent,
  type NewEvent,
  type SignDisplayArgs,
  type SignSyncArgs,
} from '@quanlink/contracts';
import { AckInbox, connectGateway, newStreamId, waitFor } from '../helpers.js';

export type AnswerMode = 'accept' | 'reject' | 'error' | 'silent';

export class FakeGateway {
  readonly commands: Command[] = [];
  mode: AnswerMode = 'accept';
  private seq = 0;
  private readonly stream = newStreamId();
  private inbox!: AckInbox;
  private constructor(
    readonly id: string,
    readonly client: MqttClient,
    readonly screens: { id: string; profile: string }[],
  ) {}

  /** Connects, subscribes to its cmd topic, says it is online and sends its birth. */
  static async start(url: string, id: string, password: string, screens: { id: string; profile: string }[], extraDevices: { id: string; profile: string; kind: string }[] = []): Promise<FakeGateway> {
    const client = await connectGateway(url, id, password);
    const gateway = new FakeGateway(id, client, screens);
    gateway.inbox = await AckInbox.open(client, id);
    client.on('message', (topic, payload) => {
      if (topic === topicFor(id, 'cmd')) void gateway.answer(JSON.parse(payload.toString('utf8')) as Command);
    });
    await client.subscribeAsync(topicFor(id, 'cmd'), { qos: 1 });
    await client.publishAsync(topicFor(id, 'status'), JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    const devices = [...screens.map((s) => ({ ...s, kind: 'vms' })), ...extraDevices];
    await client.publishAsync(
      topicFor(id, 'birth'),
      JSON.stringify({ v: 1, ts: Date.now(), agentVersion: 'test', startedAt: Date.now(), stream: gateway.stream, devices }),
      { qos: 1 },
    );
    return gateway;
  }

  of<N extends string>(name: N): Command[] {
    return this.commands.filter((c) => c.name === name);
  }

  async waitCommand(name: string, count = 1): Promise<Command> {
    await waitFor(() => this.of(name).length >= count, `${this.id}: ${name} #${count}`);
    return this.of(name)[count - 1]!;
  }

  private async answer(command: Command): Promise<void> {
    this.commands.push(command);
    if (this.mode === 'silent') return;
    let result: CommandResult;
    if (this.mode === 'error') {
      result = { v: 1, tx: command.tx, ts: Date.now(), status: 'error', error: { code: 'Busy', message: `${this.id} is busy` } };
    } else if (command.name === 'sign.cancel') {
      result = { v: 1, tx: command.tx, ts: Date.now(), status: 'ok', data: { cancelled: [] } };
    } else {
      const entries: SignDisplayArgs[] = command.name === 'sign.sync' ? (command.args as SignSyncArgs).entries : [command.args as SignDisplayArgs];
      const ids = entries.flatMap((e) => e.targets.map((t) => t.dispatchId));
      const data =
        this.mode === 'accept'
          ? { accepted: ids, rejected: [] }
          : { accepted: [], rejected: ids.map((dispatchId) => ({ dispatchId, code: 'ScreenFault', message: 'controller fault' })) };
      result = { v: 1, tx: command.tx, ts: Date.now(), status: 'ok', data };
    }
    await this.client.publishAsync(topicFor(this.id, 'cmd/result'), JSON.stringify(result), { qos: 1 });
  }

  /** Sends events as the next batch and waits for its ack. */
  async send(events: NewEvent[]): Promise<void> {
    const numbered = events.map((event) => ({ ...event, seq: ++this.seq }) as GatewayEvent);
    const batch = { v: 1, stream: this.stream, first: numbered[0]!.seq, last: numbered.at(-1)!.seq, sentAt: Date.now(), events: numbered };
    const before = this.inbox.acks.length;
    await this.client.publishAsync(topicFor(this.id, 'events'), JSON.stringify(batch), { qos: 1 });
    await this.inbox.nth(before + 1);
  }

  /** Sends one batch again exactly (same seqs). */
  async resendLast(events: NewEvent[]): Promise<void> {
    const first = this.seq - events.length + 1;
    const numbered = events.map((event, i) => ({ ...event, seq: first + i }) as GatewayEvent);
    const batch = { v: 1, stream: this.stream, first, last: this.seq, sentAt: Date.now(), events: numbered };
    const before = this.inbox.acks.length;
    await this.client.publishAsync(topicFor(this.id, 'events'), JSON.stringify(batch), { qos: 1 });
    await this.inbox.nth(before + 1);
  }

  async close(): Promise<void> {
    await this.client.publishAsync(topicFor(this.id, 'status'), JSON.stringify({ v: 1, state: 'offline', ts: Date.now() }), { qos: 1, retain: true });
    await this.client.endAsync();
  }
}
