/**
 * Loads, validates and saves the edge configuration. The file holds the gateway's MQTT password,
 * so it is written owner-only (0600).
 */
import { chmod, open, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { allErrors, firstError } from '@quanlink/contracts';
import { EdgeConfig, Transport } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${file}: ${path === '' ? '(top level)' : path}: ${problem}`);
  }
}

export class ConfigFile {
  private constructor(
    readonly file: string,
    private readonly db: Low<EdgeConfig>,
  ) {}

  get data(): EdgeConfig {
    return this.db.data;
  }

  /** Absolute directory of the outbox. */
  get dataDir(): string {
    return this.resolvePath(this.db.data.dataDir);
  }

  resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(dirname(this.file), path);
  }

  static async load(file: string): Promise<ConfigFile> {
    const db = new Low<EdgeConfig>(new JSONFile<EdgeConfig>(file), null as unknown as EdgeConfig);
    try {
      await db.read();
    } catch (err) {
      throw new ConfigError(file, '', `cannot read: ${(err as Error).message}`);
    }
    if (db.data === undefined || db.data === null) throw new ConfigError(file, '', 'file not found or empty (create it with `quanlink-edge init`)');
    validate(file, db.data);
    return new ConfigFile(file, db);
  }

  /** Writes a new config file (refuses an invalid one). */
  static async create(file: string, config: EdgeConfig): Promise<ConfigFile> {
    validate(file, config);
    const db = new Low<EdgeConfig>(new JSONFile<EdgeConfig>(file), config);
    const cfg = new ConfigFile(file, db);
    await cfg.save();
    return cfg;
  }

  /** Applies a change all-or-nothing: an invalid result is refused and the file keeps its old content. */
  async update(change: (draft: EdgeConfig) => void): Promise<void> {
    const draft = structuredClone(this.db.data);
    change(draft);
    validate(this.file, draft);
    this.db.data = draft;
    await this.save();
  }

  /**
   * Replaces the whole file atomically: a new owner-only file is written and fsynced, then renamed
   * over the old one, so a crash leaves the old config or the new one, never a mix. Refuses an invalid one.
   */
  async replace(next: EdgeConfig): Promise<void> {
    validate(this.file, next);
    // The same text lowdb writes, so a restored file is byte for byte the old one.
    await writeFileAtomically(this.file, JSON.stringify(next, null, 2));
    this.db.data = next;
  }

  private async save(): Promise<void> {
    await this.db.write();
    await chmod(this.file, 0o600);
  }
}

export function validate(file: string, config: unknown): asserts config is EdgeConfig {
  const first = configProblems(config)[0];
  if (first) throw new ConfigError(file, ...first);
}

/**
 * Every problem of a config, as [path, problem]: the schema's (all of them), else the checks across
 * devices (ids, shared RTU lines, sample periods). Empty when the config is valid.
 */
export function configProblems(config: unknown): [string, string][] {
  // Bounded (a config of up to 1024 devices from the cloud), but high enough that the count of problems is true.
  const schemaProblems = allErrors(EdgeConfig, config, 5000).map((err) => precise(err, config));
  if (schemaProblems.length > 0) return schemaProblems;
  const problems: [string, string][] = [];
  const ids = new Set<string>();
  const buses = new Map<string, { index: number; line: string; units: Set<number> }>();
  (config as EdgeConfig).devices.forEach((device, i) => {
    const bus = busOf(device.transport);
    if (bus) {
      const seen = buses.get(bus.key);
      if (!seen) buses.set(bus.key, { index: i, line: bus.line, units: new Set([bus.unitId]) });
      else if (seen.line !== bus.line) {
        problems.push([`devices[${i}].transport`, `line settings ${bus.line} differ from devices[${seen.index}] on the same bus ${bus.key} (${seen.line})`]);
      } else if (seen.units.has(bus.unitId)) {
        problems.push([`devices[${i}].transport.unitId`, `unit ${bus.unitId} is already used on bus ${bus.key}`]);
      } else seen.units.add(bus.unitId);
    }
    if (ids.has(device.id)) problems.push([`devices[${i}].id`, `duplicate device id '${device.id}'`]);
    ids.add(device.id);
    const periodS = device.traffic?.periodS;
    // Periods start on the clock's boundaries, so they must tile the hour.
    if (periodS !== undefined && 3600 % periodS !== 0) {
      problems.push([`devices[${i}].traffic.periodS`, `${periodS} s does not divide an hour (use e.g. 20, 30 or 60)`]);
    }
  });
  return problems;
}

/** tmp + fsync + rename + fsync of the folder; the file is 0600 from its first byte. */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const folder = await open(dirname(file), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/**
 * A union (the transport) only says "expected union value"; the variant its `kind` names knows
 * which field is wrong.
 */
function precise([path, problem]: [string, string], config: unknown): [string, string] {
  const match = /^devices\[(\d+)\]\.transport$/.exec(path);
  if (!match) return [path, problem];
  const transport = (config as { devices: { transport?: { kind?: unknown } }[] }).devices[Number(match[1])]?.transport;
  const variant = Transport.anyOf.find((schema) => schema.properties.kind.const === transport?.kind);
  if (!variant) return [`${path}.kind`, `must be one of ${Transport.anyOf.map((schema) => schema.properties.kind.const).join(', ')}`];
  const inner = firstError(variant, transport);
  return inner ? [inner[0] === '' ? path : `${path}.${inner[0]}`, inner[1]] : [path, problem];
}

/** The shared line an RTU transport is on (key), its settings, which every device on it must agree on, and the device's unit on it. */
export function busOf(transport: EdgeConfig['devices'][number]['transport']): { key: string; line: string; unitId: number } | undefined {
  switch (transport.kind) {
    case 'modbus-rtu':
      return { key: transport.path, line: `${transport.baudRate ?? 9600} baud, parity ${transport.parity ?? 'none'}, ${transport.stopBits ?? 1} stop bit(s)`, unitId: transport.unitId };
    case 'modbus-rtu-tcp':
      return { key: `${transport.host}:${transport.port}`, line: `${transport.baudRate ?? 9600} baud`, unitId: transport.unitId };
    default:
      return undefined;
  }
}
