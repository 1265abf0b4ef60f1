import { randomBytes } from 'node:crypto';

/** A new outbox stream id: time-ordered prefix for humans, random tail for uniqueness. */
export function newStreamId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(6).toString('base64url')}`;
}
