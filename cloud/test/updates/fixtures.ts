/**
 * Update bundles and gateways for the cloud's update tests. Bundles are built here by the format of
 * @quanlink/contracts (updates.ts) rather than by the edge's signer, which the cloud does not import.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import {
  canonicalManifestBytes,
  keyIdOf,
  splitBundle,
  topicFor,
  trustedKeySet,
  UPDATE_PRODUCT,
  verifyEnvelope,
  type Command,
  type GatewayEvent,
  type SignatureEnvelope,
  type UpdateApplyArgs,
  type UpdateManifest,
  type UpdateStatusData,
} from '@quanlink/contracts';
import { AckInbox, connectGateway, newStreamId } from '../helpers.js';

export interface TestKeys {
  privateKey: KeyObject;
  publicPem: string;
  keyId: string;
}

export function testKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: keyIdOf(publicKey) };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A signed bundle of one small release (a main.mjs), as `quanlink-edge update sign` writes it. */
export function signedBundle(keys: TestKeys, version: string, files: { path: string; data: Buffer }[] = [{ path: 'main.mjs', data: Buffer.from(`console.log('release ${version}')\n`) }]): Buffer {
  const payload = gzipSync(Buffer.concat(files.map((f) => f.data)));
  const manifest: UpdateManifest = {
    format: 1,
    product: UPDATE_PRODUCT,
    version,
    createdAt: Date.now(),
    entry: files[0]!.path,
    files: files.map((f) => ({ path: f.path, sha256: sha256(f.data), size: f.data.length })),
    payloadSha256: sha256(payload),
  };
  const envelope: SignatureEnvelope = { format: 1, keyId: keys.keyId, signature: sign(null, canonicalManifestBytes(manifest), keys.privateKey).toString('base64'), manifest };
  return Buffer.concat([Buffer.from(`${JSON.stringify(envelope)}\n`), payload]);
}

export function withEnvelope(bundle: Buffer, change: (envelope: Record<string, unknown>) => unknown): Buffer {
  const { envelope, payload } = splitBundle(bundle);
  return Buffer.concat([Buffer.from(`${JSON.stringify(change(envelope as Record<string, unknown>))}\n`), payload]);
}

export type UpdateBehaviour = 'healthy' | 'rolled-back' | 'refuse' | 'silent';

/** Counts gateways between receiving update.apply and reporting their final state, across all fake gateways of a test. */
export class ConcurrencyProbe {
  current = 0;
  max = 0;
  enter(): void {
    this.current++;
    this.max = Math.max(this.max, this.current);
  }
  leave(): void {
    this.current--;
  }
}

/**
 * A gateway answering update.apply per the contract over a real MQTT connection: accepts it, downloads
 * the bundle over HTTP as itself and checks its signature, reports downloading, verifying, installed,
 * then (after `holdMs`) healthy or rolled-back through event batches that the cloud acknowledges.
 */
export class FakeUpdateGateway {
  readonly applies: UpdateApplyArgs[] = [];
  readonly downloads: { status: number; bytes: number }[] = [];
  behaviour: UpdateBehaviour = 'healthy';
  holdMs = 200;
  private seq = 0;
  private readonly stream = newStreamId();
  private inbox!: AckInbox;
  private sending: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: string,
    private readonly password: string,
    readonly client: MqttClient,
    private readonly trustedPem: string,
    private readonly probe: ConcurrencyProbe,
  ) {}

  static async start(mqttUrl: string, id: string, password: string, trustedPem: string, probe: ConcurrencyProbe): Promise<FakeUpdateGateway> {
    const client = await connectGateway(mqttUrl, id, password);
    const gateway = new FakeUpdateGateway(id, password, client, trustedPem, probe);
    gateway.inbox = await AckInbox.open(client, id);
    client.on('message', (topic, payload) => {
      if (topic === topicFor(id, 'cmd')) void gateway.answer(JSON.parse(payload.toString('utf8')) as Command);
    });
    await client.subscribeAsync(topicFor(id, 'cmd'), { qos: 1 });
    await client.publishAsync(topicFor(id, 'status'), JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await client.publishAsync(topicFor(id, 'birth'), JSON.stringify({ v: 1, ts: Date.now(), agentVersion: '1.0.0', startedAt: Date.now(), stream: gateway.stream, devices: [] }), { qos: 1 });
    return gateway;
  }

  private async answer(command: Command): Promise<void> {
    if (command.name !== 'update.apply') return;
    const args = command.args as UpdateApplyArgs;
    this.applies.push(args);
    if (this.behaviour === 'refuse') {
      await this.result(command, { status: 'error', error: { code: 'NotNewer', message: `version ${args.version} is not newer than the running 9.9.9` } });
      return;
    }
    this.probe.enter();
    await this.result(command, { status: 'ok', data: { accepted: true, updateId: args.updateId, version: args.version } });
    if (this.behaviour === 'silent') return;
    const status = (state: UpdateStatusData['state'], reason?: string) => this.report({ updateId: args.updateId, version: args.version, state, ...(reason ? { reason } : {}) });
    await status('downloading');
    const response = await fetch(args.url, { headers: { authorization: `Basic ${Buffer.from(`${this.id}:${this.password}`).toString('base64')}` } });
    const body = Buffer.from(await response.arrayBuffer());
    this.downloads.push({ status: response.status, bytes: body.length });
    await status('verifying');
    try {
      verifyEnvelope(splitBundle(body).envelope, trustedKeySet([this.trustedPem]));
    } catch (err) {
      this.probe.leave();
      await status('failed', `verify: ${(err as Error).message}`);
      return;
    }
    await status('installed');
    await new Promise((resolve) => setTimeout(resolve, this.holdMs));
    this.probe.leave();
    if (this.behaviour === 'healthy') await status('healthy');
    else await status('rolled-back', `release ${args.version} did not become healthy within 60 s: exited with code 1`);
  }

  private async result(command: Command, body: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(topicFor(this.id, 'cmd/result'), JSON.stringify({ v: 1, tx: command.tx, ts: Date.now(), ...body }), { qos: 1 });
  }

  /** One update.status event as the next batch, waiting for the cloud's ack (batches in order). */
  private report(data: UpdateStatusData): Promise<void> {
    this.sending = this.sending.then(async () => {
      const event = { seq: ++this.seq, ts: Date.now(), type: 'update.status', data } as GatewayEvent;
      const before = this.inbox.acks.length;
      await this.client.publishAsync(topicFor(this.id, 'events'), JSON.stringify({ v: 1, stream: this.stream, first: event.seq, last: event.seq, sentAt: Date.now(), events: [event] }), { qos: 1 });
      await this.inbox.nth(before + 1, 15_000);
    });
    return this.sending;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
