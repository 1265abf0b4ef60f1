/**
 * Device firmware updates: the device.firmware.apply command and the firmware.status event. A
 * firmware bundle is an update bundle (updates.ts) of product device-firmware whose manifest names the
 * target profile; its one file is the image the gateway transfers to the device as its profile says.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BundleReference, VERSION_PATTERN } from './updates.js';

const DeviceIdField = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });
const UpdateIdField = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** device.firmware.apply: update one device's firmware (the gateway downloads the bundle from `url` as itself). */
export const DeviceFirmwareApplyArgs = Type.Object(
  { device: DeviceIdField, ...BundleReference },
  { additionalProperties: false },
);
export type DeviceFirmwareApplyArgs = Static<typeof DeviceFirmwareApplyArgs>;

export const FIRMWARE_STATES = ['downloading', 'verifying', 'transferring', 'rebooting', 'healthy', 'failed'] as const;
export type FirmwareUpdateState = (typeof FIRMWARE_STATES)[number];

/** firmware.status (the event's `device` names the device): how a firmware update goes; failed carries the reason. */
export const FirmwareStatusData = Type.Object(
  {
    updateId: UpdateIdField,
    version: Type.String({ pattern: VERSION_PATTERN }),
    state: Type.Union(FIRMWARE_STATES.map((s) => Type.Literal(s))),
    /** transferring: share of the image the device has taken, 0-100. */
    percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type FirmwareStatusData = Static<typeof FirmwareStatusData>;
