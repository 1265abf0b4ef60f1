/**
 * startCloud wires the parts: store -> (embedded broker) -> ingest -> HTTP API, and closes them in
 * the reverse order. With externalMqttUrl no broker is embedded and ingest connects there instead
 * (that broker's own ACLs then protect the topics).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Accounts, type NewAccount } from './auth/accounts.js';
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
import { FleetService } from './fleet/service.js';
import { ConfigShadowService } from './config-shadow/service.js';
import { createLogger } from './logger.js';
import { cloudTrustedKeys, openBundleFiles } from './updates/bundles.js';
import { RolloutEngine } from './updates/rollout.js';
import { loadTls, type CloudTlsOptions } from './tls/certificates.js';
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
  /** Bootstrap bearer token: whoever holds it is user 'admin' with role admin; generated when absent (read it from the result). */
  adminToken?: string;
  /** Users to create at start unless they exist (by username; existing ones are left as they are). */
  users?: NewAccount[] | undefined;
  logger?: Logger;
  /** The clock of dispatch and guidance (epoch ms); Date.now when absent. For tests. */
  clock?: () => number;
  /** How often ended messages are expired and guidance holds checked; default 1000 ms. */
  sweepIntervalMs?: number;
  /** Sign capabilities by device profile; the builtin profiles when absent. */
  signCatalogue?: SignCatalogue;
  /** How long a command that waits for its answer (snapshot.get) waits; default 5000 ms. */
  commandTimeoutMs?: number;
  /** How long a config.apply waits for the gateway's answer; default 30000 ms. */
  configApplyTimeoutMs?: number;
  /** Byte budget of the full-snapshot cache; default 64 MiB. */
  snapshotCacheBytes?: number;
  /** MQTT over TLS (mqtts) and HTTPS: certificate files, or a CA and server certificate generated once into a directory. */
  tls?: CloudTlsOptions | undefined;
  /** Agent updates: trusted signing keys (PEM; else the files in QUANLINK_UPDATE_TRUSTED_KEYS), the URL gateways download from (default the HTTP URL), rollout tick. */
  updates?: { trustedKeys?: string[] | undefined; publicUrl?: string | undefined; tickMs?: number | undefined; maxBundleBytes?: number | undefined } | undefined;
}

export interface RunningCloud {
  httpUrl: string;
  /** Where gateways connect (without credentials). */
  mqttUrl: string;
  adminToken: string;
  store: CloudStore;
  /** Users, sessions, API tokens: the access control of the HTTP API and the WebSocket. */
  accounts: Accounts;
  ingest: Ingest;
  /** Guidance screens: the dispatcher, automatic guidance, the sweep. */
  dispatch: DispatchService;
  /** WebSocket push at /api/v1/ws. */
  live: LiveHub;
  /** Commands that wait for their answer (snapshot.get). */
  commands: CommandClient;
  /** Full camera snapshots: cache, else the gateway. */
  snapshots: SnapshotService;
  /** Enrolment, revocation, credential rotation. */
  fleet: FleetService;
  /** Desired vs reported gateway configuration (config.apply, config.reported). */
  configShadow: ConfigShadowService;
  /** Staged rollouts of agent updates. */
  rollouts: RolloutEngine;
  /** The CA gateways must trust (with TLS, when known). */
  caCertPem?: string | undefined;
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

    const tls = options.tls ? loadTls(options.tls, host) : undefined;
    let broker: EmbeddedBroker | undefined;
    let ingest: Ingest;
    let mqttUrl: string;
    if (options.externalMqttUrl === undefined) {
      // A fresh embedded broker has nobody connected: presence left over from the last run is stale.
      await store.markAllGatewaysOffline();
      const serviceAccount = createServiceAccount();
      const embedded = await startBroker({ store, logger, serviceAccount, host, port: options.mqttPort ?? 0, tls: tls && { cert: tls.certPem, key: tls.keyPem, ca: tls.caPem } });
      broker = embedded;
      closers.push(() => embedded.close());
      mqttUrl = embedded.url;
      ingest = await startIngest({
        url: embedded.internal.url,
        ca: embedded.internal.ca,
        servername: embedded.internal.servername,
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

    const accounts = new Accounts({ users: store.users, adminToken });
    const seeded = await accounts.seed(options.users ?? []);
    if (seeded.length > 0) logger.info({ users: seeded, operation: 'seed users' }, 'users created');
    const fleet = new FleetService({ store, commands, disconnectGateway: broker?.disconnect, mqttUrl, caCertPem: tls?.caPem, logger });
    const configShadow = new ConfigShadowService({ store, commands, ingest, hub: live, logger, applyTimeoutMs: options.configApplyTimeoutMs });
    closers.push(async () => configShadow.close());
    let httpUrl = '';
    const rollouts = new RolloutEngine({
      store,
      commands,
      ingest,
      logger,
      tickMs: options.updates?.tickMs,
      bundleUrl: (updateId) => `${options.updates?.publicUrl ?? httpUrl}/api/v1/updates/${updateId}/bundle`,
    });
    closers.push(() => rollouts.close());
    const updates = { bundles: openBundleFiles(options.dataDir), trustedKeys: cloudTrustedKeys(options.updates?.trustedKeys), rollouts, maxBundleBytes: options.updates?.maxBundleBytes };
    const app = await buildHttpApi({ updates, store, adminToken, accounts, logger, health, dispatch, catalogue, snapshots, fleet, configShadow, https: tls && { cert: tls.certPem, key: tls.keyPem } });
    closers.push(() => app.close());
    live.attach(app.server, (token) => accounts.authenticate(token));
    // Closed before the HTTP server: open WebSockets would keep it from closing.
    closers.push(() => live.close());
    httpUrl = await listenHttp(app, host, options.httpPort ?? 0);
    rollouts.start();
    logger.info({ http: httpUrl, mqtt: mqttUrl, store: options.dataDir ?? ':memory:' }, 'cloud started');

    return { httpUrl, mqttUrl, adminToken, store, accounts, ingest, dispatch, live, commands, snapshots, fleet, configShadow, rollouts, caCertPem: tls?.caPem, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
