/**
 * Secrets never logged, never returned except once at creation: a real cloud and a real edge agent
 * (enrolled with the edge's own enrol code) go through enrolment, credential rotation, a right and
 * a wrong login, an API token, and a desired config with a device's MQTT password. Every log line of
 * both (every level) and every API answer is searched for each secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { startCloud, type RunningCloud } from '@quanlink/cloud';
import { ConfigFile, EdgeAgent, enrolGateway } from '@quanlink/edge';
import { waitUntil } from '../src/index.js';

const waitFor = (check: () => Promise<boolean>, what: string, timeoutMs: number) => waitUntil(what, check, (ok) => ok, { timeoutMs });

const ADMIN_TOKEN = 'secret-admin-token-7f3e9c1d2b4a6e8f';
const ANA_PASSWORD = 'secret-ana-password-5d7c9e1f';
const WRONG_PASSWORD = 'secret-wrong-password-2a4c6e8b';
const DEVICE_MQTT_PASSWORD = 'secret-sign-broker-password-9b1d3f5a';
const GATEWAY = 'gw-secrets';

describe('issue 6: secrets never logged', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'quanlink-secrets-'));
  const logText: string[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, capture);
  /** Every secret seen, with what it is. */
  const secrets = new Map<string, string>([
    [ADMIN_TOKEN, 'bootstrap admin token'],
    [ANA_PASSWORD, "ana's password"],
    [WRONG_PASSWORD, 'a wrong password tried at login'],
    [DEVICE_MQTT_PASSWORD, "a screen's MQTT password in the desired config"],
  ]);
  /** API answers that must not carry any secret (all but the one-time creation answers). */
  const answers: { what: string; text: string }[] = [];
  let cloud: RunningCloud;
  let agent: EdgeAgent | undefined;
  const configFile = join(root, 'edge', 'edge.json');

  const api = async (method: string, path: string, body?: unknown, options: { token?: string | null; oneTime?: boolean } = {}) => {
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    const response = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token !== null && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!options.oneTime) answers.push({ what: `${method} ${path} -> ${response.status}`, text });
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as any) };
  };
  const gatewayPassword = async () => (await ConfigFile.load(configFile)).data.cloud.password!;

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger, users: [{ username: 'ana', role: 'admin', password: ANA_PASSWORD }], configApplyTimeoutMs: 20_000 });
  });
  after(async () => {
    await agent?.stop();
    await cloud?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('issue 6: enrolment, rotation, logins, an API token and a config with a device password leave no secret in the logs or later answers', async () => {
    assert.equal((await api('PUT', '/api/v1/sites/secret-site', { name: 'Secret site' })).status, 201);
    const issued = await api('POST', '/api/v1/enrolment-tokens', { site: 'secret-site', gatewayId: GATEWAY }, { oneTime: true });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    secrets.set(issued.body.token, 'enrolment token');

    await enrolGateway({ cloudHttpUrl: cloud.httpUrl, token: issued.body.token, configFile });
    secrets.set(await gatewayPassword(), "the gateway's first MQTT password");
    agent = await EdgeAgent.open(configFile, logger.child({ side: 'edge' }));
    await agent.start();
    await waitFor(async () => (await cloud.store.getGateway(GATEWAY))?.online === true, 'the enrolled gateway online', 30_000);

    const rotated = await api('POST', `/api/v1/gateways/${GATEWAY}/rotate-credentials`);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    await waitFor(async () => (await cloud.store.fleet.gatewayFleet(GATEWAY))?.rotatedAt !== null, 'the gateway to reconnect with its new password', 30_000);
    const newPassword = await gatewayPassword();
    assert.ok(!secrets.has(newPassword), 'the password changed');
    secrets.set(newPassword, "the gateway's rotated MQTT password");

    const login = await api('POST', '/api/v1/auth/login', { username: 'ana', password: ANA_PASSWORD }, { token: null, oneTime: true });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    secrets.set(login.body.token, "ana's session token");
    assert.equal((await api('POST', '/api/v1/auth/login', { username: 'ana', password: WRONG_PASSWORD }, { token: null })).status, 401);
    const apiToken = await api('POST', '/api/v1/users/ana/tokens', { name: 'wall display' }, { token: login.body.token, oneTime: true });
    assert.equal(apiToken.status, 201, JSON.stringify(apiToken.body));
    secrets.set(apiToken.body.token, "ana's API token");

    const gantry = { id: 'gantry-1', profile: 'quanlink-vms-g1', transport: { kind: 'mqtt', url: 'mqtt://127.0.0.1:9', username: 'sign', password: DEVICE_MQTT_PASSWORD } };
    const put = await api('PUT', `/api/v1/gateways/${GATEWAY}/config`, { config: { devices: [gantry] }, baseVersion: 0 }, { token: apiToken.body.token });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.notEqual(put.body.desired.outcome, 'pending', 'the gateway answered the config');

    // Every read that could show them.
    for (const path of [
      '/api/v1/gateways',
      `/api/v1/gateways/${GATEWAY}`,
      `/api/v1/gateways/${GATEWAY}/fleet`,
      `/api/v1/gateways/${GATEWAY}/config`,
      `/api/v1/gateways/${GATEWAY}/config/history`,
      '/api/v1/enrolment-tokens',
      '/api/v1/users',
      '/api/v1/users/ana/tokens',
      '/api/v1/audit?limit=1000',
      '/api/v1/auth/me',
      '/api/v1/health',
    ]) {
      assert.equal((await api('GET', path)).status, 200, path);
    }
    await agent.stop();
    agent = undefined;

    const logs = logText.join('');
    assert.ok(logs.includes('gateway enrolled') && logs.includes('new cloud password stored'), 'the logs cover enrolment and rotation');
    const leaks: string[] = [];
    for (const [secret, what] of secrets) {
      if (logs.includes(secret)) leaks.push(`${what} in the logs: ${logText.find((line) => line.includes(secret))}`);
      for (const answer of answers) if (answer.text.includes(secret)) leaks.push(`${what} in the answer of ${answer.what}`);
    }
    assert.deepEqual(leaks, []);
  });
});
