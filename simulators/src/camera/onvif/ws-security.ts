/**
 * WS-Security UsernameToken with PasswordDigest, as ONVIF devices check it:
 *   digest = Base64(SHA1(nonce bytes + Created + password))
 * Created must be within MAX_SKEW_MS of the device clock (clients correct for the offset they
 * read with GetSystemDateAndTime), and a nonce is accepted once within that window (replay).
 * Plain-text passwords are refused. Why a token fails is told without saying whether the user
 * exists.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PASSWORD_DIGEST_TYPE, faults, type SoapFault } from './soap.js';
import { attr, path, text } from './xml.js';

export const MAX_SKEW_MS = 5 * 60_000;
const MAX_REMEMBERED_NONCES = 10_000;

export interface Credentials {
  username: string;
  password: string;
}

export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')])).digest('base64');
}

export class UsernameTokenVerifier {
  /** nonce -> Created time (ms), oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly credentials: () => Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  /** Undefined when the SOAP header carries a valid token for the device's credentials, else the fault. */
  check(header: unknown): SoapFault | undefined {
    const token = path(header, 'Security', 'UsernameToken');
    if (token === undefined) return faults.notAuthorized('no WS-Security UsernameToken');
    const username = text(path(token, 'Username'));
    const passwordNode = path(token, 'Password');
    const password = text(passwordNode);
    const nonceB64 = text(path(token, 'Nonce'));
    const created = text(path(token, 'Created'));
    if (!username || !password) return faults.notAuthorized('UsernameToken without Username or Password');
    const type = attr(passwordNode, 'Type');
    if (type !== undefined && type !== PASSWORD_DIGEST_TYPE) return faults.notAuthorized('only PasswordDigest is accepted');
    if (type === undefined || !nonceB64 || !created) return faults.notAuthorized('PasswordDigest needs Nonce and Created');
    const createdMs = Date.parse(created);
    if (!Number.isFinite(createdMs)) return faults.notAuthorized(`Created '${created.slice(0, 40)}' is not a date-time`);
    const now = this.now();
    if (Math.abs(createdMs - now) > MAX_SKEW_MS) return faults.notAuthorized(`Created ${created.slice(0, 40)} is more than ${MAX_SKEW_MS / 60_000} min from device time ${new Date(now).toISOString()}`);
    const expected = this.credentials();
    const nonce = Buffer.from(nonceB64, 'base64');
    const want = Buffer.from(passwordDigest(nonce, created, expected.password), 'base64');
    const got = Buffer.from(password, 'base64');
    const userOk = username === expected.username;
    const digestOk = got.length === want.length && timingSafeEqual(got, want);
    if (!userOk || !digestOk) return faults.notAuthorized('wrong username or password');
    if (this.seen.has(nonceB64)) return faults.notAuthorized('nonce already used');
    this.remember(nonceB64, now);
    return undefined;
  }

  private remember(nonce: string, now: number): void {
    this.seen.set(nonce, now);
    for (const [n, at] of this.seen) {
      if (this.seen.size <= MAX_REMEMBERED_NONCES && now - at <= MAX_SKEW_MS * 2) break;
      this.seen.delete(n);
    }
  }
}
