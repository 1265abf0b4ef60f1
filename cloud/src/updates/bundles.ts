/**
 * Update bundles in the cloud: verified at upload against the cloud's trusted keys (the same checks
 * a gateway makes of the envelope, and the payload's hash), then kept as files under the data
 * directory (or in memory for an in-memory cloud) for gateways to download.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { splitBundle, trustedKeySet, UpdateVerifyError, verifyEnvelope, type SignatureEnvelope } from '@quanlink/contracts';

export { UpdateVerifyError };

/** Where bundle bytes are kept. */
export interface BundleFiles {
  put(id: string, bundle: Buffer): Promise<void>;
  open(id: string): Promise<{ size: number; stream: Readable } | undefined>;
  remove(id: string): Promise<void>;
}

export class DiskBundleFiles implements BundleFiles {
  constructor(private readonly dir: string) {}

  private path(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`bundle id '${id}' is not a plain id`);
    return join(this.dir, `${id}.qlb`);
  }

  async put(id: string, bundle: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = `${this.path(id)}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, bundle, { mode: 0o600 });
    await rename(temp, this.path(id));
  }

  async open(id: string): Promise<{ size: number; stream: Readable } | undefined> {
    const file = this.path(id);
    const info = await stat(file).catch(() => undefined);
    if (!info) return undefined;
    return { size: info.size, stream: createReadStream(file) };
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }
}

export class MemoryBundleFiles implements BundleFiles {
  private readonly bundles = new Map<string, Buffer>();
  async put(id: string, bundle: Buffer): Promise<void> {
    this.bundles.set(id, bundle);
  }
  async open(id: string): Promise<{ size: number; stream: Readable } | undefined> {
    const bundle = this.bundles.get(id);
    return bundle && { size: bundle.length, stream: Readable.from([bundle]) };
  }
  async remove(id: string): Promise<void> {
    this.bundles.delete(id);
  }
}

export function openBundleFiles(dataDir: string | undefined): BundleFiles {
  return dataDir === undefined ? new MemoryBundleFiles() : new DiskBundleFiles(join(dataDir, 'updates'));
}

export interface CheckedBundle {
  envelope: SignatureEnvelope;
  bundleSha256: string;
  size: number;
}

/** Checks an uploaded bundle: signature by a trusted key, manifest paths, payload hash. Throws UpdateVerifyError with the reason. */
export function checkUploadedBundle(bundle: Buffer, trusted: ReadonlyMap<string, KeyObject>): CheckedBundle {
  if (trusted.size === 0) throw new UpdateVerifyError('UpdatesDisabled', 'the cloud trusts no update signing key (set QUANLINK_UPDATE_TRUSTED_KEYS to PEM files, or CloudOptions.updateTrustedKeys)');
  const { envelope: raw, payload } = splitBundle(bundle);
  const envelope = verifyEnvelope(raw, trusted);
  if (createHash('sha256').update(payload).digest('hex') !== envelope.manifest.payloadSha256) {
    throw new UpdateVerifyError('Tampered', `payload sha256 does not match the signed manifest (version ${envelope.manifest.version})`);
  }
  return { envelope, bundleSha256: createHash('sha256').update(bundle).digest('hex'), size: bundle.length };
}

export { trustedKeySet };

/**
 * The cloud's trusted update keys: the given PEM texts, else the PEM files listed (comma-separated)
 * in QUANLINK_UPDATE_TRUSTED_KEYS. Throws naming the file or key that is not an Ed25519 public key.
 */
export function cloudTrustedKeys(pems: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): Map<string, KeyObject> {
  if (pems !== undefined) return trustedKeySet(pems);
  const files = (env.QUANLINK_UPDATE_TRUSTED_KEYS ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
  return trustedKeySet(
    files.map((file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (err) {
        throw new UpdateVerifyError('BadTrustedKey', `QUANLINK_UPDATE_TRUSTED_KEYS: cannot read ${file}: ${(err as Error).message}`);
      }
    }),
  );
}
