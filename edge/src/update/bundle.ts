/**
 * Update bundles on the gateway side: key generation, signing a release directory into a bundle,
 * verifying a bundle completely (signature, payload, every file) before anything is written, and
 * installing a verified release atomically (temp directory, then rename).
 *
 * Bundle file = signature envelope (one JSON line) + '\n' + gzip(files concatenated in manifest order).
 * The format and the signature checks are in @quanlink/contracts (updates.ts), shared with the cloud.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  canonicalManifestBytes,
  compareVersions,
  keyIdOf,
  manifestPathProblem,
  splitBundle,
  UPDATE_PRODUCT,
  VERSION_PATTERN,
  UpdateVerifyError,
  verifyEnvelope,
  type ManifestFile,
  type SignatureEnvelope,
  type UpdateManifest,
  type UpdateProduct,
} from '@quanlink/contracts';

export { UpdateVerifyError };

export const PRIVATE_KEY_FILE = 'update-signing.key';
export const PUBLIC_KEY_FILE = 'update-signing.pub';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Writes a new Ed25519 key pair into `outDir` (private key owner-only); refuses to overwrite one. */
export async function generateSigningKeys(outDir: string): Promise<{ privateKeyFile: string; publicKeyFile: string; keyId: string }> {
  await mkdir(outDir, { recursive: true });
  const privateKeyFile = join(outDir, PRIVATE_KEY_FILE);
  const publicKeyFile = join(outDir, PUBLIC_KEY_FILE);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // 'wx': never replace an existing signing key by accident.
  await writeFile(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await chmod(privateKeyFile, 0o600);
  await writeFile(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
  return { privateKeyFile, publicKeyFile, keyId: keyIdOf(publicKey) };
}

export interface PackOptions {
  privateKey: KeyObject | string;
  version: string;
  /** The release directory. */
  dir: string;
  /** The file the supervisor runs; default main.mjs or main.js when present. */
  entry?: string | undefined;
  minAgentVersion?: string | undefined;
  createdAt?: number | undefined;
}

/** Signs the files of a release directory into one bundle. Symlinks are followed when they stay inside `dir`, refused otherwise. */
export async function packRelease(options: PackOptions): Promise<{ bundle: Buffer; envelope: SignatureEnvelope }> {
  const key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new UpdateVerifyError('BadKey', `signing key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  if (!new RegExp(VERSION_PATTERN).test(options.version)) throw new UpdateVerifyError('BadVersion', `version '${options.version}' is not x.y.z[-pre]`);
  if (options.minAgentVersion !== undefined && !new RegExp(VERSION_PATTERN).test(options.minAgentVersion)) {
    throw new UpdateVerifyError('BadVersion', `minimum agent version '${options.minAgentVersion}' is not x.y.z[-pre]`);
  }
  const root = await realpath(options.dir);
  const paths = await listFiles(root, root);
  if (paths.length === 0) throw new UpdateVerifyError('EmptyRelease', `${options.dir} holds no files`);
  const files: ManifestFile[] = [];
  const contents: Buffer[] = [];
  for (const path of paths) {
    const data = await readFile(join(root, ...path.split('/')));
    files.push({ path, sha256: sha256(data), size: data.length });
    contents.push(data);
  }
  const entry = options.entry ?? ['main.mjs', 'main.js'].find((name) => paths.includes(name));
  if (entry === undefined) throw new UpdateVerifyError('NoEntry', `${options.dir} has no main.mjs or main.js: name the entry file (--entry)`);
  if (!paths.includes(entry)) throw new UpdateVerifyError('NoEntry', `entry '${entry}' is not a file of ${options.dir}`);
  const payload = gzipSync(Buffer.concat(contents));
  const manifest: UpdateManifest = {
    format: 1,
    product: UPDATE_PRODUCT,
    version: options.version,
    createdAt: options.createdAt ?? Date.now(),
    entry,
    files,
    payloadSha256: sha256(payload),
    ...(options.minAgentVersion !== undefined ? { minAgentVersion: options.minAgentVersion } : {}),
  };
  const envelope: SignatureEnvelope = {
    format: 1,
    keyId: keyIdOf(createPublicKey(key)),
    signature: sign(null, canonicalManifestBytes(manifest), key).toString('base64'),
    manifest,
  };
  return { bundle: Buffer.concat([Buffer.from(`${JSON.stringify(envelope)}\n`, 'utf8'), payload]), envelope };
}

async function listFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = join(dir, entry.name);
    const rel = relative(root, full).split(sep).join('/');
    if (entry.isSymbolicLink()) {
      const target = await realpath(full);
      if (target !== root && !target.startsWith(root + sep)) throw new UpdateVerifyError('UnsafePath', `symlink '${rel}' points outside the release directory (to ${target})`);
      if ((await stat(target)).isDirectory()) out.push(...(await listFiles(root, full)));
      else out.push(rel);
    } else if (entry.isDirectory()) {
      out.push(...(await listFiles(root, full)));
    } else if (entry.isFile()) {
      out.push(rel);
    }
  }
  return out;
}

export interface VerifyOptions {
  /** Public keys by key id (trustedKeySet). */
  trusted: ReadonlyMap<string, KeyObject>;
  /** The version running now: the bundle must be newer unless `force`. */
  currentVersion?: string | undefined;
  /** The agent version running now, checked against minAgentVersion. */
  agentVersion?: string | undefined;
  force?: boolean | undefined;
  /** The product the bundle must be (an agent never installs device firmware, nor the other way round). */
  product?: UpdateProduct | undefined;
  /** The envelope the cloud's command carried: the downloaded bundle must carry the same manifest. */
  expected?: Pick<SignatureEnvelope, 'manifest'> | undefined;
}

export interface VerifiedRelease {
  envelope: SignatureEnvelope;
  files: { path: string; data: Buffer }[];
}

/** Checks the envelope of a bundle (or of a command) against the keys and versions; throws UpdateVerifyError with the reason. */
export function checkEnvelope(envelope: unknown, options: VerifyOptions): SignatureEnvelope {
  const checked = verifyEnvelope(envelope, options.trusted);
  const { version, minAgentVersion, product } = checked.manifest;
  if (options.product !== undefined && product !== options.product) throw new UpdateVerifyError('WrongProduct', `the bundle is ${product} ${version}, not ${options.product}`);
  if (!options.force && options.currentVersion !== undefined && compareVersions(version, options.currentVersion) <= 0) {
    throw new UpdateVerifyError('NotNewer', `version ${version} is not newer than the running ${options.currentVersion}`);
  }
  if (minAgentVersion !== undefined && options.agentVersion !== undefined && compareVersions(options.agentVersion, minAgentVersion) < 0) {
    throw new UpdateVerifyError('AgentTooOld', `version ${version} needs agent ${minAgentVersion} or newer; this is ${options.agentVersion}`);
  }
  return checked;
}

/** Verifies a whole bundle in memory: signature, payload hash, unpacked size, every file's size and sha256. Nothing is written. */
export function verifyBundle(bundle: Buffer, options: VerifyOptions): VerifiedRelease {
  const { envelope: raw, payload } = splitBundle(bundle);
  const envelope = checkEnvelope(raw, options);
  const { manifest } = envelope;
  if (options.expected && !canonicalManifestBytes(options.expected.manifest).equals(canonicalManifestBytes(manifest))) {
    throw new UpdateVerifyError('Tampered', `the downloaded bundle's manifest is not the one the update announced (version ${manifest.version})`);
  }
  if (sha256(payload) !== manifest.payloadSha256) throw new UpdateVerifyError('Tampered', `payload sha256 does not match the signed manifest (version ${manifest.version})`);
  const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
  let unpacked: Buffer;
  try {
    // One byte over the expected size is enough to tell a payload that holds more than it should.
    unpacked = gunzipSync(payload, { maxOutputLength: total + 1 });
  } catch (err) {
    throw new UpdateVerifyError('Tampered', `payload does not unpack: ${(err as Error).message}`);
  }
  if (unpacked.length !== total) throw new UpdateVerifyError('Tampered', `payload holds ${unpacked.length} bytes, the manifest lists ${total}`);
  const files: VerifiedRelease['files'] = [];
  let offset = 0;
  for (const file of manifest.files) {
    if (file.path === ENVELOPE_FILE) throw new UpdateVerifyError('UnsafePath', `manifest file '${file.path}' would replace the installed release's own record`);
    const data = unpacked.subarray(offset, offset + file.size);
    offset += file.size;
    if (sha256(data) !== file.sha256) throw new UpdateVerifyError('Tampered', `file '${file.path}' does not match its sha256 in the signed manifest`);
    files.push({ path: file.path, data });
  }
  return { envelope, files };
}

/**
 * Writes a verified release to `<releasesDir>/<version>`: into a temp directory first, then one
 * rename, so a half-written release never exists under its name. A release of the same version
 * that is not running is replaced.
 */
export async function installRelease(releasesDir: string, release: VerifiedRelease): Promise<string> {
  const { version } = release.envelope.manifest;
  await mkdir(releasesDir, { recursive: true });
  const target = join(releasesDir, version);
  const temp = join(releasesDir, `.incoming-${version}-${process.pid}-${Date.now()}`);
  await mkdir(temp);
  try {
    for (const file of release.files) {
      const problem = manifestPathProblem(file.path);
      if (problem) throw new UpdateVerifyError('UnsafePath', `manifest file ${problem}`);
      const dest = resolve(temp, ...file.path.split('/'));
      if (!dest.startsWith(temp + sep)) throw new UpdateVerifyError('UnsafePath', `'${file.path}' resolves outside the release directory`);
      await mkdir(dirname(dest), { recursive: true });
      // 'wx': a file never replaces one written before (or a link someone placed there).
      await writeFile(dest, file.data, { flag: 'wx' });
    }
    await writeFile(join(temp, ENVELOPE_FILE), JSON.stringify(release.envelope), { flag: 'wx' });
    const existing = await lstat(target).catch(() => undefined);
    if (existing) await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  return target;
}

/** Kept in each installed release: what it is and which file to run. A manifest path never names it (dot-prefixed, checked). */
export const ENVELOPE_FILE = '.quanlink-release.json';

export async function readInstalledEnvelope(releaseDir: string): Promise<SignatureEnvelope> {
  return JSON.parse(await readFile(join(releaseDir, ENVELOPE_FILE), 'utf8')) as SignatureEnvelope;
}
