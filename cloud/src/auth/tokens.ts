/**
 * Bearer tokens of users: `qlk_ses_<id>_<secret>` (a login session) and `qlk_api_<id>_<secret>`
 * (an API token). The kind shows at a glance (in a leaked file, a secret scanner's rule); the id
 * is public and finds the row; the whole token's sha256 is what the store keeps and what a
 * presented token is compared with, in constant time.
 */
import { randomBytes } from 'node:crypto';
import { hashToken, secretsEqual } from './secrets.js';
import type { TokenKind } from './types.js';

const PREFIX: Record<TokenKind, string> = { session: 'qlk_ses_', api: 'qlk_api_' };
const FORMAT = /^qlk_(ses|api)_([0-9a-f]{16})_([A-Za-z0-9_-]{32})$/;

export interface IssuedToken {
  id: string;
  kind: TokenKind;
  /** The bearer token: shown once, never stored. */
  token: string;
  secretHash: string;
}

/** A fresh token: 64-bit id, 192-bit secret. */
export function issueToken(kind: TokenKind): IssuedToken {
  const id = randomBytes(8).toString('hex');
  const token = `${PREFIX[kind]}${id}_${randomBytes(24).toString('base64url')}`;
  return { id, kind, token, secretHash: hashToken(token) };
}

/** The kind and id of a well-formed user token, or undefined. */
export function parseToken(token: string): { kind: TokenKind; id: string } | undefined {
  const match = FORMAT.exec(token);
  if (!match) return undefined;
  return { kind: match[1] === 'ses' ? 'session' : 'api', id: match[2]! };
}

export function tokenMatches(token: string, secretHash: string): boolean {
  return secretsEqual(hashToken(token), secretHash);
}
