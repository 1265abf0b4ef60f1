/**
 * The edge agent: loads its configuration and device profiles, opens the outbox, and runs one
 * poller per bound device, the cloud link and telemetry as extensions on one event bus.
 * A device that cannot be set up is reported and skipped; it never stops the gateway.
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadBuiltinProfiles, loadProfileDir, type DeviceProfile } from '@quanlink/device-profiles';
import { ConfigFile, type DeviceBinding } from './config/index.js';
import { DEFAULT_TRAFFIC, DevicePoller, type PollerStatus, type TrafficSettings } from './devices/poller.js';
import { BusRegistry, createDriver, describeEndpoint } from './devices/drivers.js';
import { EventBus, type Extension } from './events/bus.js';
import { CloudLink, type LinkStats } from './link/cloud-link.js';
import { SqliteOutbox, type Outbox, type OutboxStats } from './outbox/index.js';
import { LocalReadings } from './readings/local-readings.js';
import { TelemetryReporter } from './telemetry.js';
import { AGENT_VERSION } from './version.js';

export interface AgentStatus {
  gateway: string;
  agentVersion: string;
  link: LinkStats;
  outbox: OutboxStats & { stream: string };
  devices: (PollerStatus & { profile: string })[];
  /** Devices that could not be started, with the reason. */
  skipped: { device: string; reason: string }[];
}

export class EdgeAgent {
  readonly bus = new EventBus();
  private readonly extensions: Extension[] = [];
  private readonly pollers: { poller: DevicePoller; binding: DeviceBinding }[] = [];
  private readonly skipped: { device: string; reason: string }[] = [];
  private link: CloudLink | undefined;
  private started = false;
  private readonly buses: BusRegistry;

  private constructor(
    readonly config: ConfigFile,
    readonly outbox: Outbox,
    readonly readings: LocalReadings,
    readonly logger: Logger,
  ) {
    this.buses = new BusRegistry(logger);
  }

  static async open(configFile: string, logger: Logger = pino({ name: 'quanlink-edge' })): Promise<EdgeAgent> {
    const config = await ConfigFile.load(configFile);
    const outbox = new SqliteOutbox(join(config.dataDir, 'outbox.db'));
    const readings = new LocalReadings(readingsPath(config), config.data.readingsKeepHours ?? 24);
    return new EdgeAgent(config, outbox, readings, logger.child({ gateway: config.data.gateway.id }));
  }

  private async loadProfiles(): Promise<Map<string, DeviceProfile>> {
    const profiles = await loadBuiltinProfiles();
    for (const dir of this.config.data.profileDirs ?? []) {
      const { profiles: extra, errors } = await loadProfileDir(this.config.resolvePath(dir));
      for (const err of errors) this.logger.error({ err: err.message, operation: 'load profiles' }, 'invalid device profile skipped');
      for (const profile of extra) profiles.set(profile.id, profile);
    }
    return profiles;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { gateway, cloud, devices, link, telemetryIntervalS } = this.config.data;
    const profiles = await this.loadProfiles();

    for (const binding of devices) {
      if (binding.enabled === false) continue;
      const profile = profiles.get(binding.profile);
      if (!profile) {
        const reason = `unknown profile '${binding.profile}' (known: ${[...profiles.keys()].join(', ')})`;
        this.skipped.push({ device: binding.id, reason });
        this.logger.error({ device: binding.id, operation: 'bind device' }, reason);
        continue;
      }
      const driver = createDriver(binding, profile, gateway.id, this.logger, this.buses);
      const poller = new DevicePoller({
        device: binding.id,
        profile,
        driver,
        outbox: this.outbox,
        bus: this.bus,
        logger: this.logger,
        intervalMs: binding.pollIntervalMs ?? 1000,
        traffic: trafficSettings(binding),
        localReadings: this.readings,
        syncReadings: binding.readings?.sync ?? false,
      });
      this.pollers.push({ poller, binding });
    }

    this.link = new CloudLink({
      gatewayId: gateway.id,
      url: cloud.url,
      ...(cloud.username !== undefined ? { username: cloud.username } : {}),
      ...(cloud.password !== undefined ? { password: cloud.password } : {}),
      ...(cloud.keepaliveS !== undefined ? { keepaliveS: cloud.keepaliveS } : {}),
      outbox: this.outbox,
      bus: this.bus,
      logger: this.logger,
      ...link,
      birth: () => ({
        agentVersion: AGENT_VERSION,
        startedAt: Math.round(Date.now() - process.uptime() * 1000),
        devices: this.pollers.map(({ binding }) => ({
          id: binding.id,
          profile: binding.profile,
          kind: profiles.get(binding.profile)!.kind,
          endpoint: describeEndpoint(binding),
          ...(binding.name !== undefined ? { name: binding.name } : {}),
        })),
      }),
    });
    // Stopped in reverse: pollers first so nothing new is written, then telemetry, then the link says goodbye.
    this.extensions.push(
      this.link,
      new TelemetryReporter(this.link, this.outbox, AGENT_VERSION, telemetryIntervalS ?? 30),
      ...this.pollers.map(({ poller }) => poller),
    );

    for (const extension of this.extensions) await extension.start();
    this.logger.info({ devices: this.pollers.length, skipped: this.skipped.length, outbox: this.outbox.stats() }, 'edge agent started');
  }

  async stop(): Promise<void> {
    for (const extension of [...this.extensions].reverse()) {
      await extension.stop().catch((err) => this.logger.error({ err, extension: extension.name }, 'stop failed'));
    }
    this.extensions.length = 0;
    await this.buses.closeAll();
    this.outbox.close();
    this.readings.close();
    this.logger.info('edge agent stopped');
  }

  status(): AgentStatus {
    return {
      gateway: this.config.data.gateway.id,
      agentVersion: AGENT_VERSION,
      link: { ...(this.link?.stats ?? { connected: false, reconnects: 0, batchesSent: 0, resends: 0 }) },
      outbox: { ...this.outbox.stats(), stream: this.outbox.stream },
      devices: this.pollers.map(({ poller, binding }) => ({ ...poller.currentStatus, profile: binding.profile })),
      skipped: [...this.skipped],
    };
  }
}

/** A binding's traffic settings over the defaults. */
function trafficSettings(binding: DeviceBinding): TrafficSettings {
  const t = binding.traffic ?? {};
  return {
    periodS: t.periodS ?? DEFAULT_TRAFFIC.periodS,
    gMetres: t.gMetres ?? DEFAULT_TRAFFIC.gMetres,
    freeFlowKmh: t.freeFlowKmh ?? DEFAULT_TRAFFIC.freeFlowKmh,
    diagnostics: { ...DEFAULT_TRAFFIC.diagnostics, ...t.diagnostics },
  };
}

/** Where the gateway keeps raw readings. */
export function readingsPath(config: ConfigFile): string {
  return join(config.dataDir, 'readings.db');
}
