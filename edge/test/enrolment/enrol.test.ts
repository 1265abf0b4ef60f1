/**
 * Enrolment on the edge: `quanlink-edge enrol` (a real process) against a stand-in for the cloud's
 * /api/v1/enrol on a real socket; the config it writes, the CA, re-enrolment and the errors.
 * The whole flow against the real cloud is in e2e/test/enrolment.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ConfigFile } from '../../src/config/index.js';
import { credentialsRotateHandler } from '../../src/enrolment/rotate.js';
import { CommandError } from '../../src/link/command-router.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const FAKE_CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function edge(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', env: { ...process.env, QUANLINK_ENROL_TOKEN: '' } }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('issue 6: quanlink-edge enrol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-enrol-'));
  let server: Server;
  let url: string;
  const requests: Record<string, unknown>[] = [];
  const spent = new Set<string>();

  before(async () => {
    // Answers like the cloud: 201 once per token, 410 after, 401 for an unknown one.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token: string; gatewayId?: string };
        requests.push(body);
        res.setHeader('content-type', 'application/json');
        if (req.url !== '/api/v1/enrol' || req.method !== 'POST') return res.writeHead(404).end('{}');
        if (!body.token.startsWith('qle_good')) {
          return res.writeHead(401).end(JSON.stringify({ error: { code: 'Unauthorized', message: 'enrolment token not recognised (mistyped, or issued by another cloud)' } }));
        }
        if (spent.has(body.token)) {
          return res.writeHead(410).end(JSON.stringify({ error: { code: 'TokenUsed', message: "enrolment token et-1 was already used (by gateway 'gw-1')" } }));
        }
        spent.add(body.token);
        res.writeHead(201).end(
          JSON.stringify({ gatewayId: body.gatewayId ?? 'gw-1', password: `pw-for-${body.token}`, mqttUrl: 'mqtts://cloud.test:8883', caCertPem: FAKE_CA, site: 'site-1', gridCell: null, reEnrolled: false }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issue 6: writes an owner-only config (0600 in a 0700 directory) with the identity, password and CA', async () => {
    const config = join(dir, 'box-1', 'etc', 'edge.json');
    const r = await edge('enrol', '--cloud', url, '--token', 'qle_good-1', '--config', config, '--name', 'Box 1');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { enrolled: 'gw-1', config, mqtt: 'mqtts://cloud.test:8883', site: 'site-1', gridCell: null, ca: join(dir, 'box-1', 'etc', 'cloud-ca.pem') });
    assert.equal(statSync(config).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'box-1', 'etc')).mode & 0o777, 0o700);
    const written = JSON.parse(readFileSync(config, 'utf8'));
    assert.deepEqual(written.gateway, { id: 'gw-1', name: 'Box 1' });
    assert.deepEqual(written.cloud, { url: 'mqtts://cloud.test:8883', password: 'pw-for-qle_good-1', caFile: 'cloud-ca.pem' });
    assert.equal(readFileSync(join(dir, 'box-1', 'etc', 'cloud-ca.pem'), 'utf8'), FAKE_CA);
    const sent = requests.at(-1) as { hardware: Record<string, unknown> };
    assert.equal(typeof sent.hardware.hostname, 'string');
    assert.ok(!r.stdout.includes('pw-for') && !r.stderr.includes('pw-for'), 'the password is never printed');
  });

  it('issue 6: refuses to overwrite an enrolled config unless --force, which keeps the bound devices', async () => {
    const config = join(dir, 'box-2.json');
    assert.equal((await edge('enrol', '--cloud', url, '--token', 'qle_good-2', '--config', config, '--gateway-id', 'gw-2')).status, 0);
    await (await ConfigFile.load(config)).update((draft) => {
      draft.devices.push({ id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '10.0.0.5', port: 502 } });
    });
    const refused = await edge('enrol', '--cloud', url, '--token', 'qle_good-3', '--config', config, '--gateway-id', 'gw-2');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /exists already \(gateway 'gw-2'\); pass --force to re-enrol/);
    assert.equal(JSON.parse(readFileSync(config, 'utf8')).cloud.password, 'pw-for-qle_good-2', 'unchanged');
    const forced = await edge('enrol', '--cloud', url, '--token', 'qle_good-4', '--config', config, '--gateway-id', 'gw-2', '--force');
    assert.equal(forced.status, 0, forced.stderr);
    const written = JSON.parse(readFileSync(config, 'utf8'));
    assert.equal(written.cloud.password, 'pw-for-qle_good-4');
    assert.deepEqual(written.devices.map((d: { id: string }) => d.id), ['loop-1']);
    assert.equal(statSync(config).mode & 0o777, 0o600);
  });

  it("issue 6: a used or unknown token exits 1 with the cloud's message and writes nothing", async () => {
    const config = join(dir, 'box-3.json');
    const used = await edge('enrol', '--cloud', url, '--token', 'qle_good-1', '--config', config);
    assert.equal(used.status, 1);
    assert.match(used.stderr, /enrolment failed: the cloud at http:\/\/127\.0\.0\.1:\d+ refused the enrolment \(HTTP 410\): enrolment token et-1 was already used/);
    const unknown = await edge('enrol', '--cloud', url, '--token', 'qle_wrong', '--config', config);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /\(HTTP 401\): enrolment token not recognised/);
    assert.throws(() => statSync(config), /ENOENT/);
  });

  it('issue 6: an unreachable cloud is named; bad usage exits 2', async () => {
    const unreachable = await edge('enrol', '--cloud', 'http://127.0.0.1:9', '--token', 'qle_good-9', '--config', join(dir, 'box-4.json'));
    assert.equal(unreachable.status, 1);
    assert.match(unreachable.stderr, /cannot reach the cloud at http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/);
    const missing = await edge('enrol', '--cloud', url, '--config', join(dir, 'box-4.json'));
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /missing --token \(or QUANLINK_ENROL_TOKEN\)/);
    const badUrl = await edge('enrol', '--cloud', 'mqtt://127.0.0.1:1883', '--token', 'qle_good-9', '--config', join(dir, 'box-4.json'));
    assert.equal(badUrl.status, 1);
    assert.match(badUrl.stderr, /not an http\(s\):\/\/HOST:PORT address/);
    const badCa = await edge('enrol', '--cloud', url, '--token', 'qle_good-9', '--config', join(dir, 'box-4.json'), '--ca', join(dir, 'nope.pem'));
    assert.equal(badCa.status, 1);
    assert.match(badCa.stderr, /CA file '.*nope\.pem' cannot be read/);
  });
});

describe('issue 6: credentials.rotate on the edge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-rotate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: 'silent' });

  it('issue 6: stores the new password (0600) before answering, then reconnects with it', async () => {
    mkdirSync(join(dir, 'a'));
    const file = join(dir, 'a', 'edge.json');
    const config = await ConfigFile.create(file, { gateway: { id: 'gw-r' }, cloud: { url: 'mqtt://127.0.0.1:1', password: 'old-password-123' }, dataDir: 'data', devices: [] });
    const reconnects: string[] = [];
    let answered = false;
    const handler = credentialsRotateHandler({
      config,
      reconnect: async (password) => {
        assert.ok(answered, 'the answer goes before the reconnect');
        reconnects.push(password);
      },
      logger,
    });
    const result = await handler({ v: 1, tx: 't1', name: 'credentials.rotate', args: { password: 'new-password-456' }, issuedAt: Date.now() });
    answered = true;
    assert.deepEqual(result, { stored: true });
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).cloud.password, 'new-password-456');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(reconnects, ['new-password-456']);
  });

  it('issue 6: malformed args are refused with the field named and change nothing', async () => {
    const file = join(dir, 'b.json');
    writeFileSync(file, '');
    const config = await ConfigFile.create(file, { gateway: { id: 'gw-r' }, cloud: { url: 'mqtt://127.0.0.1:1', password: 'old-password-123' }, dataDir: 'data', devices: [] });
    const handler = credentialsRotateHandler({ config, reconnect: async () => assert.fail('no reconnect'), logger });
    await assert.rejects(handler({ v: 1, tx: 't2', name: 'credentials.rotate', args: { password: 'short' }, issuedAt: Date.now() }), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.code, 'InvalidCommand');
      assert.match(err.path ?? '', /password/);
      return true;
    });
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).cloud.password, 'old-password-123');
  });
});
