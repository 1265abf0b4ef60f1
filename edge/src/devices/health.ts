/**
 * A device's health as the gateway reports it: `device.status` events are sent on change only,
 * never as a heartbeat. Shared by the loop-detector poller and the screen controller.
 */
import type { Logger } from 'pino';
import type { ErrorInfo } from '@quanlink/contracts';
import { SIGN_ERROR_CODES } from '@quanlink/firmware-bridge';
import type { DeviceHealth, EventBus } from '../events/bus.js';

/** Errors that mean the device could not be reached at all, rather than answering wrongly. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['DeviceUnreachable', 'DeviceTimeout', SIGN_ERROR_CODES.timeout, SIGN_ERROR_CODES.unreachable]);

export interface HealthChange {
  state: DeviceHealth;
  error?: ErrorInfo;
}

export class HealthTracker {
  health: DeviceHealth | 'unknown' = 'unknown';
  lastError: ErrorInfo | undefined;

  constructor(
    private readonly device: string,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  /** The change an outcome makes (undefined = success), or undefined when the health stays as it is. */
  change(failure?: ErrorInfo): HealthChange | undefined {
    const state: DeviceHealth = failure === undefined ? 'ok' : UNREACHABLE_CODES.has(failure.code) ? 'unreachable' : 'error';
    if (this.health === state && (failure === undefined || failure.code === this.lastError?.code)) return undefined;
    return failure ? { state, error: failure } : { state };
  }

  /** The event data of a change, as the contract's device.status. */
  static eventData(change: HealthChange): { state: DeviceHealth; error?: ErrorInfo } {
    return change.error ? { state: change.state, error: change.error } : { state: change.state };
  }

  /** Adopts a change once its event is stored: logs it and tells the bus. */
  commit(change: HealthChange): void {
    const was = this.health;
    this.health = change.state;
    this.lastError = change.error;
    if (change.state === 'ok') this.logger.info({ device: this.device, was }, 'device healthy');
    else this.logger.warn({ device: this.device, state: change.state, error: change.error, operation: change.error?.operation }, `device ${change.state}: ${change.error?.message ?? ''}`);
    this.bus.emit('device.health', { device: this.device, state: change.state, ...(change.error ? { error: change.error } : {}) });
  }
}
