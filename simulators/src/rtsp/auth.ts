/**
 * RTSP authentication as IP cameras do it: HTTP Digest (RFC 2617, MD5, with or without
 * qop=auth) and Basic. Nonces are stateless: a timestamp signed with a per-server key, so any
 * nonce this server issued within the lifetime is accepted and nothing has to be stored.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  username: string;
  password: string;
}

export type AuthCheck =
  | { ok: true; username: string }
  /** missing: no Authorization header (the normal first request); the others are failed attempts. */
  | { ok: false; reason: 'missing' | 'malformed' | 'unsupported scheme' | 'wrong credentials' | 'stale nonce'; username?: string };

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** RFC 2617 §3.2.2 request-digest. */
export function digestResponse(p: { username: string; realm: string; password: string; method: string; uri: string; nonce: string; qop?: string; nc?: string; cnonce?: string }): string {
  const ha1 = md5(`${p.username}:${p.realm}:${p.password}`);
  const ha2 = md5(`${p.method}:${p.uri}`);
  return p.qop ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
}

/** Parameters of an auth header (`name=token` or `name="quoted \"string\""`, comma-separated); undefined if malformed. */
export function parseAuthParams(text: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m || re.lastIndex === pos) return undefined;
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    pos = re.lastIndex;
  }
  return params;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class RtspAuthenticator {
  private readonly key = randomBytes(32);

  constructor(
    private readonly credentials: Credentials,
    readonly realm = 'Quanlink camera simulator',
    private readonly nonceLifetimeMs = 5 * 60_000,
  ) {}

  /** WWW-Authenticate values for a 401: Digest first (what clients should pick), Basic for the simple ones. */
  challenge(stale = false): string[] {
    return [`Digest realm="${this.realm}", nonce="${this.newNonce()}"${stale ? ', stale=TRUE' : ''}, algorithm=MD5`, `Basic realm="${this.realm}"`];
  }

  check(method: string, authorization: string | undefined): AuthCheck {
    if (authorization === undefined) return { ok: false, reason: 'missing' };
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'basic') return this.checkBasic(rest);
    if (scheme === 'digest') return this.checkDigest(method, rest);
    return { ok: false, reason: 'unsupported scheme' };
  }

  private checkBasic(token: string): AuthCheck {
    if (!/^[A-Za-z0-9+/]+=*$/.test(token)) return { ok: false, reason: 'malformed' };
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, reason: 'malformed' };
    const username = decoded.slice(0, colon);
    const userOk = sameText(username, this.credentials.username);
    const passOk = sameText(decoded.slice(colon + 1), this.credentials.password);
    return userOk && passOk ? { ok: true, username } : { ok: false, reason: 'wrong credentials', username };
  }

  private checkDigest(method: string, text: string): AuthCheck {
    const p = parseAuthParams(text);
    const username = p?.get('username');
    const nonce = p?.get('nonce');
    const uri = p?.get('uri');
    const response = p?.get('response');
    if (!p || username === undefined || nonce === undefined || uri === undefined || response === undefined) return { ok: false, reason: 'malformed', ...(username !== undefined && { username }) };
    const qop = p.get('qop');
    const algorithm = p.get('algorithm');
    if ((algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') || (qop !== undefined && qop !== 'auth') || p.get('realm') !== this.realm) {
      return { ok: false, reason: 'wrong credentials', username };
    }
    const expected = digestResponse({ ...this.credentials, realm: this.realm, method, uri, nonce, ...(qop !== undefined && { qop, nc: p.get('nc') ?? '', cnonce: p.get('cnonce') ?? '' }) });
    const right = sameText(username, this.credentials.username) && sameText(response.toLowerCase(), expected);
    if (!right) return { ok: false, reason: 'wrong credentials', username };
    // Only a correct answer to an expired nonce is "stale" (RFC 2617 §3.2.1): the client retries silently.
    if (!this.nonceValid(nonce)) return { ok: false, reason: 'stale nonce', username };
    return { ok: true, username };
  }

  private sign(issuedHex: string): string {
    return createHmac('sha256', this.key).update(issuedHex).digest('hex').slice(0, 32);
  }

  private newNonce(): string {
    const issued = Date.now().toString(16).padStart(12, '0');
    return issued + this.sign(issued);
  }

  private nonceValid(nonce: string): boolean {
    if (!/^[0-9a-f]{44}$/.test(nonce)) return false;
    const issued = nonce.slice(0, 12);
    if (!sameText(nonce.slice(12), this.sign(issued))) return false;
    const age = Date.now() - parseInt(issued, 16);
    return age >= -60_000 && age <= this.nonceLifetimeMs;
  }
}
