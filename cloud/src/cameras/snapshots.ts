/**
 * Full snapshots: served from the cache, else fetched from the camera's gateway with snapshot.get
 * (through the CommandClient) and cached. Requests for the same snapshot that arrive while it is
 * being fetched share the one command.
 */
import { firstError, SnapshotGetResult } from '@quanlink/contracts';
import type { Logger } from 'pino';
import type { CommandClient } from '../commands/command-client.js';
import type { CloudStore } from '../store/types.js';
import { decodeBase64Jpeg } from './jpeg.js';

export const DEFAULT_SNAPSHOT_CACHE_BYTES = 64 * 1024 * 1024;
/** The contract's bound on a snapshot.get answer (8 MiB of base64). */
export const MAX_SNAPSHOT_BYTES = 6 * 1024 * 1024;

/** The gateway has no such snapshot (it answered SnapshotNotFound): e.g. pruned under its disk budget. */
export class SnapshotNotFoundError extends Error {
  override readonly name = 'SnapshotNotFoundError';
}

/** The gateway answered, but with an error or something that is not the snapshot. */
export class SnapshotFetchError extends Error {
  override readonly name = 'SnapshotFetchError';
}

export interface SnapshotServiceOptions {
  store: CloudStore;
  commands: CommandClient;
  logger: Logger;
  cacheMaxBytes?: number | undefined;
  timeoutMs?: number | undefined;
}

export interface Snapshot {
  jpeg: Buffer;
  /** True when it came from the cache. */
  cached: boolean;
}

export class SnapshotService {
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  private readonly logger: Logger;
  readonly cacheMaxBytes: number;

  constructor(private readonly options: SnapshotServiceOptions) {
    this.logger = options.logger.child({ component: 'snapshots' });
    this.cacheMaxBytes = options.cacheMaxBytes ?? DEFAULT_SNAPSHOT_CACHE_BYTES;
  }

  /** Throws GatewayOfflineError, CommandTimeoutError, SnapshotNotFoundError or SnapshotFetchError. */
  async get(gatewayId: string, deviceId: string, snapshotId: string): Promise<Snapshot> {
    const cached = await this.options.store.cachedSnapshot(gatewayId, deviceId, snapshotId);
    if (cached) return { jpeg: cached, cached: true };
    const key = `${gatewayId}\u0000${deviceId}\u0000${snapshotId}`;
    let fetching = this.inFlight.get(key);
    if (!fetching) {
      fetching = this.fetch(gatewayId, deviceId, snapshotId).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, fetching);
    }
    return { jpeg: await fetching, cached: false };
  }

  private async fetch(gatewayId: string, deviceId: string, snapshotId: string): Promise<Buffer> {
    const where = `snapshot '${snapshotId}' of camera ${gatewayId}/${deviceId}`;
    const result = await this.options.commands.send(gatewayId, 'snapshot.get', { id: snapshotId }, { timeoutMs: this.options.timeoutMs });
    if (result.status === 'error') {
      const message = `gateway ${gatewayId} could not give ${where}: ${result.error.code}: ${result.error.message}`;
      if (result.error.code === 'SnapshotNotFound') throw new SnapshotNotFoundError(message);
      throw new SnapshotFetchError(message);
    }
    const problem = firstError(SnapshotGetResult, result.data);
    if (problem) throw new SnapshotFetchError(`gateway ${gatewayId} answered snapshot.get for ${where} with bad data: ${problem[0] || '(data)'}: ${problem[1]}`);
    const data = result.data as SnapshotGetResult;
    if (data.id !== snapshotId) throw new SnapshotFetchError(`gateway ${gatewayId} answered snapshot.get for ${where} with snapshot '${data.id}'`);
    const decoded = decodeBase64Jpeg(data.base64, MAX_SNAPSHOT_BYTES);
    if (!decoded.ok) throw new SnapshotFetchError(`gateway ${gatewayId} answered snapshot.get for ${where}: the image ${decoded.problem}`);
    const stored = await this.options.store.cacheSnapshot(
      { gatewayId, deviceId, snapshotId, jpeg: decoded.jpeg, fetchedAt: Date.now() },
      this.cacheMaxBytes,
    );
    this.logger.info(
      { gateway: gatewayId, device: deviceId, snapshot: snapshotId, bytes: decoded.jpeg.length, cached: stored.stored, evicted: stored.evicted, operation: 'snapshot.get' },
      'snapshot fetched from gateway',
    );
    return decoded.jpeg;
  }
}
