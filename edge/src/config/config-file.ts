/**
 * Loads, validates and saves the edge configuration. The file holds the gateway's MQTT password,
 * so it is written owner-only (0600).
 */
import { chmod } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { firstError } from '@quanlink/contracts';
import { EdgeConfig } from './schema.js';

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

  private async save(): Promise<void> {
    await this.db.write();
    await chmod(this.file, 0o600);
  }
}

export function validate(file: string, config: unknown): asserts config is EdgeConfig {
  const err = firstError(EdgeConfig, config);
  if (err) throw new ConfigError(file, err[0], err[1]);
  const ids = new Set<string>();
  (config as EdgeConfig).devices.forEach((device, i) => {
    if (ids.has(device.id)) throw new ConfigError(file, `devices[${i}].id`, `duplicate device id '${device.id}'`);
    ids.add(device.id);
    const periodS = device.traffic?.periodS;
    // Periods start on the clock's boundaries, so they must tile the hour.
    if (periodS !== undefined && 3600 % periodS !== 0) {
      throw new ConfigError(file, `devices[${i}].traffic.periodS`, `${periodS} s does not divide an hour (use e.g. 20, 30 or 60)`);
    }
  });
}
