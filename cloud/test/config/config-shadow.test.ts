/**
 * The configuration shadow through the real cloud (embedded broker, ingest, HTTP API) with a gateway
 * that speaks the contract over a real MQTT connection: it answers config.apply as told and reports
 * what it runs with config.reported events. (The real edge agent is exercised in
 * e2e/test/config-shadow.test.ts and edge/test/config/apply.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { configSha256, topicFor, type Command, type CommandResult, type ConfigReportedData, type GatewayEvent, type ManagedConfig } from '@quanlink/contracts';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import { batchOf, bearer, captureLogger, connectGateway, newStreamId, publishBatch, waitFor } from '../helpers.js';

type Answer = { ok: true } | { ok: false; code: string; message: string } | 'silent';

/** A gateway on the wire: online status, a birth with its config version, answers config.apply, reports. */
class ShadowGateway {
  readonly applies: Command[] = [];
  answer: Answer = { ok: true };
  private seq = 0;
  private readonly stream = newStreamId();
  private constructor(
    readonly id: string,
    readonly client: MqttClient,
  ) {}

  static async connect(url: string, id: string, password: string, configVersion: number): Promise<ShadowGateway> {
    const client = await connectGateway(url, id, password);
    const gateway = new ShadowGateway(id, client);
    client.on('message', (topic, payload) => {
      if (topic === topicFor(id, 'cmd')) void gateway.onCommand(JSON.parse(payload.toString('utf8')) as Command);
    });
    await client.subscribeAsync(topicFor(id, 'cmd'), { qos: 1 });
    await client.publishAsync(topicFor(id, 'status'), JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await client.publishAsync(
      topicFor(id, 'birth'),
      JSON.stringify({ v: 1, ts: Date.now(), agentVersion: 'test', startedAt: Date.now(), stream: gateway.stream, devices: [], configVersion }),
      { qos: 1 },
    );
    return gateway;
  }

  async report(data: ConfigReportedData): Promise<void> {
    const event: GatewayEvent = { seq: ++this.seq, ts: Date.now(), type: 'config.reported', data };
    await publishBatch(this.client, this.id, batchOf(this.stream, [event]));
  }

  private async onCommand(command: Command): Promise<void> {
    if (command.name !== 'config.apply') return;
    this.applies.push(command);
    const answer = this.answer;
    if (answer === 'silent') return;
    const args = command.args as { version: number; config: ManagedConfig };
    const result: CommandResult = answer.ok
      ? { v: 1, tx: command.tx, ts: Date.now(), status: 'ok', data: { version: args.version, sha256: configSha256(args.config) } }
      : { v: 1, tx: command.tx, ts: Date.now(), status: 'error', error: { code: answer.code, message: answer.message } };
    if (answer.ok) await this.report({ version: args.version, sha256: configSha256(args.config), source: 'cloud', appliedAt: Date.now(), config: args.config });
    await this.client.publishAsync(topicFor(this.id, 'cmd/result'), JSON.stringify(result), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

const ADMIN_TOKEN = 'config-test-admin-token-0123456789';
const loop = (id: string, port = 502) => ({ id, profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '10.0.0.5', port } });
const gantry = (password?: string) => ({
  id: 'gantry-1',
  profile: 'quanlink-vms-g1',
  transport: { kind: 'mqtt', url: 'mqtt://10.0.0.7:1883', username: 'sign', ...(password ? { password } : {}) },
});

describe('issue 6: configuration shadow in the cloud', { timeout: 60_000 }, () => {
  let cloud: RunningCloud;
  let technician: string;
  let viewer: string;
  const gateways: ShadowGateway[] = [];

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: captureLogger('error').logger, configApplyTimeoutMs: 3000 });
    await cloud.accounts.createUser({ username: 'tech-1', role: 'technician', password: 'technician password 1' });
    await cloud.accounts.createUser({ username: 'view-1', role: 'viewer', password: 'viewer password 1' });
    technician = (await cloud.accounts.issueApiToken('tech-1', 'test')).token;
    viewer = (await cloud.accounts.issueApiToken('view-1', 'test')).token;
  });
  after(async () => {
    for (const gateway of gateways) await gateway.close();
    await cloud?.close();
  });

  async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers: { ...bearer(token), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  }
  const shadow = async (gw: string) => (await call('GET', `/api/v1/gateways/${gw}/config`, viewer)).body;

  test('issue 6: set while offline -> pending; applied when the gateway comes online; passwords never shown or audited', async () => {
    const { password } = await registerGateway(cloud.store, 'gw-offline');
    const config = { devices: [loop('loop-1'), gantry('sign-secret')], telemetryIntervalS: 30 };
    const put = await call('PUT', '/api/v1/gateways/gw-offline/config', technician, { config, baseVersion: 0 });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.desired.version, 1);
    assert.equal(put.body.desired.outcome, 'pending');
    assert.equal(put.body.desired.setBy, 'tech-1');
    assert.equal(put.body.inSync, false);
    assert.doesNotMatch(JSON.stringify(put.body), /sign-secret/);

    const audit = (await call('GET', '/api/v1/audit?action=config.set', viewer)).body.entries as { actor: string; subject: string; details: Record<string, unknown> }[];
    const entry = audit.find((e) => e.subject === 'gateway:gw-offline');
    assert.ok(entry, 'the change is audited');
    assert.equal(entry.actor, 'tech-1');
    assert.deepEqual(entry.details.secretFields, ['devices[1].transport.password']);
    assert.doesNotMatch(JSON.stringify(audit), /sign-secret/, 'no secret in the audit log');

    const gateway = await ShadowGateway.connect(cloud.mqttUrl, 'gw-offline', password, 0);
    gateways.push(gateway);
    await waitFor(() => gateway.applies.length === 1, 'config.apply on birth', 10_000);
    const sent = gateway.applies[0]!.args as { version: number; config: ManagedConfig };
    assert.equal(sent.version, 1);
    assert.equal((sent.config.devices[1]!.transport as { password?: string }).password, 'sign-secret', 'the gateway gets the secret it needs');
    await waitFor(async () => (await shadow('gw-offline')).inSync === true, 'in sync', 10_000);
    const view = await shadow('gw-offline');
    assert.equal(view.desired.outcome, 'applied');
    assert.deepEqual(view.reported.config, { ...config, devices: [loop('loop-1'), gantry()] });
    assert.equal(view.reported.source, 'cloud');
    assert.equal(view.lastError, undefined);
    // Applied: the cloud forgot the secret; a later birth sends nothing again.
    assert.equal((await cloud.store.configs.getShadow('gw-offline')).desired?.config.devices[1]!.transport.password, undefined);
    const history = (await call('GET', '/api/v1/gateways/gw-offline/config/history', viewer)).body as { kind: string; version: number }[];
    assert.deepEqual(new Set(history.map((h) => `${h.kind}:${h.version}`)), new Set(['reported:1', 'applied:1', 'desired:1']));
  });

  test('issue 6: a config the gateway refuses is lastError with its reasons; inSync stays false; a later applied version clears it', async () => {
    const { password } = await registerGateway(cloud.store, 'gw-refuses');
    const gateway = await ShadowGateway.connect(cloud.mqttUrl, 'gw-refuses', password, 0);
    gateways.push(gateway);
    await waitFor(async () => (await cloud.store.getGateway('gw-refuses'))?.online === true, 'online');
    const pushed: { type: string; gateway: string; config: { desired: { outcome: string } | null; lastError?: { code: string } } }[] = [];
    const socket = new WebSocket(`${cloud.httpUrl.replace('http', 'ws')}/api/v1/ws?topics=config`, { headers: bearer(viewer) });
    socket.on('message', (data) => pushed.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    gateway.answer = { ok: false, code: 'InvalidConfig', message: 'config version 1 refused by gateway gw-refuses: 1 problem: devices[0].transport.port: must be <= 65535' };
    const put = await call('PUT', '/api/v1/gateways/gw-refuses/config', technician, { config: { devices: [loop('loop-1', 65535)] } });
    await waitFor(() => pushed.some((p) => p.gateway === 'gw-refuses' && p.config.lastError?.code === 'InvalidConfig'), 'refusal pushed on the WebSocket');
    assert.equal(pushed[0]!.config.desired?.outcome, 'pending', 'the new desired version is pushed first');
    socket.close();
    assert.equal(put.status, 200);
    assert.equal(put.body.desired.outcome, 'rejected');
    assert.equal(put.body.inSync, false);
    assert.equal(put.body.lastError.code, 'InvalidConfig');
    assert.match(put.body.lastError.message, /devices\[0\]\.transport\.port: must be <= 65535/);
    assert.equal(put.body.lastError.version, 1);

    gateway.answer = { ok: true };
    const fixed = await call('PUT', '/api/v1/gateways/gw-refuses/config', technician, { config: { devices: [loop('loop-1')] }, baseVersion: 1 });
    assert.equal(fixed.body.desired.version, 2);
    await waitFor(async () => (await shadow('gw-refuses')).inSync === true, 'in sync', 10_000);
    assert.equal((await shadow('gw-refuses')).lastError, undefined);
  });

  test('issue 6: a local edit on the gateway shows as drift (same version, other sha256)', async () => {
    const gateway = gateways.find((g) => g.id === 'gw-refuses')!;
    const edited: ManagedConfig = { devices: [loop('loop-1'), loop('loop-2', 503)] };
    await gateway.report({ version: 2, sha256: configSha256(edited), source: 'local', appliedAt: Date.now(), config: edited });
    await waitFor(async () => (await shadow('gw-refuses')).reported?.source === 'local', 'local report', 10_000);
    const view = await shadow('gw-refuses');
    assert.equal(view.inSync, false);
    assert.equal(view.desired.version, 2);
    assert.deepEqual(view.reported.config, edited);
  });

  test('issue 6: a gateway that does not answer leaves the version pending; it is sent again at its next birth', async () => {
    const { password } = await registerGateway(cloud.store, 'gw-silent');
    let gateway = await ShadowGateway.connect(cloud.mqttUrl, 'gw-silent', password, 0);
    await waitFor(async () => (await cloud.store.getGateway('gw-silent'))?.online === true, 'online');
    gateway.answer = 'silent';
    const put = await call('PUT', '/api/v1/gateways/gw-silent/config', technician, { config: { devices: [loop('loop-1')] } });
    assert.equal(put.body.desired.outcome, 'pending');
    await gateway.close();
    gateway = await ShadowGateway.connect(cloud.mqttUrl, 'gw-silent', password, 0);
    gateways.push(gateway);
    await waitFor(async () => (await shadow('gw-silent')).inSync === true, 'applied after reconnect', 10_000);
    assert.equal(gateway.applies.length, 1);
  });

  test('issue 6: bad requests are refused before anything is stored or sent', async () => {
    await registerGateway(cloud.store, 'gw-bad');
    const cases: [string, string, unknown, number, RegExp][] = [
      ['an unknown body field', technician, { config: { devices: [] }, force: true }, 400, /'force' is not allowed/],
      ['a device without a transport', technician, { config: { devices: [{ id: 'x', profile: 'p' }] } }, 400, /config\.devices\[0\]\.transport/],
      ['a device id with a slash', technician, { config: { devices: [{ ...loop('loop-1'), id: 'a/b' }] } }, 400, /config\.devices\[0\]\.id/],
      ['duplicate device ids', technician, { config: { devices: [loop('loop-1'), loop('loop-1')] } }, 400, /duplicate device id 'loop-1'/],
      ['an unknown settings field', technician, { config: { devices: [], dataDir: '/tmp' } }, 400, /config\.dataDir/],
      ['a viewer', viewer, { config: { devices: [] } }, 403, /view-1.*viewer/],
      ['a stale baseVersion', technician, { config: { devices: [] }, baseVersion: 3 }, 409, /baseVersion 3 is not the current desired version 0/],
    ];
    for (const [what, token, body, status, message] of cases) {
      const reply = await call('PUT', '/api/v1/gateways/gw-bad/config', token, body);
      assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.body)}`);
      assert.match(reply.body.error.message, message, what);
    }
    assert.equal((await shadow('gw-bad')).desired, null, 'nothing stored');
    const unknown = await call('PUT', '/api/v1/gateways/gw-nobody/config', technician, { config: { devices: [] } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /gw-nobody/);
    assert.equal((await call('GET', '/api/v1/gateways/gw-nobody/config', viewer)).status, 404);
  });
});
