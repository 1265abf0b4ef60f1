/** Issue 6 (updates): the signer's CLI: keygen, sign a release directory, verify a bundle as a gateway would (exit 1 with the reason when refused). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeTestRelease } from './fixtures.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'quanlink-update-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function edge(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('quanlink-edge update CLI', () => {
  test('issue 6: keygen, sign and verify a bundle; a tampered or untrusted bundle fails verify with the reason', async () => {
    const keys = join(dir, 'keys');
    let r = edge('update', 'keygen', '--out', keys);
    assert.equal(r.status, 0, r.stderr);
    const generated = JSON.parse(r.stdout) as { privateKeyFile: string; publicKeyFile: string; keyId: string };
    assert.equal(statSync(generated.privateKeyFile).mode & 0o777, 0o600);

    const release = await writeTestRelease(join(dir, 'release'), 'healthy');
    const bundle = join(dir, 'agent-2.1.0.qlb');
    r = edge('update', 'sign', '--key', generated.privateKeyFile, '--version', '2.1.0', '--dir', release, '--out', bundle);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual({ ...JSON.parse(r.stdout), bytes: 0 }, { bundle, version: '2.1.0', keyId: generated.keyId, files: 1, bytes: 0 });

    r = edge('update', 'verify', '--bundle', bundle, '--trusted-key', generated.publicKeyFile, '--force');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, version: '2.1.0', keyId: generated.keyId, files: 1 });

    const bytes = readFileSync(bundle);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    const tampered = join(dir, 'tampered.qlb');
    writeFileSync(tampered, bytes);
    r = edge('update', 'verify', '--bundle', tampered, '--trusted-key', generated.publicKeyFile, '--force');
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).code, 'Tampered');

    const other = join(dir, 'other-keys');
    assert.equal(edge('update', 'keygen', '--out', other).status, 0);
    r = edge('update', 'verify', '--bundle', bundle, '--trusted-key', join(other, 'update-signing.pub'), '--force');
    assert.equal(r.status, 1);
    assert.match(JSON.parse(r.stdout).reason, /which is not trusted/);

    r = edge('update', 'sign', '--key', generated.privateKeyFile, '--version', 'latest', '--dir', release, '--out', join(dir, 'x.qlb'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /version 'latest' is not x.y.z/);
    r = edge('update', 'sign', '--version', '1.0.0');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing --key/);
  });
});
