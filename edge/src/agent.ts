/**
 * The edge agent: loads its configuration and device profiles, opens the outbox, and runs one
 * poller per bound detector, one controller per guidance screen (kind vms), one analytics pipeline
 * per camera (kind camera), the cloud link and telemetry as extensions on one event bus. The cloud's commands reach the screens through a
 * command router. A device that cannot be set up is reported and skipped; it never stops the gateway.
 * The device set (startDevices/stopDevices) can be replaced while the link, outbox and router stay up:
 * that is how a desired config from the cloud is applied (config/apply.ts).
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadBuiltinProfiles, loadProfileDir, type DeviceProfile } from '@quanlink/device-profiles';
import { CONTRACT_VERSION, canonicalJson, checkCommandArgs, type BirthDevice, type Command, type GatewayBirth } from '@quanlink/contracts';
import { ConfigFile, type DeviceBinding } from './config/index.js';
import { CONFIG_COMMANDS, ConfigApplier } from './config/apply.js';
import { DEFAULT_TRAFFIC, DevicePoller, type PollerStatus, type TrafficSettings } from './devices/poller.js';
import { BusRegistry, createDriver, describeEndpoint } from './devices/drivers.js';
import { EventBus, type Extension } from './events/bus.js';
import { CloudLink, type CloudLinkOptions, type LinkStats } from './link/cloud-link.js';
import { CREDENTIAL_COMMANDS, credentialsRotateHandler } from './enrolment/rotate.js';
import { CommandError, CommandRouter } from './link/command-router.js';
import { CameraPipeline, type CameraPipelineOptions, type CameraStatus } from './video/camera-pipeline.js';
import { SqliteActiveSet, type ActiveSet } from './signs/active-set.js';
import { ScreenController, type ScreenSettings, type ScreenStatus } from './signs/screen-controller.js';
import { SIGN_COMMANDS, SignCommands } from './signs/sign-commands.js';
import { createSignDriver } from './signs/sign-driver.js';
import type { SignDriver } from '@quanlink/firmware-bridge';
import { SqliteOutbox, type Outbox, type OutboxStats } from './outbox/index.js';
import { LocalReadings } from './readings/local-readings.js';
import { TelemetryReporter } from './telemetry.js';
import { runningAgentVersion } from './version.js';
import { localStatusApi } from './technician/local-api.js';
import { agentUpdates } from './update/agent-updates.js';
import { deviceFirmware, type PausedDevice } from './update/device-firmware.js';

export interface AgentStatus {
  gateway: string;
  agentVersion: string;
  link: LinkStats;
  outbox: OutboxStats & { stream: string };
  devices: (PollerStatus & { profile: string })[];
  /** Guidance screens: health, what each shows, its active set's size. */
  screens: (ScreenStatus & { profile: string })[];
  /** Cameras: pipeline state and why, frames, analysed fps, timings, snapshots (never credentials). */
  cameras: (CameraStatus & { profile: string })[];
  /** Devices that could not be started, with the reason. */
  skipped: { device: string; reason: string }[];
}

export interface AgentOptions {
  /** Builds a screen's driver instead of the one its transport and profile name (tests, other wires). */
  signDriver?: (binding: DeviceBinding, profile: DeviceProfile) => SignDriver;
  /** Profiles besides the builtin ones and those of profileDirs. */
  profiles?: readonly DeviceProfile[];
  /** Overrides of every screen's settings (e.g. short retry delays in tests). */
  screenDefaults?: Partial<ScreenSettings>;
  /** Overrides for every camera pipeline (tests: a fake detector, short retries). */
  cameraDefaults?: Pick<CameraPipelineOptions, 'createDetector' | 'ingest' | 'onvifRetry'>;
  /** Overrides of the cloud link's timing (tests: a short wait after the credentials are refused). */
  linkDefaults?: Pick<CloudLinkOptions, 'refusedRetryMs'>;
}

/** Commands the cameras answer. */
export const CAMERA_COMMANDS = ['snapshot.get'] as const;

export class EdgeAgent {
  readonly bus = new EventBus();
  readonly router = new CommandRouter();
  private readonly extensions: Extension[] = [];
  private readonly pollers: { poller: DevicePoller; binding: DeviceBinding }[] = [];
  private readonly screens = new Map<string, { controller: ScreenController; binding: DeviceBinding }>();
  private readonly cameras = new Map<string, { pipeline: CameraPipeline; binding: DeviceBinding }>();
  private profiles = new Map<string, DeviceProfile>();
  private readonly skipped: { device: string; reason: string }[] = [];
  private link: CloudLink | undefined;
  private telemetry: TelemetryReporter | undefined;
  private telemetryIntervalS = 30;
  /** The device bindings the running set was started from (canonical JSON). */
  private runningBindings = '';
  private started = false;
  /** config.apply, and the report of local config edits at start. */
  private readonly configApplier: ConfigApplier;
  private readonly buses: BusRegistry;

  private constructor(
    readonly config: ConfigFile,
    readonly outbox: Outbox,
    readonly readings: LocalReadings,
    readonly activeSet: ActiveSet,
    readonly logger: Logger,
    private readonly options: AgentOptions,
  ) {
    this.buses = new BusRegistry(logger);
    this.configApplier = new ConfigApplier({ config, outbox, profiles: () => this.profiles, agent: this, logger });
  }

  static async open(configFile: string, logger: Logger = pino({ name: 'quanlink-edge' }), options: AgentOptions = {}): Promise<EdgeAgent> {
    const config = await ConfigFile.load(configFile);
    const outbox = new SqliteOutbox(join(config.dataDir, 'outbox.db'));
    const readings = new LocalReadings(readingsPath(config), config.data.readingsKeepHours ?? 24);
    const activeSet = new SqliteActiveSet(join(config.dataDir, 'signs.db'));
    return new EdgeAgent(config, outbox, readings, activeSet, logger.child({ gateway: config.data.gateway.id }), options);
  }

  private async loadProfiles(): Promise<Map<string, DeviceProfile>> {
    const profiles = await loadBuiltinProfiles();
    for (const dir of this.config.data.profileDirs ?? []) {
      const { profiles: extra, errors } = await loadProfileDir(this.config.resolvePath(dir));
      for (const err of errors) this.logger.error({ err: err.message, operation: 'load profiles' }, 'invalid device profile skipped');
      for (const profile of extra) profiles.set(profile.id, profile);
    }
    for (const profile of this.options.profiles ?? []) profiles.set(profile.id, profile);
    return profiles;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { gateway, cloud, link, telemetryIntervalS } = this.config.data;
    this.profiles = await this.loadProfiles();

    const signCommands = new SignCommands(this.activeSet, {
      has: (screen) => this.screens.has(screen),
      changed: (screens) => {
        for (const screen of screens) this.screens.get(screen)?.controller.changed();
      },
    });
    this.router.register(SIGN_COMMANDS, signCommands.handle);
    this.router.register(CAMERA_COMMANDS, (command) => this.snapshotGet(command));
    this.router.register(CREDENTIAL_COMMANDS, credentialsRotateHandler({ config: this.config, reconnect: (password) => this.link!.reconnectWithPassword(password), logger: this.logger }));
    this.router.register(CONFIG_COMMANDS, this.configApplier.handle); // desired config from the cloud, all or nothing
    this.extensions.push(agentUpdates(this)); // update.apply, the health file the supervisor watches, update outcomes
    this.extensions.push(deviceFirmware(this)); // device.firmware.apply: firmware images to devices whose profile says how
    this.link = new CloudLink({
      gatewayId: gateway.id,
      url: cloud.url,
      ...(cloud.username !== undefined ? { username: cloud.username } : {}),
      ...(cloud.password !== undefined ? { password: cloud.password } : {}),
      ...(cloud.caFile !== undefined ? { caFile: this.config.resolvePath(cloud.caFile) } : {}),
      ...(cloud.keepaliveS !== undefined ? { keepaliveS: cloud.keepaliveS } : {}),
      outbox: this.outbox,
      bus: this.bus,
      logger: this.logger,
      ...link,
      ...this.options.linkDefaults,
      commandHandler: this.router.handle,
      birth: () => this.birth(),
    });
    this.telemetry = new TelemetryReporter(this.link, this.outbox, runningAgentVersion(), telemetryIntervalS ?? 30, this.config.dataDir);
    this.telemetryIntervalS = telemetryIntervalS ?? 30;
    // Devices first (screens settle their active sets before commands arrive), then the link and telemetry.
    // Stopped the other way round (stop()): pollers and cameras first so nothing new is written, then telemetry,
    // then the link says goodbye, then the screens.
    await this.startDevices();
    this.extensions.push(this.link, this.telemetry);
    const localApi = localStatusApi(this);
    if (localApi) this.extensions.unshift(localApi); // first extension up, last down: the technician sees the link come and go
    for (const extension of this.extensions) await extension.start();
    await this.configApplier.reportLocalEdits().catch((err: unknown) => this.logger.error({ err, operation: 'report local config' }, 'local config change not reported'));
    this.logger.info({ devices: this.pollers.length, screens: this.screens.size, cameras: this.cameras.size, skipped: this.skipped.length, outbox: this.outbox.stats() }, 'edge agent started');
  }

  /**
   * Builds and starts one extension per enabled device of the config file: a poller per detector, a
   * controller per screen, a pipeline per camera. A device that cannot be set up is skipped with the reason.
   */
  async startDevices(): Promise<void> {
    this.runningBindings = canonicalJson(this.config.data.devices);
    for (const binding of this.config.data.devices) {
      if (binding.enabled === false) continue;
      const profile = this.profiles.get(binding.profile);
      if (!profile) {
        const reason = `unknown profile '${binding.profile}' (known: ${[...this.profiles.keys()].join(', ')})`;
        this.skipped.push({ device: binding.id, reason });
        this.logger.error({ device: binding.id, operation: 'bind device' }, reason);
        continue;
      }
      try {
        if (profile.kind === 'vms') this.screens.set(binding.id, { controller: await this.screenController(binding, profile), binding });
        else if (profile.kind === 'camera') this.cameras.set(binding.id, { pipeline: this.cameraPipeline(binding), binding });
        else this.pollers.push({ poller: this.poller(binding, profile), binding });
      } catch (err) {
        const reason = (err as Error).message;
        this.skipped.push({ device: binding.id, reason });
        this.logger.error({ device: binding.id, operation: 'bind device' }, reason);
      }
    }
    for (const { controller } of this.screens.values()) await controller.start();
    for (const { poller } of this.pollers) await poller.start();
    for (const { pipeline } of this.cameras.values()) await pipeline.start();
  }

  /** Stops every device extension (cameras and pollers, then screens) and forgets them; the link, outbox and command router stay up. */
  async stopDevices(): Promise<void> {
    await this.stopSources();
    await this.stopScreens();
    this.skipped.length = 0;
    await this.buses.closeAll();
  }

  /** Stops the device set and starts the one of the (new) config file; telemetry follows a changed interval. */
  async reconfigure(): Promise<void> {
    // Only settings changed: the devices keep running (no reconnects, no pipeline restarts).
    if (canonicalJson(this.config.data.devices) !== this.runningBindings) {
      await this.stopDevices();
      await this.startDevices();
    }
    const intervalS = this.config.data.telemetryIntervalS ?? 30;
    if (this.link && this.telemetry && intervalS !== this.telemetryIntervalS) {
      const old = this.telemetry;
      await old.stop();
      this.telemetry = new TelemetryReporter(this.link, this.outbox, runningAgentVersion(), intervalS, this.config.dataDir);
      this.telemetryIntervalS = intervalS;
      this.extensions.splice(this.extensions.indexOf(old), 1, this.telemetry);
      await this.telemetry.start();
    }
    this.logger.info({ devices: this.pollers.length, screens: this.screens.size, cameras: this.cameras.size, skipped: this.skipped.length, operation: 'reconfigure' }, 'device set restarted');
  }

  /** Sends a fresh birth (the device set changed, or a camera told what it is) when connected. */
  announce(): void {
    if (!this.link?.stats.connected) return;
    this.link.publish('birth', { v: CONTRACT_VERSION, ts: Date.now(), stream: this.outbox.stream, ...this.birth() });
  }

  /** A running detector's or screen's binding and profile (device firmware updates). */
  deviceOf(id: string): { binding: DeviceBinding; profile: DeviceProfile } | undefined {
    const binding = this.pollers.find((p) => p.binding.id === id)?.binding ?? this.screens.get(id)?.binding;
    const profile = binding && this.profiles.get(binding.profile);
    return binding && profile ? { binding, profile } : undefined;
  }

  /**
   * Stops a detector's poller or a screen's controller (a firmware transfer owns the device) and
   * hands out a driver of its own; resume starts a fresh poller or controller unless the device set
   * was replaced meanwhile.
   */
  async pauseDevice(id: string): Promise<PausedDevice> {
    const polled = this.pollers.find((p) => p.binding.id === id);
    const screen = this.screens.get(id);
    const entry = polled ?? screen;
    const profile = entry && this.profiles.get(entry.binding.profile);
    if (!entry || !profile) throw new CommandError('UnknownDevice', `gateway ${this.config.data.gateway.id}: no running device ${id}`);
    const { binding } = entry;
    if (polled) await polled.poller.stop();
    else await screen!.controller.stop();
    this.logger.info({ device: id, operation: 'pause device' }, 'device paused for a firmware update');
    const driver = createDriver(binding, profile, this.config.data.gateway.id, this.logger, this.buses);
    return {
      driver,
      resume: async () => {
        if (polled) {
          const at = this.pollers.indexOf(polled);
          if (at < 0) return;
          const fresh = { poller: this.poller(binding, profile), binding };
          this.pollers[at] = fresh;
          await fresh.poller.start();
        } else {
          if (this.screens.get(id) !== screen) return;
          const fresh = { controller: await this.screenController(binding, profile), binding };
          this.screens.set(id, fresh);
          await fresh.controller.start();
        }
        this.logger.info({ device: id, operation: 'resume device' }, 'device resumed');
      },
    };
  }

  private async stopSources(): Promise<void> {
    await this.stopAll([...this.cameras.values()].map(({ pipeline }) => pipeline));
    await this.stopAll(this.pollers.map(({ poller }) => poller));
    this.cameras.clear();
    this.pollers.length = 0;
  }

  private async stopScreens(): Promise<void> {
    await this.stopAll([...this.screens.values()].map(({ controller }) => controller));
    this.screens.clear();
  }

  private async stopAll(extensions: Extension[]): Promise<void> {
    for (const extension of extensions) {
      await extension.stop().catch((err) => this.logger.error({ err, extension: extension.name }, 'stop failed'));
    }
  }

  /** What the cloud learns about this gateway's devices at each connect (and again when a camera tells what it is). */
  private birth(): Omit<GatewayBirth, 'v' | 'ts' | 'stream'> {
    const devices: BirthDevice[] = [...this.pollers, ...this.screens.values(), ...this.cameras.values()].map(({ binding }) => {
      const profile = this.profiles.get(binding.profile)!;
      const camera = this.cameras.get(binding.id)?.pipeline.cameraInfo;
      return {
        id: binding.id,
        profile: binding.profile,
        kind: profile.kind,
        endpoint: describeEndpoint(binding, profile),
        ...(binding.name !== undefined ? { name: binding.name } : {}),
        ...(camera ? { camera } : {}),
      };
    });
    const configVersion = this.config.data.managed?.version;
    return { agentVersion: runningAgentVersion(), startedAt: Math.round(Date.now() - process.uptime() * 1000), devices, ...(configVersion !== undefined ? { configVersion } : {}) };
  }

  private cameraPipeline(binding: DeviceBinding): CameraPipeline {
    const { video } = binding;
    if (!video) throw new Error(`camera ${binding.id}: no video section in its binding (model and analytics are needed)`);
    if (binding.transport.kind !== 'onvif' && binding.transport.kind !== 'rtsp') {
      throw new Error(`camera ${binding.id}: transport ${binding.transport.kind} cannot carry video (use onvif or rtsp)`);
    }
    return new CameraPipeline({
      binding: { ...binding, video },
      resolvePath: (path) => this.config.resolvePath(path),
      dataDir: this.config.dataDir,
      outbox: this.outbox,
      bus: this.bus,
      logger: this.logger.child({ device: binding.id }),
      ...this.options.cameraDefaults,
      // The birth was sent before the camera answered: send it again with what the camera is.
      onCameraInfo: () => this.announce(),
    });
  }

  /** snapshot.get: the full JPEG of a snapshot an event referred to. */
  private async snapshotGet(command: Command): Promise<Record<string, unknown>> {
    const checked = checkCommandArgs('snapshot.get', command.args);
    if (!checked.ok) throw new CommandError('InvalidCommand', checked.error.message, checked.error.path);
    const { id } = checked.value;
    for (const { pipeline } of this.cameras.values()) {
      const jpeg = await pipeline.snapshot(id);
      if (jpeg) return { id, contentType: 'image/jpeg', base64: jpeg.toString('base64') };
    }
    throw new CommandError('SnapshotNotFound', `no snapshot '${id}' on gateway ${this.config.data.gateway.id} (never taken, or deleted to stay within the disk budget)`);
  }

  private poller(binding: DeviceBinding, profile: DeviceProfile): DevicePoller {
    return new DevicePoller({
      device: binding.id,
      profile,
      driver: createDriver(binding, profile, this.config.data.gateway.id, this.logger, this.buses),
      outbox: this.outbox,
      bus: this.bus,
      logger: this.logger,
      intervalMs: binding.pollIntervalMs ?? 1000,
      traffic: trafficSettings(binding),
      localReadings: this.readings,
      syncReadings: binding.readings?.sync ?? false,
    });
  }

  private async screenController(binding: DeviceBinding, profile: DeviceProfile): Promise<ScreenController> {
    const sign = binding.sign ?? {};
    const driver = this.options.signDriver?.(binding, profile) ?? createSignDriver(binding, profile, this.config.data.gateway.id, this.logger, this.buses);
    return new ScreenController({
      screen: binding.id,
      driver,
      activeSet: this.activeSet,
      outbox: this.outbox,
      bus: this.bus,
      logger: this.logger.child({ device: binding.id }),
      ...this.options.screenDefaults,
      ...(sign.defaultMulti ? { defaultMessage: { multi: sign.defaultMulti, crc: await displayedCrc(sign.defaultMulti) } } : {}),
      ...(sign.readbackIntervalMs !== undefined ? { readbackIntervalMs: sign.readbackIntervalMs } : {}),
      ...(sign.retries !== undefined ? { retries: sign.retries } : {}),
    });
  }

  async stop(): Promise<void> {
    await this.stopSources();
    await this.stopAll([...this.extensions].reverse());
    this.extensions.length = 0;
    await this.stopDevices();
    this.outbox.close();
    this.activeSet.close();
    this.readings.close();
    this.logger.info('edge agent stopped');
  }

  status(): AgentStatus {
    return {
      gateway: this.config.data.gateway.id,
      agentVersion: runningAgentVersion(),
      link: { ...(this.link?.stats ?? { connected: false, reconnects: 0, batchesSent: 0, resends: 0 }) },
      outbox: { ...this.outbox.stats(), stream: this.outbox.stream },
      devices: this.pollers.map(({ poller, binding }) => ({ ...poller.currentStatus, profile: binding.profile })),
      screens: [...this.screens.values()].map(({ controller, binding }) => ({ ...controller.currentStatus, profile: binding.profile })),
      cameras: [...this.cameras.values()].map(({ pipeline, binding }) => ({ ...pipeline.currentStatus, profile: binding.profile })),
      skipped: [...this.skipped],
    };
  }
}

/**
 * The CRC a screen reports while it shows this MULTI (NTCIP 1203 dmsMessageCRC). Loaded only when a
 * default message is configured: the package also carries the LED renderer (sharp), which a gateway
 * otherwise never loads.
 */
async function displayedCrc(multi: string): Promise<number> {
  const { crcOfDisplayed } = await import('@quanlink/sign-content');
  return crcOfDisplayed(multi);
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
