/** Issue 6 (device firmware): `quanlink-edge update sign-firmware` signs an image into a device-firmware bundle; bad input exits 1 or 2 with the reason. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { splitBundle, trustedKeySet } from '@quanlink/contracts';
import { encodeFirmwareImage, parseFirmwareImageHeader } from '@quanlink/device-profiles';
import { verifyBundle } from '../../src/update/bundle.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'quanlink-firmware-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function edge(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('quanlink-edge update sign-firmware', () => {
  test('issue 6: a raw body gets the image header; the bundle verifies as device-firmware for the profile; mismatches are refused', () => {
    const keys = join(dir, 'keys');
    assert.equal(edge('update', 'keygen', '--out', keys).status, 0);
    const body = join(dir, 'body.bin');
    writeFileSync(body, Buffer.alloc(777, 0x42));
    const out = join(dir, 'fw.qlb');
    let r = edge('update', 'sign-firmware', '--key', join(keys, 'update-signing.key'), '--profile', 'quanlink-lc8', '--version', '1.5.0', '--image', body, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual({ ...JSON.parse(r.stdout), keyId: '', bytes: 0 }, { bundle: out, product: 'device-firmware', profile: 'quanlink-lc8', version: '1.5.0', keyId: '', bytes: 0 });
    const verified = verifyBundle(readFileSync(out), { trusted: trustedKeySet([readFileSync(join(keys, 'update-signing.pub'), 'utf8')]), product: 'device-firmware' });
    assert.equal(verified.envelope.manifest.profile, 'quanlink-lc8');
    r = edge('update', 'verify', '--bundle', out, '--trusted-key', join(keys, 'update-signing.pub'));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual({ ...JSON.parse(r.stdout), keyId: '' }, { ok: true, version: '1.5.0', keyId: '', files: 1, product: 'device-firmware', profile: 'quanlink-lc8' });
    const image = gunzipSync(splitBundle(readFileSync(out)).payload);
    assert.deepEqual(parseFirmwareImageHeader(image).version, '1.5.0');
    assert.equal(image.subarray(-777).toString('latin1'), 'B'.repeat(777));

    // A finished image for another profile is not relabelled.
    const other = join(dir, 'other.qlfw');
    writeFileSync(other, encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '1.5.0', body: Buffer.alloc(10) }));
    r = edge('update', 'sign-firmware', '--key', join(keys, 'update-signing.key'), '--profile', 'quanlink-lc8', '--version', '1.5.0', '--image', other, '--out', join(dir, 'x.qlb'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is an image for quanlink-vms-r1 1.5.0, not quanlink-lc8 1.5.0/);
    r = edge('update', 'sign-firmware', '--key', join(keys, 'update-signing.key'), '--profile', 'quanlink-lc8', '--version', '1.5', '--image', body, '--out', join(dir, 'y.qlb'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /firmware version '1.5' is not major.minor.patch/);
    r = edge('update', 'sign-firmware', '--key', join(keys, 'update-signing.key'), '--version', '1.5.0', '--image', body, '--out', join(dir, 'z.qlb'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing --profile/);
  });
});
