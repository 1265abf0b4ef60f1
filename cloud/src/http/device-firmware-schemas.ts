/** Schemas of the per-device firmware routes. */
import { Type, type Static } from '@sinclair/typebox';
import { FIRMWARE_STATES, VERSION_PATTERN } from '@quanlink/contracts';

export const ApplyFirmwareBody = Type.Object({ updateId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }, { additionalProperties: false });
export type ApplyFirmwareBody = Static<typeof ApplyFirmwareBody>;

export const ApplyFirmwareView = Type.Object({
  accepted: Type.Literal(true),
  gatewayId: Type.String(),
  deviceId: Type.String(),
  updateId: Type.String(),
  version: Type.String({ pattern: VERSION_PATTERN }),
  profile: Type.String(),
});

const FirmwareState = Type.Union(FIRMWARE_STATES.map((s) => Type.Literal(s)));

export const FirmwareStatusEntry = Type.Object({
  at: Type.Integer(),
  updateId: Type.String(),
  version: Type.String(),
  state: FirmwareState,
  percent: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
});

export const DeviceFirmwareView = Type.Object({
  gatewayId: Type.String(),
  deviceId: Type.String(),
  profile: Type.Union([Type.String(), Type.Null()]),
  /** The latest firmware.status the gateway reported for the device, null when none yet. */
  latest: Type.Union([FirmwareStatusEntry, Type.Null()]),
  /** Every report of the latest update, oldest first. */
  history: Type.Array(FirmwareStatusEntry),
});
