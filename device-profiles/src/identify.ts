/**
 * `identify`: how a technician's scan tells this device model from others on a Modbus line. A
 * profile lists checks, all of which must hold: registers that must read as given words (a model
 * id the device serves as constants), registers within a range, or a resource's values (every lane
 * of a per-lane one) within limits (default the resource's own min/max): a plausibility check of the
 * register layout. A model-id check makes a match certain; layout checks alone make it likely.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MODBUS_TABLES, isBitTable, registerCount, type ModbusTable } from '@quanlink/firmware-bridge';
import type { Fail, FieldPath } from './resolve.js';
import type { ResolvedPoint } from './types.js';

const strict = { additionalProperties: false } as const;

export const IdentifyCheckSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 200, description: 'what the check proves, e.g. model id' })),
    table: Type.Optional(Type.Union(MODBUS_TABLES.map((t) => Type.Literal(t)), { description: 'Modbus table of a raw read' })),
    address: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff, description: '0-based protocol address of a raw read' })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 125, description: 'registers (or bits) to read; default the length of equals, else 1' })),
    resource: Type.Optional(Type.String({ minLength: 1, maxLength: 48, description: 'a resource of this profile: all its points are read and decoded' })),
    equals: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 0xffff }), { minItems: 1, maxItems: 125, description: 'raw words the read must return' })),
    min: Type.Optional(Type.Number({ description: 'lowest value allowed (raw for a read, engineering for a resource)' })),
    max: Type.Optional(Type.Number({ description: 'highest value allowed' })),
  },
  strict,
);

export const IdentifySchema = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 500 })),
    checks: Type.Array(IdentifyCheckSchema, { minItems: 1, maxItems: 32 }),
  },
  strict,
);
export type IdentifySource = Static<typeof IdentifySchema>;

interface Limits {
  min?: number;
  max?: number;
  description?: string;
}

/** A raw read: `equals` words exactly, or every word within min..max. */
export interface IdentifyRegisterCheck extends Limits {
  kind: 'registers';
  table: ModbusTable;
  address: number;
  count: number;
  equals?: number[];
}

/** Every point of a resource read and decoded through the profile, within min..max. */
export interface IdentifyResourceCheck extends Limits {
  kind: 'resource';
  resource: string;
  points: ResolvedPoint[];
}

export type IdentifyCheck = IdentifyRegisterCheck | IdentifyResourceCheck;

export interface IdentifySpec {
  description?: string;
  checks: IdentifyCheck[];
}

/** Checks the identify section against the rest of the profile and resolves resource names to points. */
export function resolveIdentify(identify: IdentifySource, protocol: string, points: readonly ResolvedPoint[], fail: Fail): IdentifySpec {
  if (protocol !== 'modbus') fail(['identify'], `only a Modbus profile can be identified by reading registers, this one speaks ${protocol}`);
  const checks = identify.checks.map((check, i): IdentifyCheck => {
    const at = (...rest: string[]): FieldPath => ['identify', 'checks', i, ...rest];
    const limits: Limits = {
      ...(check.min !== undefined ? { min: check.min } : {}),
      ...(check.max !== undefined ? { max: check.max } : {}),
      ...(check.description !== undefined ? { description: check.description } : {}),
    };
    if (check.min !== undefined && check.max !== undefined && check.min > check.max) fail(at('min'), `min ${check.min} is above max ${check.max}`);
    if (check.resource !== undefined) {
      if (check.table !== undefined || check.address !== undefined || check.count !== undefined) fail(at('resource'), 'give either resource or table/address/count, not both');
      if (check.equals !== undefined) fail(at('equals'), 'equals is for raw reads (table, address); a resource check takes min/max');
      const of = points.filter((p) => p.resource === check.resource);
      if (of.length === 0) fail(at('resource'), `no resource '${check.resource}' in this profile (known: ${[...new Set(points.map((p) => p.resource))].join(', ') || 'none'})`);
      return { kind: 'resource', resource: check.resource, points: of, ...limits };
    }
    if (check.table === undefined) fail(at('table'), 'is missing (give table and address, or resource)');
    if (check.address === undefined) fail(at('address'), 'is missing (give table and address, or resource)');
    const count = check.count ?? check.equals?.length ?? 1;
    if (check.equals !== undefined) {
      if (check.equals.length !== count) fail(at('equals'), `has ${check.equals.length} values but count is ${count}`);
      if (check.min !== undefined || check.max !== undefined) fail(at('equals'), 'give equals or min/max, not both');
      if (isBitTable(check.table!) && check.equals.some((v) => v > 1)) fail(at('equals'), `a ${check.table} holds bits: values must be 0 or 1`);
    }
    if (check.address! + count > 0x10000) fail(at('count'), `${count} from address ${check.address} runs past the last address 65535`);
    if (check.equals !== undefined) {
      // Constants the device serves as they are: they cannot also be a measured value.
      const clash = points.find((p) => p.wire.table === check.table && p.wire.address < check.address! + count && check.address! < p.wire.address + registerCount(p.wire.type));
      if (clash) fail(at('address'), `the constant ${check.table} ${check.address}+${count} overlaps point ${clash.key} (${clash.wire.table} ${clash.wire.address})`);
    }
    return { kind: 'registers', table: check.table!, address: check.address!, count, ...(check.equals ? { equals: [...check.equals] } : {}), ...limits };
  });
  return { ...(identify.description !== undefined ? { description: identify.description } : {}), checks };
}

/**
 * The constant words a device of this profile serves to say what it is (the `equals` reads):
 * a simulator of the profile answers them, so that scans identify it as the profile says.
 */
export function identifyConstants(spec: IdentifySpec | undefined): { table: ModbusTable; address: number; words: number[] }[] {
  return (spec?.checks ?? []).flatMap((c) => (c.kind === 'registers' && c.equals ? [{ table: c.table, address: c.address, words: c.equals }] : []));
}
