/**
 * The technician's enrolment end to end: a cloud with TLS (generated CA), `quanlink-edge enrol` and
 * `quanlink-edge run` as real processes. The gateway enrols over https with the CA, connects over
 * mqtts, its birth and telemetry (with disk) arrive; its credentials are rotated over its own link
 * (the old password is refused once it moved to the new one); revoked, it is cut off for good.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { startCloud, type RunningCloud } from '@quanlink/cloud';
import { ConfigFile } from '@quanlink/edge';
import { startProcess, tempDir, waitUntil, EDGE_CLI, type ManagedProcess } from '../src/index.js';

const ADMIN_TOKEN = 'e2e-admin-token-enrolment-0123';

const until = (check: () => Promise<boolean>, what: string, timeoutMs: number) => waitUntil(what, check, (ok) => ok, { timeoutMs });

function api(cloud: RunningCloud, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${cloud.httpUrl}${path}`,
      { method, ca: cloud.caCertPem, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(payload !== undefined && { 'content-type': 'application/json' }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The CONNACK return code of a refused mqtts connection, or 0 when it was accepted. */
async function connackCode(url: string, ca: string | undefined, gatewayId: string, password: string): Promise<number> {
  const client = mqtt.connect(url, { ca, clientId: gatewayId, username: gatewayId, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    return await new Promise<number>((resolve, reject) => {
      client.once('connect', () => resolve(0));
      client.once('error', (err) => ((err as { code?: unknown }).code !== undefined && typeof (err as { code?: unknown }).code === 'number' ? resolve((err as unknown as { code: number }).code) : reject(err)));
    });
  } finally {
    client.end(true);
  }
}

describe('issue 6: enrolment end to end (TLS, real edge processes)', () => {
  const dir = tempDir('enrolment');
  const configFile = join(dir.path, 'box', 'edge.json');
  let cloud: RunningCloud;
  let edge: ManagedProcess | undefined;

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, dataDir: join(dir.path, 'cloud'), tls: { generate: { dir: join(dir.path, 'tls') } }, logger: pino({ level: 'warn' }) });
  });
  after(async () => {
    await edge?.stop();
    await cloud?.close();
    dir.remove();
  });

  test('issue 6: enrol, connect over mqtts, rotate the credentials, revoke', async () => {
    assert.equal((await api(cloud, 'PUT', '/api/v1/grid-cells/cell-1', { name: '一号网格' })).status, 201);
    assert.equal((await api(cloud, 'PUT', '/api/v1/sites/box-12', { name: 'Ring road box 12', location: { lat: 31.2, lon: 121.4 }, gridCell: 'cell-1' })).status, 201);
    const issued = await api(cloud, 'POST', '/api/v1/enrolment-tokens', { site: 'box-12', gatewayIdPrefix: 'ring-' });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));

    // The technician's command; the first call trusts the cloud through --ca.
    const enrol = await startProcess(
      'edge-enrol',
      EDGE_CLI,
      ['enrol', '--cloud', cloud.httpUrl, '--token', issued.body.token, '--config', configFile, '--ca', join(dir.path, 'tls', 'ca.crt'), '--name', 'Box 12'],
      { waitFor: 'none' },
    );
    assert.equal(await new Promise((resolve) => (enrol.child.exitCode !== null ? resolve(enrol.child.exitCode) : enrol.child.once('exit', resolve))), 0, enrol.output());
    const gatewayId = JSON.parse(enrol.output().split('\n').find((line) => line.includes('"enrolled"'))!).enrolled as string;
    assert.match(gatewayId, /^ring-/);
    assert.equal(statSync(configFile).mode & 0o777, 0o600);
    const firstPassword = JSON.parse(readFileSync(configFile, 'utf8')).cloud.password as string;
    // Short telemetry so that the test sees it.
    await (await ConfigFile.load(configFile)).update((draft) => {
      draft.telemetryIntervalS = 1;
    });

    edge = await startProcess('edge', EDGE_CLI, ['run', '--config', configFile], { waitFor: 'none' });
    await until(async () => (await cloud.store.getGateway(gatewayId))?.online === true && (await cloud.store.getGateway(gatewayId))?.agentVersion !== null, 'the enrolled gateway online with its birth stored', 30_000);
    await until(async () => (await cloud.store.getGateway(gatewayId))?.telemetry?.disk !== undefined, 'telemetry with disk space over mqtts', 30_000);
    const disk = (await cloud.store.getGateway(gatewayId))!.telemetry!.disk!;
    assert.ok(disk.totalBytes > 0 && disk.freeBytes <= disk.totalBytes);
    const listed = (await api(cloud, 'GET', '/api/v1/gateways?gridCell=cell-1&status=online')).body.gateways;
    assert.deepEqual(listed.map((g: { id: string }) => g.id), [gatewayId]);
    assert.equal(listed[0].site, 'box-12');

    // Rotation: delivered over the gateway's link, stored in its config, used at its reconnect.
    const rotated = await api(cloud, 'POST', `/api/v1/gateways/${gatewayId}/rotate-credentials`);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body) + edge.output());
    await until(async () => (await cloud.store.fleet.gatewayFleet(gatewayId))?.rotatedAt !== null, 'the gateway to reconnect with its new password', 30_000);
    const secondPassword = JSON.parse(readFileSync(configFile, 'utf8')).cloud.password as string;
    assert.notEqual(secondPassword, firstPassword);
    assert.equal(statSync(configFile).mode & 0o777, 0o600);
    await until(async () => (await cloud.store.getGateway(gatewayId))?.online === true, 'the gateway online again', 30_000);
    assert.equal(await connackCode(cloud.mqttUrl, cloud.caCertPem, gatewayId, firstPassword), 4, 'the old password is refused');
    assert.ok(![firstPassword, secondPassword, issued.body.token].some((secret) => edge!.output().includes(secret) || enrol.output().includes(secret)), 'no secret in the edge logs');

    // Revocation: cut off now, refused from then on (the agent keeps retrying in vain).
    const revoked = await api(cloud, 'POST', `/api/v1/gateways/${gatewayId}/revoke`, { reason: 'e2e' });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.disconnected, true);
    await until(async () => (await cloud.store.getGateway(gatewayId))?.online === false, 'the revoked gateway offline', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal((await cloud.store.getGateway(gatewayId))?.online, false, 'it did not get back in');
    assert.equal(await connackCode(cloud.mqttUrl, cloud.caCertPem, gatewayId, secondPassword), 4);
  });
});
