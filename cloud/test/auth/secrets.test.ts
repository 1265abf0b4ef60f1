import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSecret, hashSecret, secretsEqual, verifySecret } from '../../src/auth/secrets.js';

describe('secrets', () => {
  test('a hash is self-describing (scrypt parameters, salt) and never contains the secret', async () => {
    const hash = await hashSecret('correct horse battery staple');
    assert.match(hash, /^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.ok(!hash.includes('correct horse'));
  });

  test('the same secret hashes differently each time (random salt), and both verify', async () => {
    const [a, b] = await Promise.all([hashSecret('s3cret-s3cret'), hashSecret('s3cret-s3cret')]);
    assert.notEqual(a, b);
    assert.equal(await verifySecret('s3cret-s3cret', a), true);
    assert.equal(await verifySecret('s3cret-s3cret', b), true);
  });

  test('a wrong, empty or nearly-equal secret does not verify', async () => {
    const hash = await hashSecret('s3cret-s3cret');
    assert.equal(await verifySecret('s3cret-s3creT', hash), false);
    assert.equal(await verifySecret('s3cret-s3cret ', hash), false);
    assert.equal(await verifySecret('', hash), false);
  });

  test('verification follows the parameters stored in the hash', async () => {
    // A hash written with a lower cost (as an older build might have) still verifies.
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('old-password-1', salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    const old = `$scrypt$ln=10,r=8,p=1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    assert.equal(await verifySecret('old-password-1', old), true);
    assert.equal(await verifySecret('old-password-2', old), false);
  });

  test('a stored value that is not an scrypt hash is refused with a clear error (never compared as plain text)', async () => {
    await assert.rejects(verifySecret('plain', 'plain'), /not an scrypt hash/);
    await assert.rejects(verifySecret('x', '$scrypt$ln=40,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA'), /unusable parameters/);
  });

  test('generated secrets are long, URL-safe and distinct', () => {
    const secrets = new Set(Array.from({ length: 100 }, () => generateSecret()));
    assert.equal(secrets.size, 100);
    for (const secret of secrets) assert.match(secret, /^[A-Za-z0-9_-]{32}$/);
  });

  test('secretsEqual compares whole strings of any length', () => {
    assert.equal(secretsEqual('token-abc', 'token-abc'), true);
    assert.equal(secretsEqual('token-ab', 'token-abc'), false);
    assert.equal(secretsEqual('token-abcd', 'token-abc'), false);
    assert.equal(secretsEqual('', 'token-abc'), false);
    assert.equal(secretsEqual('token-abX', 'token-abc'), false);
  });
});
