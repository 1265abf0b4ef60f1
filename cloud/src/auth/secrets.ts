/**
 * Gateway passwords and tokens: stored only as scrypt hashes in a self-describing PHC-style string
 * `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (base64url), so the cost can be raised later without
 * breaking stored hashes.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const LOG2_COST = 14; // N = 16384: about 50 ms per hash, paid once per MQTT connect
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Refuse stored parameters that would make verification a denial of service. */
const MAX_LOG2_COST = 20;

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function derive(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function scryptOptions(log2Cost: number, blockSize: number, parallelism: number): ScryptOptions {
  const cost = 2 ** log2Cost;
  // scrypt needs 128 * N * r bytes; allow that plus headroom instead of Node's 32 MiB default.
  return { N: cost, r: blockSize, p: parallelism, maxmem: 256 * cost * blockSize + 1024 * 1024 };
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(secret, salt, KEY_LENGTH, scryptOptions(LOG2_COST, BLOCK_SIZE, PARALLELISM));
  return `$scrypt$ln=${LOG2_COST},r=${BLOCK_SIZE},p=${PARALLELISM}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `secret` matches `stored`; throws TypeError when `stored` is not a hash this module wrote. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const match = FORMAT.exec(stored);
  if (!match) throw new TypeError('stored secret is not an scrypt hash ($scrypt$ln=..,r=..,p=..$salt$hash)');
  const [, log2Cost, blockSize, parallelism, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64url');
  const cost = Number(log2Cost);
  if (cost < 1 || cost > MAX_LOG2_COST || expected.length < 16) throw new TypeError('stored scrypt hash has unusable parameters');
  const actual = await derive(
    secret,
    Buffer.from(salt!, 'base64url'),
    expected.length,
    scryptOptions(cost, Number(blockSize), Number(parallelism)),
  );
  return timingSafeEqual(actual, expected);
}

/** A random secret for a gateway password or an admin token: 192 bits, URL-safe. */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison of two plain secrets of any length (e.g. a bearer token). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  // Compare equal-length buffers so timing does not depend on where they differ; length leaks only via the flag.
  const padded = Buffer.alloc(b.length);
  a.copy(padded, 0, 0, Math.min(a.length, b.length));
  return timingSafeEqual(padded, b) && a.length === b.length;
}

/**
 * The stored form of a high-entropy token (192 random bits): sha256, hex. A slow hash would add
 * nothing against guessing such a secret and would cost scrypt's time on every API request.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
