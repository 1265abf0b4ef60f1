/**
 * Matching a Modbus unit against the profiles that say how to identify them (the profile's
 * `identify` checks): every check must hold. A model-id check makes the match 'high', layout
 * checks alone 'medium'. A failed check gives the reason, naming the check and what was read.
 */
import type { DeviceProfile, IdentifyCheck, ResolvedPoint } from '@quanlink/device-profiles';
import { DeviceError, isBitTable, type ModbusTable, type ProtocolDriver } from '@quanlink/firmware-bridge';

export type Confidence = 'high' | 'medium';

export interface ProfileMatch {
  profile: string;
  kind: string;
  confidence: Confidence;
}

export interface ProfileMiss {
  profile: string;
  reason: string;
}

/** Reads of one unit, cached: several profiles often ask for the same registers. */
export class UnitReader {
  private readonly cache = new Map<string, Promise<number[]>>();

  constructor(
    readonly driver: ProtocolDriver,
    /** Names the unit in reasons, e.g. modbus-tcp://10.0.0.5:502/1. */
    readonly endpoint: string,
  ) {}

  /** Raw words (bits as 0/1) of `count` consecutive addresses; throws the driver's DeviceError. */
  read(table: ModbusTable, address: number, count: number): Promise<number[]> {
    const key = `${table}:${address}:${count}`;
    let pending = this.cache.get(key);
    if (!pending) {
      const type = isBitTable(table) ? 'bool' : 'uint16';
      const refs = Array.from({ length: count }, (_, i) => ({ key: String(i), wire: { table, address: address + i, type, byteOrder: 'big', wordOrder: 'big' } as const }));
      pending = this.driver.read(refs).then((values) => refs.map((r) => values.get(r.key) ?? 0));
      this.cache.set(key, pending);
    }
    return pending;
  }

  /** Engineering values (raw * scale + offset) of profile points. */
  async values(points: readonly ResolvedPoint[]): Promise<Map<ResolvedPoint, number>> {
    const raw = await this.driver.read(points.map((p) => ({ key: p.key, wire: p.wire })));
    return new Map(points.map((p) => [p, Math.round(((raw.get(p.key) ?? 0) * p.scale + p.offset) * 1e6) / 1e6]));
  }
}

const hex = (words: readonly number[]): string => words.map((w) => `0x${w.toString(16).padStart(4, '0')}`).join(' ');

function describeCheck(check: IdentifyCheck): string {
  const what = check.kind === 'registers' ? `${check.table} ${check.address}${check.count > 1 ? `+${check.count}` : ''}` : check.resource;
  return check.description ? `${check.description} (${what})` : what;
}

function outside(value: number, min: number | undefined, max: number | undefined): boolean {
  return (min !== undefined && value < min) || (max !== undefined && value > max);
}

const range = (min: number | undefined, max: number | undefined): string => `${min ?? '-inf'}..${max ?? 'inf'}`;

/** Undefined when the check holds, else why not. */
async function runCheck(reader: UnitReader, check: IdentifyCheck): Promise<string | undefined> {
  try {
    if (check.kind === 'registers') {
      const words = await reader.read(check.table, check.address, check.count);
      if (check.equals) return words.every((w, i) => w === check.equals![i]) ? undefined : `read ${hex(words)}, expected ${hex(check.equals)}`;
      const bad = words.findIndex((w) => outside(w, check.min, check.max));
      return bad < 0 ? undefined : `${check.table} ${check.address + bad} = ${words[bad]}, outside ${range(check.min, check.max)}`;
    }
    const values = await reader.values(check.points);
    for (const [point, value] of values) {
      const min = check.min ?? point.min;
      const max = check.max ?? point.max;
      if (outside(value, min, max)) return `${point.key} = ${value}, outside ${range(min, max)}`;
    }
    return undefined;
  } catch (err) {
    if (err instanceof DeviceError) return err.detail;
    throw err;
  }
}

/** Whether the unit is a device of this profile: every identify check holds. */
export async function matchProfile(reader: UnitReader, profile: DeviceProfile): Promise<{ confidence: Confidence } | { reason: string }> {
  const checks = profile.identify?.checks;
  if (!checks?.length) return { reason: `profile ${profile.id} does not say how to identify it` };
  for (const check of checks) {
    const problem = await runCheck(reader, check);
    if (problem) return { reason: `${describeCheck(check)}: ${problem}` };
  }
  return { confidence: checks.some((c) => c.kind === 'registers' && c.equals) ? 'high' : 'medium' };
}

/** Every identifiable Modbus profile tried on one unit: the matches (best first) and why the others did not match. */
export async function identifyUnit(reader: UnitReader, profiles: readonly DeviceProfile[]): Promise<{ matches: ProfileMatch[]; misses: ProfileMiss[] }> {
  const matches: ProfileMatch[] = [];
  const misses: ProfileMiss[] = [];
  for (const profile of profiles) {
    if (profile.protocol !== 'modbus' || !profile.identify) continue;
    const result = await matchProfile(reader, profile);
    if ('confidence' in result) matches.push({ profile: profile.id, kind: profile.kind, confidence: result.confidence });
    else misses.push({ profile: profile.id, reason: result.reason });
  }
  matches.sort((a, b) => (a.confidence === b.confidence ? 0 : a.confidence === 'high' ? -1 : 1));
  return { matches, misses };
}
