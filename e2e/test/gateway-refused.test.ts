/**
 * A gateway whose credentials the cloud refuses (revoked, or an old password after a rotation):
 * the link shows it as a state, tries again only rarely, logs it once, and clears it at the next
 * successful connect. Against the real cloud (embedded broker, HTTP API): the gateway is enrolled
 * and revoked through the API, as an operator does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { startCloud, type RunningCloud } from '@quanlink/cloud';
import { CloudLink, ConfigFile, EdgeAgent, EventBus, MemoryOutbox } from '@quanlink/edge';
import { EDGE_CLI, freePort, runCli, waitUntil } from '../src/index.js';

const ADMIN_TOKEN = 'test-admin-token-link-refused-0123';
const REFUSED = 'refused: bad username or password (gateway revoked or credentials rotated?)';

type LogLine = { level: number; msg: string } & Record<string, unknown>;

function capturedLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('issue 6: a gateway whose credentials are refused', () => {
  let cloud: RunningCloud;
  const root = mkdtempSync(join(tmpdir(), 'quanlink-link-refused-'));

  const api = async (method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) => {
    const response = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token !== null && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const enrol = async (gatewayId: string): Promise<{ password: string; mqttUrl: string }> => {
    const issued = await api('POST', '/api/v1/enrolment-tokens', { site: 'depot', gatewayId });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const enrolled = await api('POST', '/api/v1/enrol', { token: issued.body.token }, null);
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    return enrolled.body;
  };
  const revoke = async (gatewayId: string) => assert.equal((await api('POST', `/api/v1/gateways/${gatewayId}/revoke`, { reason: 'test' })).status, 200);
  const newLink = (gatewayId: string, url: string, password: string, logger: pino.Logger, refusedRetryMs?: number) =>
    new CloudLink({
      gatewayId,
      url,
      password,
      outbox: new MemoryOutbox(),
      bus: new EventBus(),
      logger,
      birth: () => ({ agentVersion: 'test', startedAt: Date.now(), devices: [] }),
      ...(refusedRetryMs !== undefined && { refusedRetryMs }),
    });
  const until = (what: string, check: () => boolean, timeoutMs = 30_000) => waitUntil(what, check, (ok) => ok, { timeoutMs });

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger: pino({ level: 'silent' }) });
    assert.equal((await api('PUT', '/api/v1/sites/depot', { name: 'Depot' })).status, 201);
  });
  after(async () => {
    await cloud?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('issue 6: revoked: the link says refused, retries at the refusal interval, warns once; a new password clears it', async () => {
    const first = await enrol('gw-refused');
    const { logger, lines } = capturedLogger();
    const link = newLink('gw-refused', first.mqttUrl, first.password, logger, 300);
    await link.start();
    try {
      await until('the link up', () => link.stats.connected);
      await revoke('gw-refused');
      await until('the refusal shown', () => link.stats.refused === REFUSED);
      const attemptsAtRefusal = link.stats.reconnects;
      await until('three more refused attempts', () => link.stats.reconnects >= attemptsAtRefusal + 3);
      // The revocation's disconnect may also show as one connection error (e.g. ECONNRESET) before the refusals.
      const warnings = lines.filter((line) => line.level >= 40 && line.operation === 'mqtt connect');
      const refusals = warnings.filter((line) => line.returnCode === 4);
      assert.equal(refusals.length, 1, `one warning for the refusal, not one per attempt: ${JSON.stringify(warnings)}`);
      assert.match(refusals[0]!.msg, /cloud link refused: bad username or password \(gateway revoked or credentials rotated\?\); trying again every 0.3 s/);
      assert.equal(new Set(warnings.map((line) => `${line.msg} ${String(line.err)}`)).size, warnings.length, `no warning repeated: ${JSON.stringify(warnings)}`);
      assert.equal(link.stats.refused, REFUSED);

      // Re-enrolled with a token for its id: the new password connects and the refusal is gone.
      const again = await enrol('gw-refused');
      await link.reconnectWithPassword(again.password);
      await until('the link up again', () => link.stats.connected);
      assert.equal(link.stats.refused, undefined);
      assert.ok(lines.some((line) => line.msg === 'cloud accepts the credentials again' && line.was === REFUSED));
    } finally {
      await link.stop();
    }
  });

  test('issue 6: by default a refused gateway waits minutes before trying again, not the seconds of a lost connection', async () => {
    await enrol('gw-wrong');
    const link = newLink('gw-wrong', cloud.mqttUrl, 'not-the-password-of-gw-wrong', pino({ level: 'silent' }));
    await link.start();
    try {
      await until('the refusal shown', () => link.stats.refused === REFUSED);
      const attempts = link.stats.reconnects;
      // The backoff of a lost connection would have tried twice by now (0.5 s, then 1 s, ±50 %).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(link.stats.reconnects, attempts, 'no attempt within 3 s of a refusal');
      assert.equal(link.stats.connected, false);
    } finally {
      await link.stop();
    }
  });

  test('issue 6: the agent status and the technician status command show the refusal', async () => {
    const enrolled = await enrol('gw-agent-refused');
    const configFile = join(root, 'edge.json');
    await ConfigFile.create(configFile, {
      gateway: { id: 'gw-agent-refused' },
      cloud: { url: enrolled.mqttUrl, password: enrolled.password },
      dataDir: 'data',
      devices: [],
      telemetryIntervalS: 3600,
      localApi: { port: await freePort() },
    });
    const agent = await EdgeAgent.open(configFile, pino({ level: 'silent' }), { linkDefaults: { refusedRetryMs: 60_000 } });
    await agent.start();
    try {
      await until('the agent connected', () => agent.status().link.connected);
      await revoke('gw-agent-refused');
      await until('the agent status to show the refusal', () => agent.status().link.refused === REFUSED);
      const table = await runCli(EDGE_CLI, ['status', '--config', configFile]);
      assert.equal(table.status, 4, table.stdout + table.stderr);
      assert.ok(table.stdout.includes(REFUSED), table.stdout);
      const json = await runCli(EDGE_CLI, ['status', '--config', configFile, '--json']);
      assert.equal(JSON.parse(json.stdout).link.refused, REFUSED);
    } finally {
      await agent.stop();
    }
  });
});
