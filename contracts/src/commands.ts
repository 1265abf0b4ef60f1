/** Every command the cloud sends a gateway, by name, with the schema of its args. */
import { SIGN_COMMAND_ARGS } from './signs.js';
import { SnapshotGetArgs } from './video.js';
import { ConfigApplyArgs } from './config.js';
import { UpdateApplyArgs } from './updates.js';
import { CredentialsRotateArgs } from './credentials.js';
import { DeviceFirmwareApplyArgs } from './device-firmware.js';

export const COMMAND_ARGS = {
  ...SIGN_COMMAND_ARGS,
  'snapshot.get': SnapshotGetArgs,
  'config.apply': ConfigApplyArgs,
  'update.apply': UpdateApplyArgs,
  'credentials.rotate': CredentialsRotateArgs,
  'device.firmware.apply': DeviceFirmwareApplyArgs,
} as const;
export type CommandName = keyof typeof COMMAND_ARGS;
