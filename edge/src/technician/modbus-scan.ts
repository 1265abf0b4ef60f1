/**
 * The Modbus part of `discover`: for each target (a Modbus TCP host:port, an RTU line on a serial
 * port or behind a serial-to-Ethernet converter) and each unit id in the range, a cheap probe (one
 * holding register, short timeout: any answer, even a Modbus exception, means a device is there),
 * then identification against the profiles that say how (identify.ts). A target that refuses the
 * connection is reported once and its units are skipped.
 */
import type { DeviceProfile } from '@quanlink/device-profiles';
import {
  DeviceError,
  createModbusRtuDriver,
  createModbusTcpDriver,
  describeModbusEndpoint,
  openRtuOverTcpBus,
  openSerialBus,
  type ModbusBus,
  type ProtocolDriver,
} from '@quanlink/firmware-bridge';
import type { Transport } from '../config/index.js';
import { identifyUnit, UnitReader, type ProfileMatch, type ProfileMiss } from './identify.js';

export type ScanTarget =
  | { kind: 'modbus-tcp'; host: string; port: number }
  | { kind: 'modbus-rtu-tcp'; host: string; port: number; baudRate?: number }
  | { kind: 'modbus-rtu'; path: string; baudRate?: number };

export interface ScanOptions {
  targets: readonly ScanTarget[];
  units: { from: number; to: number };
  /** Per request, probe and identification reads alike. */
  timeoutMs: number;
  profiles: readonly DeviceProfile[];
  /** Modbus TCP units probed at once (one connection each); RTU lines are always one at a time. */
  concurrency?: number;
  /** Called once per unit probed or skipped. */
  onUnit?: (note: string) => void;
}

export interface FoundUnit {
  /** e.g. modbus-tcp://10.0.0.5:502/1 */
  address: string;
  unitId: number;
  /** The transport a binding of this unit takes (device add / bind). */
  transport: Transport;
  /** Profiles it matched, best first. */
  matches: ProfileMatch[];
  /** Identifiable profiles it did not match, with the reason. */
  misses: ProfileMiss[];
  /** What the probe saw. */
  probe: string;
}

export interface ScanResult {
  units: FoundUnit[];
  /** Targets that could not be reached at all. */
  unreachable: { target: string; reason: string }[];
}

export function describeTarget(target: ScanTarget): string {
  return target.kind === 'modbus-rtu' ? `${target.path}${target.baudRate ? `@${target.baudRate}` : ''}` : `${target.kind}://${target.host}:${target.port}`;
}

function transportOf(target: ScanTarget, unitId: number): Transport {
  const baud = target.kind !== 'modbus-tcp' && target.baudRate !== undefined ? { baudRate: target.baudRate } : {};
  if (target.kind === 'modbus-rtu') return { kind: 'modbus-rtu', path: target.path, unitId, ...baud };
  return { kind: target.kind, host: target.host, port: target.port, unitId, ...baud };
}

const unreachableCodes = new Set(['DeviceUnreachable']);

/** The driver's reconnect schedule means nothing to a one-shot scan. */
const withoutRetry = (detail: string): string => detail.replace(/; next attempt in \d+ ms$/, '');

/** Probes one unit through its driver; undefined when nothing answered. */
async function probeUnit(driver: ProtocolDriver, target: ScanTarget, unitId: number, profiles: readonly DeviceProfile[]): Promise<FoundUnit | undefined> {
  const address = describeModbusEndpoint(transportOf(target, unitId) as Parameters<typeof describeModbusEndpoint>[0]);
  const reader = new UnitReader(driver, address);
  let probe: string;
  try {
    const [word] = await reader.read('holding-register', 0, 1);
    probe = `holding-register 0 = ${word}`;
  } catch (err) {
    if (!(err instanceof DeviceError)) throw err;
    if (err.code === 'DeviceTimeout') return undefined;
    if (unreachableCodes.has(err.code)) throw err;
    // An exception answer is an answer: a device is there, it just keeps nothing at holding register 0.
    probe = `holding-register 0: ${err.detail}`;
  }
  const { matches, misses } = await identifyUnit(reader, profiles);
  return { address, unitId, transport: transportOf(target, unitId), matches, misses, probe };
}

export async function scanModbus(options: ScanOptions): Promise<ScanResult> {
  const result: ScanResult = { units: [], unreachable: [] };
  const unitIds = Array.from({ length: options.units.to - options.units.from + 1 }, (_, i) => options.units.from + i);
  for (const target of options.targets) {
    if (target.kind === 'modbus-tcp') await scanTcp(target, unitIds, options, result);
    else await scanRtu(target, unitIds, options, result);
  }
  result.units.sort((a, b) => a.address.localeCompare(b.address, undefined, { numeric: true }));
  return result;
}

async function scanTcp(target: Extract<ScanTarget, { kind: 'modbus-tcp' }>, unitIds: number[], options: ScanOptions, result: ScanResult): Promise<void> {
  let refused: string | undefined;
  const probeOne = async (unitId: number): Promise<void> => {
    if (refused) {
      options.onUnit?.(`${describeTarget(target)} unreachable`);
      return;
    }
    // One connection per unit: the driver speaks for one unit id, and a silent unit costs only its timeout.
    const driver = createModbusTcpDriver({ host: target.host, port: target.port, unitId, timeoutMs: options.timeoutMs, device: `${describeTarget(target)}/${unitId}` });
    try {
      const found = await probeUnit(driver, target, unitId, options.profiles);
      if (found) result.units.push(found);
      options.onUnit?.(`${describeTarget(target)}/${unitId}${found ? ' answered' : ''}`);
    } catch (err) {
      if (!(err instanceof DeviceError)) throw err;
      refused ??= withoutRetry(err.detail);
      options.onUnit?.(`${describeTarget(target)} unreachable`);
    } finally {
      await driver.close();
    }
  };
  // The first unit alone: a refused connection is then found once, not by every worker at once.
  const [first, ...queue] = unitIds;
  if (first !== undefined) await probeOne(first);
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, queue.length));
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let unitId = queue.shift(); unitId !== undefined; unitId = queue.shift()) await probeOne(unitId);
    }),
  );
  if (refused) result.unreachable.push({ target: describeTarget(target), reason: refused });
}

async function scanRtu(target: Exclude<ScanTarget, { kind: 'modbus-tcp' }>, unitIds: number[], options: ScanOptions, result: ScanResult): Promise<void> {
  // A silent unit is probed once: no need to set it aside after timeouts in a row.
  const common = { connectTimeoutMs: Math.max(2000, options.timeoutMs), unitBackoff: { afterTimeouts: 1000 } };
  const baud = target.baudRate !== undefined ? { baudRate: target.baudRate } : {};
  let bus: ModbusBus;
  try {
    bus = target.kind === 'modbus-rtu' ? openSerialBus({ path: target.path, ...baud, ...common }) : openRtuOverTcpBus({ host: target.host, port: target.port, ...baud, ...common });
  } catch (err) {
    result.unreachable.push({ target: describeTarget(target), reason: (err as Error).message });
    return;
  }
  try {
    for (const [i, unitId] of unitIds.entries()) {
      if (unitId < 1 || unitId > 247) {
        options.onUnit?.(`unit ${unitId} is not on an RTU line (1-247)`);
        continue;
      }
      const driver = createModbusRtuDriver({ bus, unitId, timeoutMs: options.timeoutMs, device: `${describeTarget(target)} unit ${unitId}` });
      try {
        const found = await probeUnit(driver, target, unitId, options.profiles);
        if (found) result.units.push(found);
        options.onUnit?.(`${describeTarget(target)} unit ${unitId}${found ? ' answered' : ''}`);
      } catch (err) {
        if (!(err instanceof DeviceError)) throw err;
        result.unreachable.push({ target: describeTarget(target), reason: withoutRetry(err.detail) });
        for (let skipped = i + 1; skipped <= unitIds.length; skipped++) options.onUnit?.(`${describeTarget(target)} unreachable`);
        return;
      } finally {
        await driver.close();
      }
    }
  } finally {
    await bus.close();
  }
}
