/** MQTT over TLS and HTTPS with a generated CA: trusted with the CA, refused without it; the CA is generated once. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { topicFor } from '@quanlink/contracts';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { CA_CERT_FILE, CA_KEY_FILE, generatedTls, SERVER_CERT_FILE, SERVER_KEY_FILE } from '../../src/tls/certificates.js';
import { captureLogger, connectClient, connectGateway, waitFor } from '../helpers.js';

const ADMIN_TOKEN = 'test-admin-token-tls-0123456789';

function httpsJson(url: string, options: { method?: string; body?: unknown; ca?: string; token?: string }): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ...(options.ca !== undefined && { ca: options.ca }),
        headers: {
          ...(payload !== undefined && { 'content-type': 'application/json' }),
          ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
        },
      },
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

/** The TCP ports this process listens on (Linux /proc): its sockets' inodes matched against the kernel's LISTEN table. */
function listeningPortsOfThisProcess(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const LISTEN = '0A';
      if (fields[3] === LISTEN && inodes.has(fields[9]!)) ports.add(Number.parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** A self-signed certificate for one DNS name only (not 127.0.0.1 or localhost), as an operator might bring. */
function selfSignedFor(name: string): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: name }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: name }] }]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

describe('issue 6: TLS (generated CA)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-tls-'));
  const tlsDir = join(dir, 'tls');
  let cloud: RunningCloud;
  let ca: string;

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, dataDir: join(dir, 'data'), tls: { generate: { dir: tlsDir } }, logger: captureLogger('error').logger });
    ca = readFileSync(join(tlsDir, CA_CERT_FILE), 'utf8');
  });
  after(async () => {
    await cloud?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('issue 6: the cloud serves mqtts and https; the CA and keys are generated owner-only', () => {
    assert.match(cloud.mqttUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
    assert.match(cloud.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(cloud.caCertPem, ca);
    assert.equal(statSync(join(tlsDir, CA_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(join(tlsDir, SERVER_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(tlsDir).mode & 0o777, 0o700);
  });

  test('issue 6: enrolment over https returns the CA; the gateway connects over mqtts with it and its data arrive; without the CA it is refused', async () => {
    await assert.rejects(httpsJson(`${cloud.httpUrl}/api/v1/health`, {}), /self[- ]signed|unable to verify|certificate/i, 'https without the CA');
    assert.equal((await httpsJson(`${cloud.httpUrl}/api/v1/sites/tls-site`, { method: 'PUT', ca, token: ADMIN_TOKEN, body: { name: 'TLS site' } })).status, 201);
    const issued = await httpsJson(`${cloud.httpUrl}/api/v1/enrolment-tokens`, { method: 'POST', ca, token: ADMIN_TOKEN, body: { site: 'tls-site', gatewayId: 'gw-tls' } });
    assert.equal(issued.status, 201);
    const enrolled = await httpsJson(`${cloud.httpUrl}/api/v1/enrol`, { method: 'POST', ca, body: { token: issued.body.token } });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    assert.equal(enrolled.body.caCertPem, ca);
    assert.equal(enrolled.body.mqttUrl, cloud.mqttUrl);

    await assert.rejects(
      connectClient(enrolled.body.mqttUrl, { clientId: 'gw-tls', username: 'gw-tls', password: enrolled.body.password }),
      /self[- ]signed|unable to verify|certificate/i,
      'mqtts without the CA',
    );
    const client = await connectGateway(enrolled.body.mqttUrl, 'gw-tls', enrolled.body.password, { ca: enrolled.body.caCertPem });
    await client.publishAsync(topicFor('gw-tls', 'birth'), JSON.stringify({ v: 1, ts: Date.now(), agentVersion: '1', startedAt: Date.now(), stream: 'stream-tls-0001', devices: [{ id: 'loop-1', profile: 'p', kind: 'loop-detector' }] }), { qos: 1 });
    await waitFor(async () => (await cloud.store.listDevices({ gatewayId: 'gw-tls' })).length === 1, 'the birth sent over mqtts to be stored');
    await client.endAsync();
  });

  test('issue 6: with TLS the broker has one listener, mqtts, and the cloud\'s own ingest uses it too', async () => {
    const health = await httpsJson(`${cloud.httpUrl}/api/v1/health`, { ca });
    assert.equal(health.body.mqtt.ingestConnected, true);
    const ports = [Number(new URL(cloud.mqttUrl).port), Number(new URL(cloud.httpUrl).port)].sort((a, b) => a - b);
    assert.deepEqual(listeningPortsOfThisProcess(), ports, 'only the mqtts and https ports listen: no plain MQTT listener beside TLS');
  });

  test('issue 6: with provided certificate files the ingest connects over mqtts, also when the certificate names only the public host', async () => {
    const startWith = async (tls: { certFile: string; keyFile: string; caFile?: string }) => {
      const provided = await startCloud({ tls, logger: captureLogger('error').logger });
      try {
        assert.match(provided.mqttUrl, /^mqtts:/);
        assert.equal(provided.ingest.connected(), true);
      } finally {
        await provided.close();
      }
    };
    await startWith({ certFile: join(tlsDir, SERVER_CERT_FILE), keyFile: join(tlsDir, SERVER_KEY_FILE), caFile: join(tlsDir, CA_CERT_FILE) });
    // Signed by a CA given with --tls-ca, for cloud.example only: ingest checks that name on the loopback connection.
    const publicOnly = join(dir, 'public-only');
    generatedTls(publicOnly, ['cloud.example']);
    await startWith({ certFile: join(publicOnly, SERVER_CERT_FILE), keyFile: join(publicOnly, SERVER_KEY_FILE), caFile: join(publicOnly, CA_CERT_FILE) });
    // Self-signed, no CA file: the certificate itself is what ingest trusts.
    const selfSigned = selfSignedFor('cloud.example');
    writeFileSync(join(dir, 'self.crt'), selfSigned.certPem);
    writeFileSync(join(dir, 'self.key'), selfSigned.keyPem);
    await startWith({ certFile: join(dir, 'self.crt'), keyFile: join(dir, 'self.key') });
  });

  test('issue 6: a restart reuses the generated CA', async () => {
    await cloud.close();
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, dataDir: join(dir, 'data'), tls: { generate: { dir: tlsDir } }, logger: captureLogger('error').logger });
    assert.equal(cloud.caCertPem, ca);
    assert.equal((await httpsJson(`${cloud.httpUrl}/api/v1/health`, { ca })).status, 200);
  });

  test('issue 6: a TLS file that cannot be read is named', async () => {
    await assert.rejects(
      startCloud({ tls: { certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'missing.key') }, logger: captureLogger('error').logger }),
      /TLS certificate '.*missing\.crt' cannot be read/,
    );
  });
});
