/**
 * The profile file format (YAML), version 1: what a file may say, field by field. Modelled on
 * EdgeX device profiles: each resource keeps where the value lives on the wire apart from what it means.
 * Rules that span fields (overlaps, lanes, counters) are checked in resolve.ts.
 */
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { MODBUS_TABLES, RAW_TYPES } from '@quanlink/firmware-bridge';
import { DEVICE_KINDS } from './types.js';

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

export const ProfileSchema = Type.Object(
  {
    schema: Type.Literal(PROFILE_SCHEMA_ID),
    id: Type.String({ pattern: PROFILE_ID_PATTERN }),
    kind: oneOf(DEVICE_KINDS, 'device kind'),
    manufacturer: Type.String({ minLength: 1, maxLength: 100 }),
    model: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    protocol: Type.Literal('modbus'),
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
    resources: Type.Array(ResourceSchema, { minItems: 1, maxItems: 1024 }),
  },
  strict,
);

export type ProfileSource = Static<typeof ProfileSchema>;
export type ResourceSource = Static<typeof ResourceSchema>;

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
