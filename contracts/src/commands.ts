/** Every command the cloud sends a gateway, by name, with the schema of its args. */
import { SIGN_COMMAND_ARGS } from './signs.js';
import { SnapshotGetArgs } from './video.js';

export const COMMAND_ARGS = {
  ...SIGN_COMMAND_ARGS,
  'snapshot.get': SnapshotGetArgs,
} as const;
export type CommandName = keyof typeof COMMAND_ARGS;
