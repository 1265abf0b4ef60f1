/** Test releases and signing keys: small Node scripts that behave like the agent for health purposes. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { canonicalManifestBytes, keyIdOf, UPDATE_PRODUCT, type SignatureEnvelope, type UpdateManifest } from '@quanlink/contracts';

export interface TestKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  keyId: string;
}

export function testKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: keyIdOf(publicKey) };
}

/**
 * How a test release behaves: healthy (writes a healthy health file and runs until SIGTERM), crash
 * (exits 1 at once), unhealthy (runs but never says healthy).
 */
export type ReleaseBehaviour = 'healthy' | 'crash' | 'unhealthy';

export async function writeTestRelease(dir: string, behaviour: ReleaseBehaviour, extraFiles: Record<string, string> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const script = `
import { writeFileSync, renameSync } from 'node:fs';
const behaviour = ${JSON.stringify(behaviour)};
if (behaviour === 'crash') { console.error('test release: failing on start'); process.exit(1); }
const file = process.env.QUANLINK_HEALTH_FILE;
const write = () => {
  const tmp = file + '.tmp';
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, version: process.env.QUANLINK_RELEASE_VERSION, healthy: behaviour === 'healthy', detail: behaviour === 'healthy' ? undefined : 'never healthy (test)', ts: Date.now() }));
  renameSync(tmp, file);
};
if (file) { write(); setInterval(write, 200); }
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;
  await writeFile(join(dir, 'main.mjs'), script);
  for (const [name, content] of Object.entries(extraFiles)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

/** A bundle built by hand, for manifests a correct signer would never produce (path traversal). */
export function handMadeBundle(keys: TestKeys, version: string, files: { path: string; data: Buffer }[], entry = files[0]!.path): Buffer {
  const payload = gzipSync(Buffer.concat(files.map((f) => f.data)));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const manifest: UpdateManifest = {
    format: 1,
    product: UPDATE_PRODUCT,
    version,
    createdAt: Date.now(),
    entry,
    files: files.map((f) => ({ path: f.path, sha256: sha(f.data), size: f.data.length })),
    payloadSha256: sha(payload),
  };
  const envelope: SignatureEnvelope = { format: 1, keyId: keys.keyId, signature: sign(null, canonicalManifestBytes(manifest), keys.privateKey).toString('base64'), manifest };
  return Buffer.concat([Buffer.from(`${JSON.stringify(envelope)}\n`), payload]);
}

/** Replaces a bundle's envelope (JSON line) and/or payload. */
export function rebuildBundle(bundle: Buffer, change: { envelope?: (e: Record<string, unknown>) => unknown; payload?: (p: Buffer) => Buffer }): Buffer {
  const newline = bundle.indexOf(0x0a);
  const envelope = JSON.parse(bundle.subarray(0, newline).toString()) as Record<string, unknown>;
  const payload = bundle.subarray(newline + 1);
  const newEnvelope = change.envelope ? change.envelope(envelope) : envelope;
  const newPayload = change.payload ? change.payload(payload) : payload;
  return Buffer.concat([Buffer.from(`${JSON.stringify(newEnvelope)}\n`), newPayload]);
}
