/**
 * The configuration shadow: an operator sets a gateway's desired config (version N+1, optimistic on
 * baseVersion, audited); it is sent with config.apply when the gateway is online, else at its next
 * birth; the answer is recorded (applied, or refused with the gateway's reasons). The reported side
 * comes from `config.reported` events (ingest). The gateway is the authority on validity: the cloud
 * only refuses what is malformed whatever the gateway (shape, duplicate device ids).
 *
 * Secrets: a desired config may carry device passwords (a new MQTT screen needs one); they are kept
 * only until the gateway applied that version, never shown (GET, history) and never audited. A desired
 * config may leave a password out: the gateway keeps the one it has for the same device id.
 */
import type { Logger } from 'pino';
import { configSha256, secretPaths, withoutSecrets, type ConfigReportedData, type GatewayBirth, type ManagedConfig } from '@quanlink/contracts';
import { CommandTimeoutError, GatewayOfflineError, type CommandClient } from '../commands/command-client.js';
import type { Ingest } from '../ingest/ingest.js';
import type { LiveHub } from '../dispatch/live.js';
import type { CloudStore } from '../store/types.js';
import type { DesiredConfig, DesiredOutcome } from './types.js';

/** config.apply restarts the gateway's devices (cameras load their models): longer than a snapshot. */
export const DEFAULT_APPLY_TIMEOUT_MS = 30_000;

export interface ConfigShadowView {
  desired: { version: number; sha256: string; config: ManagedConfig; setBy: string; setAt: number; outcome: DesiredOutcome } | null;
  reported: { version: number; sha256: string; source: ConfigReportedData['source']; at: number; receivedAt: number; config?: ManagedConfig } | null;
  /** A desired config exists and the gateway reports running exactly it (same version and sha256). */
  inSync: boolean;
  lastError?: { version: number; code: string; message: string; at: number };
}

/** A desired config the cloud refuses before sending it (400). */
export class ConfigRequestError extends Error {
  override readonly name = 'ConfigRequestError';
}

export interface ConfigShadowOptions {
  store: Pick<CloudStore, 'configs' | 'getGateway' | 'dispatch'>;
  commands: Pick<CommandClient, 'send'>;
  ingest: Pick<Ingest, 'listen'>;
  /** WebSocket push (topic config) of every change the cloud makes or hears in answer to config.apply. */
  hub?: Pick<LiveHub, 'publish'> | undefined;
  logger: Logger;
  applyTimeoutMs?: number | undefined;
  now?: (() => number) | undefined;
}

export class ConfigShadowService {
  private readonly logger: Logger;
  private readonly unlisten: () => void;
  private readonly now: () => number;
  /** Deliveries in flight per gateway: a birth during a PUT's delivery does not send it twice. */
  private readonly delivering = new Map<string, Promise<void>>();

  constructor(private readonly options: ConfigShadowOptions) {
    this.logger = options.logger.child({ component: 'config-shadow' });
    this.now = options.now ?? Date.now;
    this.unlisten = options.ingest.listen({
      birth: (gatewayId, birth) =>
        void this.gatewayBorn(gatewayId, birth).catch((err: unknown) =>
          this.logger.error({ err, gateway: gatewayId, operation: 'config.apply on birth' }, 'desired config not sent'),
        ),
    });
  }

  async view(gatewayId: string): Promise<ConfigShadowView> {
    const { desired, reported, lastError } = await this.options.store.configs.getShadow(gatewayId);
    return {
      desired: desired && {
        version: desired.version,
        sha256: desired.sha256,
        config: withoutSecrets(desired.config),
        setBy: desired.setBy,
        setAt: desired.setAt,
        outcome: desired.outcome,
      },
      reported: reported && {
        version: reported.version,
        sha256: reported.sha256,
        source: reported.source,
        at: reported.appliedAt,
        receivedAt: reported.receivedAt,
        ...(reported.config ? { config: withoutSecrets(reported.config) } : {}),
      },
      inSync: desired !== null && reported !== null && desired.version === reported.version && desired.sha256 === reported.sha256,
      ...(lastError ? { lastError } : {}),
    };
  }

  /**
   * Stores the next desired version (ConfigVersionConflictError when baseVersion is not the current
   * one), audits it, and sends it when the gateway is online, waiting for the answer.
   */
  async put(gatewayId: string, config: ManagedConfig, baseVersion: number | undefined, actor: string): Promise<ConfigShadowView> {
    checkShape(config);
    const at = this.now();
    const sha256 = configSha256(config);
    const desired = await this.options.store.configs.putDesired({ gatewayId, config, sha256, setBy: actor, setAt: at, baseVersion });
    await this.options.store.dispatch.appendAudit({
      at,
      actor,
      action: 'config.set',
      subject: `gateway:${gatewayId}`,
      // Never the config's secrets: which fields carry one, not their values.
      details: { version: desired.version, sha256, devices: config.devices.map((d) => d.id), secretFields: secretPaths(config), ...(baseVersion !== undefined ? { baseVersion } : {}) },
    });
    this.logger.info({ gateway: gatewayId, version: desired.version, sha256, actor, operation: 'set desired config' }, 'desired config stored');
    await this.push(gatewayId);
    await this.deliver(gatewayId, desired);
    return this.view(gatewayId);
  }

  close(): void {
    this.unlisten();
  }

  /** A gateway (re)connected: send the newest desired version if it was never answered and the gateway runs an older one. */
  private async gatewayBorn(gatewayId: string, birth: GatewayBirth): Promise<void> {
    const { desired } = await this.options.store.configs.getShadow(gatewayId);
    if (!desired || desired.outcome !== 'pending') return;
    // It runs that version already (its answer was lost): the config.reported event settles it.
    if (birth.configVersion !== undefined && birth.configVersion >= desired.version) return;
    await this.deliver(gatewayId, desired);
  }

  private deliver(gatewayId: string, desired: DesiredConfig): Promise<void> {
    const previous = this.delivering.get(gatewayId) ?? Promise.resolve();
    const next = previous.then(() => this.send(gatewayId, desired));
    const tracked = next.finally(() => {
      if (this.delivering.get(gatewayId) === tracked) this.delivering.delete(gatewayId);
    });
    this.delivering.set(gatewayId, tracked);
    return tracked;
  }

  private async send(gatewayId: string, desired: DesiredConfig): Promise<void> {
    const log = this.logger.child({ gateway: gatewayId, version: desired.version, operation: 'config.apply' });
    // Settled meanwhile (a report, or a newer version queued behind this one)?
    const current = (await this.options.store.configs.getShadow(gatewayId)).desired;
    if (!current || current.version !== desired.version || current.outcome !== 'pending') return;
    let result;
    try {
      result = await this.options.commands.send(gatewayId, 'config.apply', { version: desired.version, config: desired.config }, { timeoutMs: this.options.applyTimeoutMs ?? DEFAULT_APPLY_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof GatewayOfflineError || err instanceof CommandTimeoutError) {
        log.info({ reason: err.message }, 'desired config stays pending; sent again when the gateway next comes online');
        return;
      }
      throw err;
    }
    const at = this.now();
    if (result.status === 'ok') {
      await this.options.store.configs.recordOutcome(gatewayId, desired.version, { applied: true }, at);
      log.info('desired config applied by the gateway');
    } else {
      await this.options.store.configs.recordOutcome(gatewayId, desired.version, { applied: false, code: result.error.code, message: result.error.message }, at);
      log.warn({ code: result.error.code, reason: result.error.message }, 'desired config refused by the gateway');
    }
    await this.push(gatewayId);
  }

  private async push(gatewayId: string): Promise<void> {
    if (!this.options.hub) return;
    this.options.hub.publish({ type: 'config', gateway: gatewayId, config: { ...(await this.view(gatewayId)) } });
  }
}

/** What no gateway could accept, refused before it is stored. */
function checkShape(config: ManagedConfig): void {
  const seen = new Map<string, number>();
  config.devices.forEach((device, i) => {
    const first = seen.get(device.id);
    if (first !== undefined) throw new ConfigRequestError(`body field 'config.devices[${i}].id': duplicate device id '${device.id}' (also devices[${first}])`);
    seen.set(device.id, i);
  });
}
