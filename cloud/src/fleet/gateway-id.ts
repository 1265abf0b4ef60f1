/** Which id an enrolling gateway gets, from what its token allows and what it asks for. */
import { randomBytes } from 'node:crypto';
import { GATEWAY_ID_PATTERN, isValidGatewayId } from '@quanlink/contracts';
import { EnrolmentRefusedError } from './types.js';

/** A prefix that leaves room for a generated suffix within the gateway id pattern. */
export const GATEWAY_ID_PREFIX_PATTERN = '^[a-z0-9][a-z0-9_-]{0,47}$';

export interface TokenIdRule {
  gatewayId: string | null;
  gatewayIdPrefix: string | null;
}

/** The id, or an EnrolmentRefusedError saying why the requested one does not fit the token. */
export function chooseGatewayId(token: TokenIdRule, requested: string | undefined, suffix = () => randomBytes(4).toString('hex')): string {
  if (requested !== undefined && !isValidGatewayId(requested)) {
    throw new EnrolmentRefusedError('gateway-id', `gateway id '${requested}' is invalid: must match ${GATEWAY_ID_PATTERN}`);
  }
  if (token.gatewayId !== null) {
    if (requested !== undefined && requested !== token.gatewayId) {
      throw new EnrolmentRefusedError('gateway-id', `this enrolment token is for gateway '${token.gatewayId}', not '${requested}'`);
    }
    return token.gatewayId;
  }
  if (token.gatewayIdPrefix !== null) {
    if (requested === undefined) return `${token.gatewayIdPrefix}${suffix()}`;
    if (!requested.startsWith(token.gatewayIdPrefix)) {
      throw new EnrolmentRefusedError('gateway-id', `this enrolment token allows only gateway ids starting with '${token.gatewayIdPrefix}', not '${requested}'`);
    }
    return requested;
  }
  return requested ?? `gw-${suffix()}`;
}
