/**
 * HTTP authentication of the snapshot URL, as IP cameras do it: Digest (RFC 7616, MD5 or
 * SHA-256, qop=auth) with Basic also accepted (node-onvif's fetchSnapshot sends Basic first).
 * A 401 challenges with Digest. Nonces are issued by the server and expire.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Credentials } from './ws-security.js';

const NONCE_TTL_MS = 5 * 60_000;
const MAX_NONCES = 1000;

export class HttpAuthenticator {
  private readonly nonces = new Map<string, number>();

  constructor(
    readonly realm: string,
    private readonly credentials: () => Credentials,
  ) {}

  /** The WWW-Authenticate value of a 401. */
  challenge(): string {
    const nonce = randomBytes(16).toString('hex');
    const now = Date.now();
    this.nonces.set(nonce, now);
    for (const [n, at] of this.nonces) {
      if (this.nonces.size <= MAX_NONCES && now - at <= NONCE_TTL_MS) break;
      this.nonces.delete(n);
    }
    return `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", algorithm=MD5`;
  }

  /** True when the Authorization header carries the device's credentials. */
  verify(method: string, header: string | undefined): boolean {
    if (!header) return false;
    const { username, password } = this.credentials();
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (basic) return safeEqual(Buffer.from(basic[1]!, 'base64').toString('utf8'), `${username}:${password}`);
    if (!/^Digest\s/i.test(header)) return false;
    const p = parseDigest(header.slice(7));
    const issued = p['nonce'] === undefined ? undefined : this.nonces.get(p['nonce']);
    if (issued === undefined || Date.now() - issued > NONCE_TTL_MS) return false;
    if (p['username'] !== username || p['realm'] !== this.realm || !p['uri'] || !p['response']) return false;
    const algorithm = (p['algorithm'] ?? 'MD5').toUpperCase();
    if (algorithm !== 'MD5' && algorithm !== 'SHA-256') return false;
    const h = (s: string): string => createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(s, 'utf8').digest('hex');
    const ha1 = h(`${username}:${this.realm}:${password}`);
    const ha2 = h(`${method}:${p['uri']}`);
    const expected = p['qop'] ? h(`${ha1}:${p['nonce']}:${p['nc'] ?? ''}:${p['cnonce'] ?? ''}:${p['qop']}:${ha2}`) : h(`${ha1}:${p['nonce']}:${ha2}`);
    return safeEqual(p['response'].toLowerCase(), expected);
  }
}

function parseDigest(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s,]*))/g)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
