/**
 * Agent update bundles: the signed manifest both sides verify, the update.apply command and the
 * update.status event.
 *
 * A bundle is one file: the signature envelope as one line of JSON, a newline, then the payload
 * (gzip of the release's files concatenated in manifest order). The Ed25519 signature covers the
 * canonical bytes of the manifest alone; the manifest pins the payload (payloadSha256) and every file
 * (path, size, sha256), so one signature check proves the whole bundle.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const UPDATE_PRODUCT = 'quanlink-edge' as const;
/** A device's firmware image (device-firmware.ts): the manifest names the target profile. */
export const FIRMWARE_PRODUCT = 'device-firmware' as const;
export const UPDATE_PRODUCTS = [UPDATE_PRODUCT, FIRMWARE_PRODUCT] as const;
export type UpdateProduct = (typeof UPDATE_PRODUCTS)[number];
/** Versions like 1.4.0 or 1.4.0-rc.1: used in paths, so no slashes and no dots alone. */
export const VERSION_PATTERN = '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]{1,32})?$';
const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const KEY_ID_PATTERN = '^[0-9a-f]{16}$';
/** Bounds a verifier enforces before it reads anything big. */
export const UPDATE_LIMITS = { maxFiles: 10_000, maxFileBytes: 512 * 1024 * 1024, maxReleaseBytes: 1024 * 1024 * 1024, maxPathLength: 300 } as const;

export const ManifestFile = Type.Object(
  {
    /** Relative POSIX path inside the release directory (checked by manifestPathProblem). */
    path: Type.String({ minLength: 1, maxLength: UPDATE_LIMITS.maxPathLength }),
    sha256: Sha256Hex,
    size: Type.Integer({ minimum: 0, maximum: UPDATE_LIMITS.maxFileBytes }),
  },
  { additionalProperties: false },
);
export type ManifestFile = Static<typeof ManifestFile>;

export const UpdateManifest = Type.Object(
  {
    format: Type.Literal(1),
    product: Type.Union(UPDATE_PRODUCTS.map((p) => Type.Literal(p))),
    version: Type.String({ pattern: VERSION_PATTERN }),
    /** device-firmware only: the device profile the image is for (e.g. quanlink-vms-r1). */
    profile: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{1,63}$' })),
    createdAt: Type.Integer({ minimum: 0 }),
    /** The file the supervisor runs with node (given `run --config FILE`). */
    entry: Type.String({ minLength: 1, maxLength: UPDATE_LIMITS.maxPathLength }),
    files: Type.Array(ManifestFile, { minItems: 1, maxItems: UPDATE_LIMITS.maxFiles }),
    /** sha256 of the payload bytes that follow the envelope line. */
    payloadSha256: Sha256Hex,
    /** A gateway running an older agent refuses the bundle. */
    minAgentVersion: Type.Optional(Type.String({ pattern: VERSION_PATTERN })),
  },
  { additionalProperties: false },
);
export type UpdateManifest = Static<typeof UpdateManifest>;

export const SignatureEnvelope = Type.Object(
  {
    format: Type.Literal(1),
    /** keyIdOf(the signing key's public key). */
    keyId: Type.String({ pattern: KEY_ID_PATTERN }),
    /** Ed25519 signature of canonicalManifestBytes(manifest), base64. */
    signature: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' }),
    manifest: UpdateManifest,
  },
  { additionalProperties: false },
);
export type SignatureEnvelope = Static<typeof SignatureEnvelope>;

/** Where a signed bundle is and what it must be: the args every command that installs one carries. */
export const BundleReference = {
  updateId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  version: Type.String({ pattern: VERSION_PATTERN }),
  url: Type.String({ pattern: '^https?://\\S+$', maxLength: 2000 }),
  manifest: UpdateManifest,
  keyId: Type.String({ pattern: KEY_ID_PATTERN }),
  signature: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' }),
};

/** update.apply: install this update (the gateway downloads the bundle from `url`, authenticating as itself). */
export const UpdateApplyArgs = Type.Object(BundleReference, { additionalProperties: false });
export type UpdateApplyArgs = Static<typeof UpdateApplyArgs>;

export const UPDATE_STATES = ['downloading', 'verifying', 'installed', 'healthy', 'failed', 'rolled-back'] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

/** update.status: how an update goes on a gateway (failed and rolled-back carry the reason). */
export const UpdateStatusData = Type.Object(
  {
    updateId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    state: Type.Union(UPDATE_STATES.map((s) => Type.Literal(s))),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type UpdateStatusData = Static<typeof UpdateStatusData>;

let compiledEnvelope: ReturnType<typeof TypeCompiler.Compile<typeof SignatureEnvelope>> | undefined;
function envelopeCheck() {
  compiledEnvelope ??= TypeCompiler.Compile(SignatureEnvelope);
  return compiledEnvelope;
}

/** The bytes that are signed: JSON with object keys sorted at every level, no whitespace. */
export function canonicalManifestBytes(manifest: UpdateManifest): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the raw 32-byte Ed25519 public key, first 16 hex digits. */
export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { x?: string; crv?: string };
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new UpdateVerifyError('UntrustedKey', 'key is not an Ed25519 public key');
  return createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('hex').slice(0, 16);
}

/** A verification refusal; `code` is stable (BadSignature, UntrustedKey, Tampered, UnsafePath, ...). */
export class UpdateVerifyError extends Error {
  override readonly name = 'UpdateVerifyError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Public keys by key id, from PEM texts; throws naming the one that is not an Ed25519 public key. */
export function trustedKeySet(pems: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  pems.forEach((pem, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new UpdateVerifyError('BadTrustedKey', `trusted key #${i + 1} is not a PEM public key: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new UpdateVerifyError('BadTrustedKey', `trusted key #${i + 1} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
    keys.set(keyIdOf(key), key);
  });
  return keys;
}

/** Why a manifest path is unsafe to write under a release directory, or undefined. */
export function manifestPathProblem(path: string): string | undefined {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return `'${path}' is an absolute path`;
  if (path.includes('\\')) return `'${path}' contains a backslash`;
  if (path.includes('\0')) return `'${path}' contains a NUL byte`;
  const parts = path.split('/');
  if (parts.includes('..')) return `'${path}' climbs out of the release directory ('..')`;
  if (parts.some((p) => p === '' || p === '.')) return `'${path}' has an empty or '.' segment`;
  return undefined;
}

/**
 * Checks an envelope as received (schema, product, paths, trusted key, signature). Returns the
 * manifest it proves; throws UpdateVerifyError with the reason otherwise.
 */
export function verifyEnvelope(envelope: unknown, trusted: ReadonlyMap<string, KeyObject>): SignatureEnvelope {
  if (envelope === null || typeof envelope !== 'object' || !('signature' in envelope) || (envelope as { signature?: unknown }).signature === undefined) {
    throw new UpdateVerifyError('Unsigned', 'the bundle carries no signature');
  }
  // Compiled here rather than through validate.ts: that module imports the command table, which imports this one.
  const first = envelopeCheck().Errors(envelope).First();
  if (first) throw new UpdateVerifyError('BadEnvelope', `signature envelope: ${first.path === '' ? '(envelope)' : first.path}: ${first.message}`);
  const checked = envelope as SignatureEnvelope;
  const key = trusted.get(checked.keyId);
  if (!key) throw new UpdateVerifyError('UntrustedKey', `signed by key ${checked.keyId}, which is not trusted (trusted: ${[...trusted.keys()].join(', ') || 'none'})`);
  if (!verify(null, canonicalManifestBytes(checked.manifest), key, Buffer.from(checked.signature, 'base64'))) {
    throw new UpdateVerifyError('BadSignature', `the signature of key ${checked.keyId} does not match the manifest (edited after signing, or signed by another key)`);
  }
  const { manifest } = checked;
  const seen = new Set<string>();
  let total = 0;
  for (const file of manifest.files) {
    const problem = manifestPathProblem(file.path);
    if (problem) throw new UpdateVerifyError('UnsafePath', `manifest file ${problem}`);
    if (seen.has(file.path)) throw new UpdateVerifyError('UnsafePath', `manifest lists '${file.path}' twice`);
    seen.add(file.path);
    total += file.size;
  }
  if (total > UPDATE_LIMITS.maxReleaseBytes) throw new UpdateVerifyError('TooLarge', `release is ${total} bytes, more than ${UPDATE_LIMITS.maxReleaseBytes}`);
  if (!seen.has(manifest.entry)) throw new UpdateVerifyError('BadEnvelope', `entry '${manifest.entry}' is not one of the manifest's files`);
  if (manifest.product === FIRMWARE_PRODUCT) {
    if (manifest.profile === undefined) throw new UpdateVerifyError('BadEnvelope', 'a device-firmware manifest must name the target profile (manifest.profile)');
    if (manifest.files.length !== 1) throw new UpdateVerifyError('BadEnvelope', `a device-firmware bundle holds one image file, this one lists ${manifest.files.length}`);
  } else if (manifest.profile !== undefined) {
    throw new UpdateVerifyError('BadEnvelope', `manifest.profile is for device-firmware bundles, not ${manifest.product}`);
  }
  return checked;
}

/** Splits a bundle file into its envelope (parsed JSON, unverified) and payload. */
export function splitBundle(bundle: Buffer): { envelope: unknown; payload: Buffer } {
  const newline = bundle.indexOf(0x0a);
  if (newline <= 0 || newline > 16 * 1024 * 1024) throw new UpdateVerifyError('BadBundle', 'not an update bundle (no signature envelope line at the start)');
  let envelope: unknown;
  try {
    envelope = JSON.parse(bundle.subarray(0, newline).toString('utf8'));
  } catch (err) {
    throw new UpdateVerifyError('BadBundle', `signature envelope is not JSON: ${(err as Error).message}`);
  }
  return { envelope, payload: bundle.subarray(newline + 1) };
}

/** Numeric comparison of x.y.z[-pre] versions (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = splitVersion(a);
  const [coreB, preB] = splitVersion(b);
  for (let i = 0; i < 3; i++) {
    const diff = (coreA[i] ?? 0) - (coreB[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  return preA < preB ? -1 : 1;
}

function splitVersion(version: string): [number[], string | undefined] {
  const dash = version.indexOf('-');
  const core = dash < 0 ? version : version.slice(0, dash);
  return [core.split('.').map((n) => Number.parseInt(n, 10) || 0), dash < 0 ? undefined : version.slice(dash + 1)];
}
