/**
 * How the broker checks a gateway's password against the fleet's state: a revoked gateway is
 * refused whatever it sends; during a rotation the old and the new password both work, and the
 * first connect with the new one makes it the only one.
 */
import { verifySecret } from '../auth/secrets.js';
import type { CloudStore } from '../store/types.js';

export type GatewayPasswordCheck = 'ok' | 'unknown' | 'wrong' | 'revoked';

export async function checkGatewayPassword(store: CloudStore, gatewayId: string, secret: string, at = Date.now()): Promise<GatewayPasswordCheck> {
  const credentials = await store.fleet.gatewayCredentials(gatewayId);
  if (!credentials) return 'unknown';
  if (credentials.revoked) return 'revoked';
  if (await verifySecret(secret, credentials.passwordHash)) return stillAllowed(store, gatewayId);
  const pending = credentials.pendingPasswordHash;
  if (pending !== null && (await verifySecret(secret, pending))) {
    const verdict = await stillAllowed(store, gatewayId);
    if (verdict === 'ok') await store.fleet.completeRotation(gatewayId, pending, at);
    return verdict;
  }
  return 'wrong';
}

/** A revocation committed while the hash was being checked (tens of ms) must not let the connect through. */
async function stillAllowed(store: CloudStore, gatewayId: string): Promise<GatewayPasswordCheck> {
  const now = await store.fleet.gatewayCredentials(gatewayId);
  return now === undefined ? 'unknown' : now.revoked ? 'revoked' : 'ok';
}
