/**
 * Fleet operations that need more than the store: issuing enrolment tokens (the secret exists only
 * in the answer), enrolling a gateway with one, revoking a gateway (and cutting its live
 * connection), and rotating its password over its own authenticated link.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { generateSecret, hashSecret } from '../auth/secrets.js';
import { CommandTimeoutError, GatewayOfflineError, type CommandClient } from '../commands/command-client.js';
import { UnknownGatewayError, type CloudStore } from '../store/types.js';
import { FleetConflictError, type EnrolmentTokenRecord, type EnrolResult, type GatewayFleetInfo } from './types.js';

export const DEFAULT_TOKEN_HOURS = 24;
export const MAX_TOKEN_HOURS = 30 * 24;
const TOKEN_PREFIX = 'qle_';

export function hashEnrolmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface FleetServiceOptions {
  store: CloudStore;
  /** Sends credentials.rotate; rotation is refused when absent. */
  commands?: Pick<CommandClient, 'send'> | undefined;
  /** Closes a gateway's live MQTT connection; false when it had none (or the broker is not ours). */
  disconnectGateway?: ((gatewayId: string) => boolean) | undefined;
  /** Where gateways connect (mqtt:// or mqtts://). */
  mqttUrl: string;
  /** The CA that signed the broker's certificate, handed to enrolling gateways. */
  caCertPem?: string | undefined;
  logger: Logger;
  now?: (() => number) | undefined;
  /** How long a rotation waits for the gateway's answer; default 10 s. */
  rotateTimeoutMs?: number | undefined;
}

export interface IssueTokenRequest {
  siteId?: string | undefined;
  gridCellId?: string | undefined;
  gatewayId?: string | undefined;
  gatewayIdPrefix?: string | undefined;
  expiresInHours?: number | undefined;
  note?: string | undefined;
}

export interface EnrolRequest {
  token: string;
  gatewayId?: string | undefined;
  name?: string | undefined;
  hardware?: Record<string, unknown> | undefined;
}

export interface Enrolment extends EnrolResult {
  password: string;
  mqttUrl: string;
  caCertPem?: string | undefined;
}

/** Why a rotation did not happen (or is not confirmed); `status` is the HTTP status that says so. */
export class RotationError extends Error {
  override readonly name = 'RotationError';
  constructor(
    readonly status: 409 | 502 | 504,
    message: string,
  ) {
    super(message);
  }
}

/** Cancelling a rotation when none is pending (HTTP 404). */
export class NoPendingRotationError extends Error {
  override readonly name = 'NoPendingRotationError';
  constructor(
    readonly gatewayId: string,
    why = 'none was started, or the gateway already connected with its new password',
  ) {
    super(`gateway '${gatewayId}' has no pending credential rotation to cancel (${why})`);
  }
}

export class FleetService {
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: FleetServiceOptions) {
    this.logger = options.logger.child({ component: 'fleet' });
    this.now = options.now ?? Date.now;
  }

  get mqttUrl(): string {
    return this.options.mqttUrl;
  }

  get caCertPem(): string | undefined {
    return this.options.caCertPem;
  }

  /** A new one-time token: the secret is in the answer only; the store keeps its sha256. */
  async issueToken(request: IssueTokenRequest, actor: string): Promise<{ token: string; record: EnrolmentTokenRecord }> {
    const hours = request.expiresInHours ?? DEFAULT_TOKEN_HOURS;
    if (!(hours > 0 && hours <= MAX_TOKEN_HOURS)) throw new RangeError(`expiresInHours must be > 0 and <= ${MAX_TOKEN_HOURS}, got ${hours}`);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const at = this.now();
    const record = await this.options.store.fleet.createEnrolmentToken({
      id: `et-${randomBytes(6).toString('hex')}`,
      tokenHash: hashEnrolmentToken(token),
      siteId: request.siteId,
      gridCellId: request.gridCellId,
      gatewayId: request.gatewayId,
      gatewayIdPrefix: request.gatewayIdPrefix,
      note: request.note,
      createdAt: at,
      createdBy: actor,
      expiresAt: at + Math.round(hours * 3_600_000),
    });
    await this.audit(actor, 'enrolment-token.create', `enrolment-token:${record.id}`, {
      site: record.siteId,
      gridCell: record.gridCellId,
      gatewayId: record.gatewayId,
      gatewayIdPrefix: record.gatewayIdPrefix,
      expiresAt: record.expiresAt,
    });
    return { token, record };
  }

  async revokeToken(id: string, actor: string): Promise<EnrolmentTokenRecord> {
    const record = await this.options.store.fleet.revokeEnrolmentToken(id, actor, this.now());
    await this.audit(actor, 'enrolment-token.revoke', `enrolment-token:${id}`, {});
    return record;
  }

  /** Uses a token (EnrolmentRefusedError when it cannot be used); the password exists only in the answer. */
  async enrol(request: EnrolRequest): Promise<Enrolment> {
    const password = generateSecret();
    const result = await this.options.store.fleet.enrol({
      tokenHash: hashEnrolmentToken(request.token),
      gatewayId: request.gatewayId,
      name: request.name,
      hardware: request.hardware,
      passwordHash: await hashSecret(password),
      at: this.now(),
    });
    this.logger.info({ gateway: result.gatewayId, token: result.token.id, reEnrolled: result.reEnrolled, operation: 'enrol gateway' }, 'gateway enrolled');
    await this.audit(`enrolment-token:${result.token.id}`, result.reEnrolled ? 'gateway.re-enrol' : 'gateway.enrol', `gateway:${result.gatewayId}`, {
      site: result.token.siteId,
      gridCell: result.token.gridCellId,
    });
    return { ...result, password, mqttUrl: this.options.mqttUrl, ...(this.options.caCertPem !== undefined ? { caCertPem: this.options.caCertPem } : {}) };
  }

  /** Marks the gateway revoked and closes its live connection; the broker refuses it from now on. */
  async revoke(gatewayId: string, reason: string, actor: string): Promise<{ fleet: GatewayFleetInfo; disconnected: boolean }> {
    const fleet = await this.options.store.fleet.revokeGateway(gatewayId, actor, reason, this.now());
    const disconnected = this.options.disconnectGateway?.(gatewayId) ?? false;
    this.logger.warn({ gateway: gatewayId, actor, reason, disconnected, operation: 'revoke gateway' }, 'gateway revoked');
    await this.audit(actor, 'gateway.revoke', `gateway:${gatewayId}`, { reason, disconnected });
    return { fleet, disconnected };
  }

  /**
   * Sends the gateway a new password over its link. Until it connects with it, both passwords work.
   * Throws RotationError: 409 when it is revoked or offline (nothing changed), 502 when it refused
   * (nothing changed), 504 when it did not answer (both passwords stay valid).
   */
  async rotate(gatewayId: string, actor: string): Promise<{ rotationStartedAt: number }> {
    const { store, commands } = this.options;
    if (!commands) throw new RotationError(409, `cannot rotate gateway '${gatewayId}': this cloud sends no commands`);
    const state = await store.fleet.gatewayCredentials(gatewayId);
    if (state?.revoked) throw new FleetConflictError(`gateway '${gatewayId}' is revoked; re-enrol it with a new token instead`);
    // An unconfirmed rotation's password may be all the gateway holds: replacing it could lock it out.
    if (state?.pendingPasswordHash != null) {
      const since = (await store.fleet.gatewayFleet(gatewayId))?.rotationPendingSince;
      throw new RotationError(
        409,
        `cannot rotate credentials: gateway '${gatewayId}' has an unconfirmed rotation pending${since != null ? ` since ${new Date(since).toISOString()}` : ''} ` +
          '(it may hold that new password, so a newer one could lock it out); nothing changed. The pending rotation completes when the gateway ' +
          'connects with that password (its next reconnect or restart does it); rotate again after that. If it never received it, cancel the pending ' +
          `rotation (DELETE /api/v1/gateways/${gatewayId}/rotate-credentials), or revoke the gateway and re-enrol it with a token issued for its id`,
      );
    }
    // Checked before a pending password is replaced: an offline gateway may hold the one of an unconfirmed rotation.
    if (!(await store.getGateway(gatewayId))?.online) {
      throw new RotationError(409, `cannot rotate credentials: gateway ${gatewayId} is offline; nothing changed, try again when it is online`);
    }
    const password = generateSecret();
    const pendingHash = await hashSecret(password);
    const at = this.now();
    await store.fleet.beginRotation(gatewayId, pendingHash, at);
    let result;
    try {
      result = await commands.send(gatewayId, 'credentials.rotate', { password }, { timeoutMs: this.options.rotateTimeoutMs ?? 10_000 });
    } catch (err) {
      if (err instanceof GatewayOfflineError) {
        await store.fleet.cancelRotation(gatewayId, pendingHash);
        throw new RotationError(409, `cannot rotate credentials: ${err.message}; nothing changed, try again when it is online`);
      }
      if (err instanceof CommandTimeoutError) {
        // It may have stored the new password: keep both valid so that it is not locked out.
        await this.audit(actor, 'gateway.rotate-credentials', `gateway:${gatewayId}`, { outcome: 'unconfirmed' });
        throw new RotationError(504, `${err.message}; its old and new passwords both stay valid until it connects with the new one, and no other rotation starts until then`);
      }
      await store.fleet.cancelRotation(gatewayId, pendingHash);
      throw err;
    }
    if (result.status === 'error') {
      await store.fleet.cancelRotation(gatewayId, pendingHash);
      throw new RotationError(502, `gateway '${gatewayId}' refused the new credentials: ${result.error.message}; nothing changed`);
    }
    this.logger.info({ gateway: gatewayId, actor, operation: 'rotate credentials' }, 'gateway stored its new password; switching when it reconnects');
    await this.audit(actor, 'gateway.rotate-credentials', `gateway:${gatewayId}`, { outcome: 'delivered' });
    return { rotationStartedAt: at };
  }

  /**
   * Drops the password of an unconfirmed rotation (left pending by a 504) and keeps the current one,
   * so that a new rotation can start. Throws UnknownGatewayError, or NoPendingRotationError when
   * nothing is pending (the gateway may just have connected with the new password and completed it).
   */
  async cancelRotation(gatewayId: string, actor: string): Promise<{ pendingSince: number | null }> {
    const { store } = this.options;
    const state = await store.fleet.gatewayCredentials(gatewayId);
    if (!state) throw new UnknownGatewayError(gatewayId, 'cancel credential rotation');
    const pendingHash = state.pendingPasswordHash;
    if (pendingHash === null) throw new NoPendingRotationError(gatewayId);
    const pendingSince = (await store.fleet.gatewayFleet(gatewayId))?.rotationPendingSince ?? null;
    // Conditional on the hash: a rotation completed meanwhile (the gateway connected with it) stays completed.
    await store.fleet.cancelRotation(gatewayId, pendingHash);
    if ((await store.fleet.gatewayCredentials(gatewayId))?.passwordHash === pendingHash) throw new NoPendingRotationError(gatewayId, 'it completed just now');
    this.logger.warn({ gateway: gatewayId, actor, pendingSince, operation: 'cancel rotation' }, 'pending credential rotation cancelled; the current password stays');
    await this.audit(actor, 'gateway.rotate-credentials.cancel', `gateway:${gatewayId}`, { pendingSince });
    return { pendingSince };
  }

  private async audit(actor: string, action: string, subject: string, details: Record<string, unknown>): Promise<void> {
    await this.options.store.dispatch.appendAudit({ at: this.now(), actor, action, subject, details });
  }
}
