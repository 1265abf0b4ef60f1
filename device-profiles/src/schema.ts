/**
 * The profile file format (YAML), version 1: what a file may say, field by field. Modelled on
 * EdgeX device profiles: each resource keeps where the value lives on the wire apart from what it means.
 * Rules that span fields (overlaps, lanes, counters) are checked in resolve.ts.
 */
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { MODBUS_TABLES, RAW_TYPES } from '@quanlink/firmware-bridge';
import { SignCapabilitiesSchema } from '@quanlink/sign-content';
import { DEVICE_KINDS, PROTOCOLS } from './types.js';
import { IdentifySchema } from './identify.js';
import { FirmwareSchema } from './firmware.js';

export const PROFILE_SCHEMA_ID = 'quanlink/device-profile@1';
export const PROFILE_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{1,63}$';
/** Resource names become point keys `lane{n}.{name}`, which must stay within 64 characters. */
export const RESOURCE_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,47}$';

function oneOf<T extends string>(values: readonly T[], description: string): TUnion<TLiteral<T>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );
}

const Endianness = oneOf(['big', 'little'] as const, 'byte or word order');
const strict = { additionalProperties: false } as const;

export const WireSchema = Type.Object(
  {
    table: oneOf(MODBUS_TABLES, 'Modbus table'),
    address: Type.Integer({ minimum: 0, maximum: 0xffff, description: '0-based protocol address; for per-lane resources, lane 1' }),
    type: oneOf(RAW_TYPES, 'raw type on the wire'),
    byteOrder: Type.Optional(Endianness),
    wordOrder: Type.Optional(Endianness),
  },
  strict,
);

export const ValueSchema = Type.Object(
  {
    quantity: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,47}$', description: 'what is measured, e.g. vehicle-count' })),
    unit: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
    scale: Type.Optional(Type.Number({ description: 'engineering value = raw * scale + offset; default 1' })),
    offset: Type.Optional(Type.Number({ description: 'default 0' })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    cumulative: Type.Optional(Type.Boolean({ description: 'a counter that only grows and wraps at its raw type width' })),
    writable: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const ResourceSchema = Type.Object(
  {
    name: Type.String({ pattern: RESOURCE_NAME_PATTERN }),
    perLane: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    wire: WireSchema,
    value: Type.Optional(ValueSchema),
  },
  strict,
);

const RegisterAddress = (description: string) => Type.Integer({ minimum: 0, maximum: 0xffff, description });
const StatusBit = Type.Integer({ minimum: 0, maximum: 15, description: 'bit position in the status word' });

/**
 * `sign.modbus`: where a Modbus sign keeps its message and state (firmware-bridge ModbusSignWire).
 * The table follows from the meaning: what the driver writes is a holding register, what it
 * reads an input register.
 */
export const ModbusSignWireSchema = Type.Object(
  {
    messageArea: Type.Object(
      {
        address: RegisterAddress('first holding register of the message (UTF-8 MULTI, 2 bytes per register, big-endian)'),
        registers: Type.Integer({ minimum: 1, maximum: 0x10000, description: 'size of the message area in registers' }),
      },
      strict,
    ),
    messageLength: RegisterAddress('holding register: bytes of MULTI in the message area'),
    expectedCrc: RegisterAddress('holding register: CRC the sign must find over the message'),
    activate: RegisterAddress('holding register: 1 shows the message area, 0 blanks'),
    brightness: Type.Optional(RegisterAddress('holding register: brightness 0-100')),
    status: RegisterAddress('input register: status bit flags'),
    statusBits: Type.Object(
      { doorOpen: StatusBit, powerFault: StatusBit, controllerFault: StatusBit, pixelFailure: StatusBit, activationRejected: StatusBit },
      strict,
    ),
    pixelFailures: RegisterAddress('input register: failed pixels'),
    displayedCrc: RegisterAddress('input register: CRC of what is displayed, 0 when blank'),
    lastError: RegisterAddress('input register: 0 ok, 1 CRC mismatch, 2 MULTI syntax, 3 does not fit, 4 other'),
  },
  strict,
);

/** `sign.mqtt`: a sign speaking JSON over MQTT (see firmware-bridge mqtt-sign-driver.ts). */
export const MqttSignWireSchema = Type.Object(
  {
    topicBase: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[^#+]+$',
      description: "topic prefix of one sign; '{device}' is replaced by the device id, e.g. vms/{device}",
    }),
  },
  strict,
);

export const SignSectionSchema = Type.Object(
  {
    capabilities: SignCapabilitiesSchema,
    modbus: Type.Optional(ModbusSignWireSchema),
    mqtt: Type.Optional(MqttSignWireSchema),
  },
  strict,
);

export const ProfileSchema = Type.Object(
  {
    schema: Type.Literal(PROFILE_SCHEMA_ID),
    id: Type.String({ pattern: PROFILE_ID_PATTERN }),
    kind: oneOf(DEVICE_KINDS, 'device kind'),
    manufacturer: Type.String({ minLength: 1, maxLength: 100 }),
    model: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    protocol: oneOf(PROTOCOLS, 'how the device is reached'),
    /** Profile-wide defaults for resources that do not say. */
    wire: Type.Optional(Type.Object({ byteOrder: Type.Optional(Endianness), wordOrder: Type.Optional(Endianness) }, strict)),
    /** Per-lane blocks: lane n's address = address + (n - 1) * stride. */
    lanes: Type.Optional(Type.Object({ count: Type.Integer({ minimum: 1, maximum: 64 }), stride: Type.Integer({ minimum: 1, maximum: 0xffff }) }, strict)),
    /** How this device wants to be read; handed to the driver. */
    modbus: Type.Optional(
      Type.Object(
        {
          maxRegistersPerRead: Type.Optional(Type.Integer({ minimum: 4, maximum: 125 })),
          maxGap: Type.Optional(Type.Integer({ minimum: 0, maximum: 125 })),
        },
        strict,
      ),
    ),
    /** A guidance screen (kind vms): what it can show and how it is driven. */
    sign: Type.Optional(SignSectionSchema),
    /** How a scan tells this model from others on a Modbus line (see identify.ts). */
    identify: Type.Optional(IdentifySchema),
    /** How the device takes new firmware in the field (see firmware.ts); absent: it cannot be updated. */
    firmware: Type.Optional(FirmwareSchema),
    /** Modbus points; required for a loop detector; a vms has its wire in `sign`, a camera none. */
    resources: Type.Optional(Type.Array(ResourceSchema, { minItems: 1, maxItems: 1024 })),
  },
  strict,
);

export type ProfileSource = Static<typeof ProfileSchema>;
export type ResourceSource = Static<typeof ResourceSchema>;
export type SignSectionSource = Static<typeof SignSectionSchema>;

/** The schema of the field at `path` (object properties and array items), for error messages. */
export function schemaAt(root: TSchema, path: readonly (string | number)[]): TSchema | undefined {
  let schema: TSchema | undefined = root;
  for (const part of path) {
    if (!schema) return undefined;
    if (typeof part === 'number') schema = (schema as { items?: TSchema }).items;
    else schema = (schema as { properties?: Record<string, TSchema> }).properties?.[part];
  }
  return schema;
}
