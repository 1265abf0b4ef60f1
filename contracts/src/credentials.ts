/**
 * Gateway credentials: the `credentials.rotate` command carries a new MQTT password over the
 * gateway's own authenticated downlink; the gateway stores it and reconnects with it, and the cloud
 * drops the old password once the gateway has connected with the new one.
 */
import { Type, type Static } from '@sinclair/typebox';

export const CredentialsRotateArgs = Type.Object(
  {
    /** The new password (the cloud keeps only its hash). */
    password: Type.String({ minLength: 12, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type CredentialsRotateArgs = Static<typeof CredentialsRotateArgs>;
