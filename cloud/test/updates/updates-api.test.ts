/** Issue 6 (updates): the upload verifies bundles before keeping them; downloads are for gateways only; rollout requests are checked. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { splitBundle } from '@quanlink/contracts';
import { startCloud, type RunningCloud } from '../../src/cloud.js';
import { registerGateway } from '../../src/registry.js';
import { thresholdReached } from '../../src/updates/rollout.js';
import { captureLogger } from '../helpers.js';
import { signedBundle, testKeys, withEnvelope } from './fixtures.js';

const keys = testKeys();
let cloud: RunningCloud;
let gateway: { id: string; password: string };

async function call(method: string, path: string, options: { body?: Buffer | unknown; contentType?: string; auth?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? `Bearer ${cloud.adminToken}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? (Buffer.isBuffer(options.body) ? 'application/octet-stream' : 'application/json');
  const response = await fetch(`${cloud.httpUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body) } : {}),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  let body: any = bytes;
  if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(bytes.toString());
  return { status: response.status, body, headers: response.headers };
}

const upload = (bundle: Buffer) => call('POST', '/api/v1/updates', { body: bundle });
const basic = (id: string, password: string) => `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;

before(async () => {
  cloud = await startCloud({ logger: captureLogger('error').logger, updates: { trustedKeys: [keys.publicPem] } });
  gateway = await registerGateway(cloud.store, 'gw-api-1', undefined, 'gateway password 1');
});
after(() => cloud?.close());

describe('updates API', () => {
  test('issue 6: a correctly signed bundle is accepted with its manifest, and its upload is audited', async () => {
    const reply = await upload(signedBundle(keys, '2.0.0'));
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.equal(reply.body.version, '2.0.0');
    assert.equal(reply.body.keyId, keys.keyId);
    assert.equal(reply.body.manifest.files[0].path, 'main.mjs');
    const listed = await call('GET', '/api/v1/updates');
    assert.deepEqual(listed.body.updates.map((u: { version: string }) => u.version), ['2.0.0']);
    const [entry] = await cloud.store.dispatch.listAudit({ action: 'update.upload' });
    assert.equal(entry?.actor, 'admin');
    assert.equal(entry?.details.version, '2.0.0');
    const again = await upload(signedBundle(keys, '2.0.0'));
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /an update of version 2.0.0 exists already/);
  });

  test('issue 6: tampered, re-signed-by-a-stranger, unsigned and traversing bundles are refused with the reason, and nothing is kept', async () => {
    const before = (await call('GET', '/api/v1/updates')).body.updates.length;
    const good = signedBundle(keys, '3.0.0');
    const { payload } = splitBundle(good);
    const raw = Buffer.from(gunzipSync(payload));
    raw[0] = raw[0]! ^ 0x20;
    const tampered = Buffer.concat([good.subarray(0, good.indexOf(0x0a) + 1), gzipSync(raw)]);
    const cases: [string, Buffer, string, RegExp][] = [
      ['one byte of a file changed', tampered, 'Tampered', /payload sha256 does not match the signed manifest/],
      ['manifest edited after signing', withEnvelope(good, (e) => ({ ...e, manifest: { ...(e.manifest as object), version: '3.0.1' } })), 'BadSignature', /does not match the manifest/],
      ['signed by an untrusted key', signedBundle(testKeys(), '3.0.0'), 'UntrustedKey', /which is not trusted/],
      ['unsigned', withEnvelope(good, (e) => ({ ...e, signature: undefined })), 'Unsigned', /carries no signature/],
      ['path traversal', signedBundle(keys, '3.0.0', [{ path: 'main.mjs', data: Buffer.from('x') }, { path: '../x', data: Buffer.from('y') }]), 'UnsafePath', /climbs out of the release directory/],
      ['absolute path', signedBundle(keys, '3.0.0', [{ path: 'main.mjs', data: Buffer.from('x') }, { path: '/etc/x', data: Buffer.from('y') }]), 'UnsafePath', /is an absolute path/],
      ['not a bundle', Buffer.from('hello'), 'BadBundle', /not an update bundle/],
    ];
    for (const [what, bundle, code, message] of cases) {
      const reply = await upload(bundle);
      assert.equal(reply.status, 400, `${what}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, code, what);
      assert.match(reply.body.error.message, message, what);
    }
    const json = await call('POST', '/api/v1/updates', { body: { manifest: {} } });
    assert.equal(json.status, 415);
    assert.equal((await call('GET', '/api/v1/updates')).body.updates.length, before, 'no refused bundle was kept');
    assert.equal((await cloud.store.dispatch.listAudit({ action: 'update.upload' })).length, 1);
  });

  test('issue 6: a bundle is downloaded by a gateway with its own credentials, byte for byte; anyone else gets 401', async () => {
    const bundle = signedBundle(keys, '4.0.0');
    const { body: update } = await upload(bundle);
    const path = `/api/v1/updates/${update.id}/bundle`;
    const ok = await call('GET', path, { auth: basic(gateway.id, gateway.password) });
    assert.equal(ok.status, 200);
    assert.ok(Buffer.compare(ok.body as Buffer, bundle) === 0, 'the exact bytes uploaded');
    for (const auth of [null, basic(gateway.id, 'wrong password 1'), basic('gw-nobody', gateway.password), `Bearer ${cloud.adminToken}`]) {
      const refused = await call('GET', path, { auth });
      assert.equal(refused.status, 401, `auth ${auth}`);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic/);
    }
    assert.equal((await call('GET', '/api/v1/updates/upd-none/bundle', { auth: basic(gateway.id, gateway.password) })).status, 404);
  });

  test('issue 6: rollout requests are checked: one target kind, known gateways and update, no unknown fields', async () => {
    const { body: update } = await upload(signedBundle(keys, '5.0.0'));
    const cases: [unknown, number, RegExp][] = [
      [{ updateId: update.id }, 400, /exactly one of body fields 'gateways', 'site' and 'all'/],
      [{ updateId: update.id, all: true, gateways: ['gw-api-1'] }, 400, /exactly one/],
      [{ updateId: update.id, gateways: ['gw-unknown'] }, 400, /gateway 'gw-unknown', which is not registered/],
      [{ updateId: update.id, site: 'no-such-site' }, 400, /no site 'no-such-site'/],
      [{ updateId: 'upd-none', all: true }, 404, /update 'upd-none' not found/],
      [{ updateId: update.id, all: true, maxConcurrent: 0 }, 400, /maxConcurrent/],
      [{ updateId: update.id, all: true, abortAfterFailures: '150%' }, 400, /abortAfterFailures/],
      [{ updateId: update.id, all: true, colour: 'red' }, 400, /'colour' is not allowed/],
    ];
    for (const [body, status, message] of cases) {
      const reply = await call('POST', '/api/v1/rollouts', { body });
      assert.equal(reply.status, status, JSON.stringify(body));
      assert.match(reply.body.error.message, message, JSON.stringify(body));
    }
    assert.deepEqual((await call('GET', '/api/v1/rollouts')).body.rollouts, []);
    assert.equal((await call('GET', '/api/v1/rollouts/ro-none')).status, 404);
    assert.equal((await call('POST', '/api/v1/rollouts/ro-none/abort', { body: {} })).status, 404);
  });

  test('issue 6: a rollout to a site reaches the gateways placed there, and the creation is audited', async () => {
    const { body: update } = await upload(signedBundle(keys, '6.0.0'));
    await registerGateway(cloud.store, 'gw-api-2', undefined, 'gateway password 2');
    await cloud.store.fleet.putSite({ id: 'site-north', name: 'North junction' });
    await cloud.store.fleet.placeGateway('gw-api-2', { siteId: 'site-north' });
    const created = await call('POST', '/api/v1/rollouts', { body: { updateId: update.id, site: 'site-north', healthTimeoutS: 600 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.targets.map((t: { gatewayId: string }) => t.gatewayId), ['gw-api-2']);
    assert.equal(created.body.maxConcurrent, 1);
    assert.equal(created.body.abortAfterFailures, 1);
    const [entry] = await cloud.store.dispatch.listAudit({ action: 'rollout.create' });
    assert.equal(entry?.subject, `rollout:${created.body.id}`);
    assert.equal(entry?.details.gateways, 1);
    const aborted = await call('POST', `/api/v1/rollouts/${created.body.id}/abort`, { body: {} });
    assert.equal(aborted.body.state, 'aborted');
  });

  test('issue 6: the abort threshold counts failures, or their share of the rollout', () => {
    const targets = Array(4).fill({});
    assert.equal(thresholdReached({ abortAfterFailures: 2, abortAfterPercent: null, targets }, 1), undefined);
    assert.equal(thresholdReached({ abortAfterFailures: 2, abortAfterPercent: null, targets }, 2), '2 of 4 gateways failed, reaching the abort threshold of 2');
    assert.equal(thresholdReached({ abortAfterFailures: null, abortAfterPercent: 50, targets }, 1), undefined);
    assert.equal(thresholdReached({ abortAfterFailures: null, abortAfterPercent: 50, targets }, 2), '2 of 4 gateways failed (50%), reaching the abort threshold of 50%');
  });
});
