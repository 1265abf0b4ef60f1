/** Enrolling a gateway: the one place a plain password exists, returned once and stored only as a hash. */
import { GATEWAY_ID_PATTERN, isValidGatewayId } from '@quanlink/contracts';
import { generateSecret, hashSecret } from './auth/secrets.js';
import type { CloudStore } from './store/types.js';

export interface GatewayCredentials {
  id: string;
  /** Shown only at creation; the store keeps the scrypt hash. */
  password: string;
}

export const MIN_PASSWORD_LENGTH = 12;

/** Registers a gateway (generating its password when none is given). Throws DuplicateGatewayError when the id is taken. */
export async function registerGateway(store: CloudStore, id: string, name?: string, password?: string): Promise<GatewayCredentials> {
  if (!isValidGatewayId(id)) throw new TypeError(`gateway id '${id}' is invalid: must match ${GATEWAY_ID_PATTERN}`);
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
    throw new TypeError(`password for gateway '${id}' is too short: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const secret = password ?? generateSecret();
  await store.addGateway({ id, name, passwordHash: await hashSecret(secret) });
  return { id, password: secret };
}
