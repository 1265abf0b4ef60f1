/**
 * From a schema-valid profile file to a DeviceProfile: expands per-lane resources into one point
 * per lane, fills in defaults, and checks the rules that span fields (overlapping registers,
 * counters, lanes, writability).
 */
import { isWritableTable, registerCount, tableTypeMismatch, type ModbusTable, type RawType } from '@quanlink/firmware-bridge';
import type { ProfileSource, ResourceSource } from './schema.js';
import { resolveSign } from './sign.js';
import { resolveIdentify } from './identify.js';
import { resolveFirmware } from './firmware.js';
import type { DeviceProfile, ResolvedPoint } from './types.js';

export type FieldPath = readonly (string | number)[];
/** Reports a problem at a field of the source and does not return. */
export type Fail = (path: FieldPath, problem: string) => never;

const COUNTER_TYPES: readonly RawType[] = ['uint16', 'uint32', 'uint64'];

interface Placed {
  point: ResolvedPoint;
  resourceIndex: number;
  start: number;
  end: number;
}

export function resolveProfile(source: ProfileSource, file: string, fail: Fail): DeviceProfile {
  const sign = resolveSign(source, fail);
  if (source.kind === 'camera' && source.resources) fail(['resources'], 'a camera has no Modbus resources (its video is configured in the device binding)');
  if (!source.resources && source.kind === 'loop-detector') fail(['resources'], 'is missing');
  const resources = source.resources ?? [];
  const firstIndexOf = new Map<string, number>();
  resources.forEach((resource, i) => {
    const earlier = firstIndexOf.get(resource.name);
    if (earlier !== undefined) fail(['resources', i, 'name'], `duplicate resource name '${resource.name}' (also resources[${earlier}])`);
    firstIndexOf.set(resource.name, i);
  });

  const placed: Placed[] = [];
  resources.forEach((resource, i) => {
    checkResource(source, resource, i, fail);
    for (const point of expand(source, resource)) {
      const end = point.wire.address + registerCount(point.wire.type);
      if (end > 0x10000) {
        fail(['resources', i, 'wire', 'address'], `${point.key}: ${point.wire.type} at address ${point.wire.address} runs past the last address 65535`);
      }
      placed.push({ point, resourceIndex: i, start: point.wire.address, end });
    }
  });
  checkOverlaps(placed, fail);

  const profile: DeviceProfile = {
    id: source.id,
    kind: source.kind,
    manufacturer: source.manufacturer,
    model: source.model,
    protocol: source.protocol,
    points: placed.map((p) => p.point),
    source: file,
  };
  if (source.description !== undefined) profile.description = source.description;
  if (source.lanes) profile.lanes = source.lanes.count;
  if (source.modbus) profile.modbus = { ...source.modbus };
  if (sign) profile.sign = sign;
  if (source.identify) profile.identify = resolveIdentify(source.identify, source.protocol, profile.points, fail);
  if (source.firmware) profile.firmware = resolveFirmware(source.firmware, source.protocol, profile.points, sign, fail);
  return profile;
}

function checkResource(source: ProfileSource, resource: ResourceSource, i: number, fail: Fail): void {
  const at = (...rest: string[]): FieldPath => ['resources', i, ...rest];
  const { table, type } = resource.wire;
  const mismatch = tableTypeMismatch(table, type);
  if (mismatch) fail(at('wire', 'type'), mismatch);
  if (resource.perLane && !source.lanes) fail(at('perLane'), 'a per-lane resource needs lanes: { count, stride } at the top of the profile');

  // The schema has already refused non-finite numbers (.inf, .nan).
  const value = resource.value ?? {};
  if (value.scale === 0) fail(at('value', 'scale'), 'must not be 0: every value would read as the offset');
  if (value.min !== undefined && value.max !== undefined && value.min > value.max) fail(at('value', 'min'), `min ${value.min} is above max ${value.max}`);
  if (value.cumulative && !COUNTER_TYPES.includes(type)) {
    fail(at('value', 'cumulative'), `a cumulative counter must be an unsigned integer (${COUNTER_TYPES.join(', ')}), not ${type}`);
  }
  if (value.writable && !isWritableTable(table)) fail(at('value', 'writable'), `a ${table} is read-only; only coils and holding registers can be writable`);
}

function* expand(source: ProfileSource, resource: ResourceSource): Generator<ResolvedPoint> {
  const lanes = resource.perLane && source.lanes ? source.lanes : undefined;
  if (!lanes) {
    yield point(source, resource, resource.name, resource.wire.address);
    return;
  }
  for (let lane = 1; lane <= lanes.count; lane++) {
    yield point(source, resource, `lane${lane}.${resource.name}`, resource.wire.address + (lane - 1) * lanes.stride, lane);
  }
}

function point(source: ProfileSource, resource: ResourceSource, key: string, address: number, lane?: number): ResolvedPoint {
  const { table, type } = resource.wire;
  const value = resource.value ?? {};
  const cumulative = value.cumulative ?? false;
  const resolved: ResolvedPoint = {
    key,
    resource: resource.name,
    wire: {
      table,
      address,
      type,
      byteOrder: resource.wire.byteOrder ?? source.wire?.byteOrder ?? 'big',
      wordOrder: resource.wire.wordOrder ?? source.wire?.wordOrder ?? 'big',
    },
    scale: value.scale ?? 1,
    offset: value.offset ?? 0,
    cumulative,
    writable: value.writable ?? false,
  };
  if (lane !== undefined) resolved.lane = lane;
  if (value.unit !== undefined) resolved.unit = value.unit;
  if (value.quantity !== undefined) resolved.quantity = value.quantity;
  if (cumulative) resolved.counterBits = registerCount(type) * 16;
  if (value.min !== undefined) resolved.min = value.min;
  if (value.max !== undefined) resolved.max = value.max;
  if (resource.description !== undefined) resolved.description = resource.description;
  return resolved;
}

/** Two points may not share a register (or bit) of the same table; the later resource is blamed. */
function checkOverlaps(placed: readonly Placed[], fail: Fail): void {
  const byTable = new Map<ModbusTable, Placed[]>();
  for (const p of placed) byTable.set(p.point.wire.table, [...(byTable.get(p.point.wire.table) ?? []), p]);
  for (const [table, list] of byTable) {
    const sorted = [...list].sort((a, b) => a.start - b.start || a.end - b.end);
    let reach: Placed | undefined; // the point reaching furthest so far
    for (const p of sorted) {
      if (reach && p.start < reach.end) {
        const later = p.resourceIndex >= reach.resourceIndex ? p : reach;
        const other = later === p ? reach : p;
        fail(
          ['resources', later.resourceIndex, 'wire', 'address'],
          `${later.point.key} (${table} ${span(later)}) overlaps ${other.point.key} (${table} ${span(other)})`,
        );
      }
      if (!reach || p.end > reach.end) reach = p;
    }
  }
}

const span = (p: Placed): string => (p.end - p.start === 1 ? `${p.start}` : `${p.start}..${p.end - 1}`);
