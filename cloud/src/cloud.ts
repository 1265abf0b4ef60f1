/**
 * startCloud wires the parts: store -> (embedded broker) -> ingest -> HTTP API, and closes them in
 * the reverse order. With externalMqttUrl no broker is embedded and ingest connects there instead
 * (that broker's own ACLs then protect the topics).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { generateSecret } from './auth/secrets.js';
import { createServiceAccount, startBroker, type EmbeddedBroker } from './broker/broker.js';
import { pushCameraNews } from './cameras/live-push.js';
import { SnapshotService } from './cameras/snapshots.js';
import { CommandClient } from './commands/command-client.js';
import { SignCatalogue } from './dispatch/content.js';
import { LiveHub } from './dispatch/live.js';
import { startDispatch, type DispatchService } from './dispatch/service.js';
import { buildHttpApi, listenHttp } from './http/server.js';
import type { Health } from './http/schemas.js';
import { startIngest, type Ingest } from './ingest/ingest.js';
import { createLogger } from './logger.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { CloudStore } from './store/types.js';

export { registerGateway, type GatewayCredentials } from './registry.js';

export const STORE_FILE_NAME = 'cloud.sqlite';

export interface CloudOptions {
  /** Directory of the SQLite store (created when missing); an in-memory store when absent. */
  dataDir?: string;
  /** Interface for the broker and the HTTP API; default 127.0.0.1. */
  host?: string;
  /** Embedded broker port; 0 (default) picks a free one. */
  mqttPort?: number;
  /** HTTP port; 0 (default) picks a free one. */
  httpPort?: number;
  /** Use this broker instead of embedding one (e.g. mqtt://127.0.0.1:1883); credentials may be in the URL. */
  externalMqttUrl?: string;
  /** Bearer token for admin routes; generated when absent (read it from the result). */
  adminToken?: string;
  logger?: Logger;
  /** The clock of dispatch and guidance (epoch ms); Date.now when absent. For tests. */
  clock?: () => number;
  /** How often ended messages are expired and guidance holds checked; default 1000 ms. */
  sweepIntervalMs?: number;
  /** Sign capabilities by device profile; the builtin profiles when absent. */
  signCatalogue?: SignCatalogue;
  /** How long a command that waits for its answer (snapshot.get) waits; default 5000 ms. */
  commandTimeoutMs?: number;
  /** Byte budget of the full-snapshot cache; default 64 MiB. */
  snapshotCacheBytes?: number;
}

export interface RunningCloud {
  httpUrl: string;
  /** Where gateways connect (without credentials). */
  mqttUrl: string;
  adminToken: string;
  store: CloudStore;
  ingest: Ingest;
  /** Guidance screens: the dispatcher, automatic guidance, the sweep. */
  dispatch: DispatchService;
  /** WebSocket push at /api/v1/ws. */
  live: LiveHub;
  /** Commands that wait for their answer (snapshot.get). */
  commands: CommandClient;
  /** Full camera snapshots: cache, else the gateway. */
  snapshots: SnapshotService;
  close(): Promise<void>;
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/$/, '');
}

export function openStore(dataDir: string | undefined): SqliteStore {
  if (dataDir === undefined) return new SqliteStore(':memory:');
  mkdirSync(dataDir, { recursive: true });
  return new SqliteStore(join(dataDir, STORE_FILE_NAME));
}

export async function startCloud(options: CloudOptions = {}): Promise<RunningCloud> {
  const logger = options.logger ?? createLogger();
  const host = options.host ?? '127.0.0.1';
  const adminToken = options.adminToken ?? generateSecret();
  const startedAt = Date.now();
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err: unknown) => logger.error({ err, operation: 'close cloud' }, 'error while closing'));
    }
  };

  try {
    const store = openStore(options.dataDir);
    closers.push(() => store.close());

    let broker: EmbeddedBroker | undefined;
    let ingest: Ingest;
    let mqttUrl: string;
    if (options.externalMqttUrl === undefined) {
      // A fresh embedded broker has nobody connected: presence left over from the last run is stale.
      await store.markAllGatewaysOffline();
      const serviceAccount = createServiceAccount();
      const embedded = await startBroker({ store, logger, serviceAccount, host, port: options.mqttPort ?? 0 });
      broker = embedded;
      closers.push(() => embedded.close());
      mqttUrl = embedded.url;
      ingest = await startIngest({
        url: embedded.url,
        username: serviceAccount.username,
        password: serviceAccount.password,
        clientId: `${serviceAccount.clientIdPrefix}-ingest-${process.pid}`,
        store,
        logger,
      });
    } else {
      mqttUrl = withoutCredentials(options.externalMqttUrl);
      ingest = await startIngest({ url: options.externalMqttUrl, store, logger });
    }
    closers.push(() => ingest.close());

    const health = (): Health => {
      const ingestConnected = ingest.connected();
      return {
        status: ingestConnected ? 'ok' : 'degraded',
        uptimeS: Math.round((Date.now() - startedAt) / 100) / 10,
        mqtt: {
          mode: broker ? 'embedded' : 'external',
          url: mqttUrl,
          ingestConnected,
          ...(broker && { clients: broker.connectedClients() }),
        },
        ingest: { ...ingest.counters },
      };
    };
    const catalogue = options.signCatalogue ?? (await SignCatalogue.loadBuiltin());
    const live = new LiveHub(logger);
    const commands = new CommandClient({ ingest, store, logger, defaultTimeoutMs: options.commandTimeoutMs });
    closers.push(async () => commands.close());
    const snapshots = new SnapshotService({ store, commands, logger, cacheMaxBytes: options.snapshotCacheBytes });
    const stopCameraPush = pushCameraNews(ingest, store, live, logger);
    closers.push(async () => stopCameraPush());
    const dispatch = startDispatch({
      store,
      ingest,
      hub: live,
      catalogue,
      logger,
      now: options.clock,
      sweepIntervalMs: options.sweepIntervalMs,
      commands,
    });
    closers.push(() => dispatch.close());

    const app = await buildHttpApi({ store, adminToken, logger, health, dispatch, catalogue, snapshots });
    closers.push(() => app.close());
    live.attach(app.server);
    // Closed before the HTTP server: open WebSockets would keep it from closing.
    closers.push(() => live.close());
    const httpUrl = await listenHttp(app, host, options.httpPort ?? 0);
    logger.info({ http: httpUrl, mqtt: mqttUrl, store: options.dataDir ?? ':memory:' }, 'cloud started');

    return { httpUrl, mqttUrl, adminToken, store, ingest, dispatch, live, commands, snapshots, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
