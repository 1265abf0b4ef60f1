/** Issue 6 (updates): signed bundles are verified completely on the gateway before anything is installed. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { trustedKeySet, UpdateVerifyError, type SignatureEnvelope } from '@quanlink/contracts';
import { generateSigningKeys, installRelease, packRelease, verifyBundle, ENVELOPE_FILE } from '../../src/update/bundle.js';
import { handMadeBundle, rebuildBundle, testKeys, writeTestRelease } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-bundle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const keys = testKeys();
const trusted = trustedKeySet([keys.publicPem]);

async function signedBundle(version = '1.4.0'): Promise<Buffer> {
  const release = await writeTestRelease(join(dir, `src-${version}-${Math.random()}`), 'healthy', { 'lib/util.js': 'export const answer = 42;\n', 'README.txt': 'release notes\n' });
  return (await packRelease({ privateKey: keys.privateKey, version, dir: release })).bundle;
}

/** Runs verify-then-install like the agent does; returns the refusal (and checks nothing was written). */
async function refusal(bundle: Buffer, releases: string, options: { currentVersion?: string } = {}): Promise<UpdateVerifyError> {
  mkdirSync(releases, { recursive: true });
  const before = readdirSync(releases);
  let caught: unknown;
  try {
    const verified = verifyBundle(bundle, { trusted, ...options });
    await installRelease(releases, verified);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof UpdateVerifyError, `expected a refusal, got ${String(caught)}`);
  assert.deepEqual(readdirSync(releases), before, 'nothing is installed or changed');
  return caught;
}

describe('update bundles', () => {
  test('issue 6: a correctly signed bundle verifies and installs every file into releases/<version>', async () => {
    const bundle = await signedBundle('1.4.0');
    const verified = verifyBundle(bundle, { trusted, currentVersion: '1.3.9' });
    assert.equal(verified.envelope.keyId, keys.keyId);
    const releases = join(dir, 'releases-ok');
    const target = await installRelease(releases, verified);
    assert.equal(target, join(releases, '1.4.0'));
    assert.equal(readFileSync(join(target, 'lib/util.js'), 'utf8'), 'export const answer = 42;\n');
    assert.match(readFileSync(join(target, 'main.mjs'), 'utf8'), /QUANLINK_HEALTH_FILE/);
    assert.equal((JSON.parse(readFileSync(join(target, ENVELOPE_FILE), 'utf8')) as SignatureEnvelope).manifest.version, '1.4.0');
    assert.deepEqual(readdirSync(releases), ['1.4.0'], 'no temp directory left behind');
  });

  test('issue 6: one byte of a file changed is refused (payload hash), and so is a re-hashed payload (signature)', async () => {
    const bundle = await signedBundle();
    const flipped = (payload: Buffer) => {
      const raw = Buffer.from(gunzipSync(payload));
      raw[raw.length - 3] = raw[raw.length - 3]! ^ 0x01;
      return gzipSync(raw);
    };
    const tampered = rebuildBundle(bundle, { payload: flipped });
    const err = await refusal(tampered, join(dir, 'releases-tamper'));
    assert.equal(err.code, 'Tampered');
    assert.match(err.message, /payload sha256 does not match the signed manifest/);

    // The attacker also fixes payloadSha256 in the manifest: the signature no longer matches.
    const { createHash } = await import('node:crypto');
    let newPayload = Buffer.alloc(0);
    const rehashed = rebuildBundle(bundle, {
      payload: (p) => (newPayload = flipped(p)),
      envelope: (e) => e,
    });
    const fixed = rebuildBundle(rehashed, {
      envelope: (e) => ({ ...e, manifest: { ...(e.manifest as object), payloadSha256: createHash('sha256').update(newPayload).digest('hex') } }),
    });
    const err2 = await refusal(fixed, join(dir, 'releases-tamper'));
    assert.equal(err2.code, 'BadSignature');
  });

  test('issue 6: a file whose bytes differ from its manifest entry is refused by name, even with a matching payload hash', async () => {
    // Signed by the trusted key but the manifest lies about one file: caught by the per-file check.
    const good = handMadeBundle(keys, '2.0.0', [{ path: 'main.mjs', data: Buffer.from('console.log(1)') }]);
    const envelope = JSON.parse(good.subarray(0, good.indexOf(0x0a)).toString()) as SignatureEnvelope;
    envelope.manifest.files[0]!.sha256 = '0'.repeat(64);
    const { sign } = await import('node:crypto');
    const { canonicalManifestBytes } = await import('@quanlink/contracts');
    envelope.signature = sign(null, canonicalManifestBytes(envelope.manifest), keys.privateKey).toString('base64');
    const lying = rebuildBundle(good, { envelope: () => envelope });
    const err = await refusal(lying, join(dir, 'releases-file'));
    assert.equal(err.code, 'Tampered');
    assert.match(err.message, /file 'main.mjs' does not match its sha256/);
  });

  test('issue 6: a manifest edited after signing is refused', async () => {
    const bundle = await signedBundle('1.4.0');
    const edited = rebuildBundle(bundle, { envelope: (e) => ({ ...e, manifest: { ...(e.manifest as object), version: '9.9.9' } }) });
    const err = await refusal(edited, join(dir, 'releases-edited'));
    assert.equal(err.code, 'BadSignature');
    assert.match(err.message, /does not match the manifest/);
  });

  test('issue 6: a bundle signed by an untrusted key is refused, naming the key', async () => {
    const stranger = testKeys();
    const release = await writeTestRelease(join(dir, 'src-stranger'), 'healthy');
    const { bundle } = await packRelease({ privateKey: stranger.privateKey, version: '1.5.0', dir: release });
    const err = await refusal(bundle, join(dir, 'releases-untrusted'));
    assert.equal(err.code, 'UntrustedKey');
    assert.match(err.message, new RegExp(`signed by key ${stranger.keyId}, which is not trusted \\(trusted: ${keys.keyId}\\)`));
  });

  test('issue 6: an unsigned bundle (no signature, or no envelope at all) is refused', async () => {
    const bundle = await signedBundle();
    const unsigned = rebuildBundle(bundle, { envelope: (e) => ({ ...e, signature: undefined }) });
    assert.equal((await refusal(unsigned, join(dir, 'releases-unsigned'))).code, 'Unsigned');
    const bare = gzipSync(Buffer.from('just files'));
    assert.equal((await refusal(bare, join(dir, 'releases-unsigned'))).code, 'BadBundle');
  });

  test('issue 6: path traversal (../x, an absolute path) is refused even when signed by a trusted key', async () => {
    const entry = { path: 'main.mjs', data: Buffer.from('//') };
    for (const [path, why] of [
      ['../x', /climbs out of the release directory/],
      ['lib/../../x', /climbs out/],
      ['/etc/cron.d/x', /is an absolute path/],
    ] as const) {
      const bundle = handMadeBundle(keys, '3.0.0', [entry, { path, data: Buffer.from('evil') }]);
      const err = await refusal(bundle, join(dir, 'releases-traversal'));
      assert.equal(err.code, 'UnsafePath', path);
      assert.match(err.message, why);
    }
    assert.throws(() => statSync(join(dir, 'x')), /ENOENT/, 'nothing was written outside');
  });

  test('issue 6: a version not newer than the running one is refused', async () => {
    const bundle = await signedBundle('1.4.0');
    const err = await refusal(bundle, join(dir, 'releases-old'), { currentVersion: '1.4.0' });
    assert.equal(err.code, 'NotNewer');
    assert.match(err.message, /version 1.4.0 is not newer than the running 1.4.0/);
  });

  test('issue 6: signing refuses a symlink that leaves the release directory; keygen writes an owner-only private key', async () => {
    const release = await writeTestRelease(join(dir, 'src-link'), 'healthy');
    writeFileSync(join(dir, 'secret.txt'), 'outside');
    symlinkSync(join(dir, 'secret.txt'), join(release, 'leak.txt'));
    await assert.rejects(packRelease({ privateKey: keys.privateKey, version: '1.0.1', dir: release }), (err: UpdateVerifyError) => {
      assert.equal(err.code, 'UnsafePath');
      assert.match(err.message, /symlink 'leak.txt' points outside the release directory/);
      return true;
    });
    const generated = await generateSigningKeys(join(dir, 'keys'));
    assert.equal(statSync(generated.privateKeyFile).mode & 0o777, 0o600);
    assert.match(generated.keyId, /^[0-9a-f]{16}$/);
    await assert.rejects(generateSigningKeys(join(dir, 'keys')), /EEXIST/, 'an existing key is never overwritten');
  });
});
