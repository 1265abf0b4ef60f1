/**
 * Polls one device on its interval, per its profile: raw values become a `reading` event,
 * cumulative lane counters become `counts` events (vehicles since the previous poll), and health
 * changes become `device.status` events. Everything of one poll goes into the outbox in one
 * transaction together with the counter values the counts were taken from, so a crash at any
 * moment neither loses nor double-counts a vehicle.
 */
import type { Logger } from 'pino';
import type { ErrorInfo, NewEvent } from '@quanlink/contracts';
import type { DeviceProfile, ResolvedPoint } from '@quanlink/device-profiles';
import { errorInfo, type ProtocolDriver } from '@quanlink/firmware-bridge';
import type { Outbox } from '../outbox/index.js';
import type { DeviceHealth, EventBus, Extension } from '../events/bus.js';
import { counterStep } from './counter.js';

export interface PollerOptions {
  device: string;
  profile: DeviceProfile;
  driver: ProtocolDriver;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  intervalMs: number;
  now?: () => number;
}

export interface PollerStatus {
  device: string;
  health: DeviceHealth | 'unknown';
  lastError?: ErrorInfo;
  lastPollAt?: number;
  polls: number;
  failures: number;
}

/** Errors that mean the device could not be reached at all, rather than answering wrongly. */
const UNREACHABLE_CODES = new Set(['DeviceUnreachable', 'DeviceTimeout']);

export class DevicePoller implements Extension {
  readonly name: string;
  private readonly now: () => number;
  private readonly counterPoints: ResolvedPoint[];
  /** Last counter value per point key, mirrored from the outbox's state. */
  private readonly counters = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = true;
  private readonly status: PollerStatus;

  constructor(private readonly opts: PollerOptions) {
    this.name = `poller:${opts.device}`;
    this.now = opts.now ?? Date.now;
    this.counterPoints = opts.profile.points.filter((p) => p.cumulative && p.lane !== undefined);
    for (const point of this.counterPoints) {
      const saved = opts.outbox.getState<number>(this.stateKey(point));
      if (saved !== undefined) this.counters.set(point.key, saved);
    }
    this.status = { device: opts.device, health: 'unknown', polls: 0, failures: 0 };
  }

  get currentStatus(): Readonly<PollerStatus> {
    return this.status;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    await this.opts.driver.close();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const startedAt = this.now();
      this.inFlight = this.pollOnce().finally(() => {
        this.inFlight = undefined;
        // Keep the cadence; a poll that overran its slot skips to the next one instead of piling up.
        const elapsed = this.now() - startedAt;
        this.schedule(Math.max(0, this.opts.intervalMs - (elapsed % this.opts.intervalMs)));
      });
    }, delayMs);
  }

  private stateKey(point: ResolvedPoint): string {
    return `counter/${this.opts.device}/${point.key}`;
  }

  /** One poll; never throws (a bad device must not stop the gateway). */
  async pollOnce(): Promise<void> {
    const { device, profile, driver, outbox, logger } = this.opts;
    this.status.polls++;
    let raw: Map<string, number>;
    try {
      raw = await driver.read(profile.points);
    } catch (err) {
      this.status.failures++;
      const info = errorInfo(err);
      this.setHealth(UNREACHABLE_CODES.has(info.code) ? 'unreachable' : 'error', info);
      return;
    }
    const ts = this.now();
    this.status.lastPollAt = ts;

    const values: Record<string, number> = {};
    for (const point of profile.points) {
      const value = raw.get(point.key);
      if (value === undefined) continue;
      const scaled = Math.round((value * point.scale + point.offset) * 1e6) / 1e6;
      if ((point.min !== undefined && scaled < point.min) || (point.max !== undefined && scaled > point.max)) {
        logger.warn({ device, point: point.key, value: scaled, min: point.min, max: point.max }, 'value out of the profile range, not stored');
        continue;
      }
      values[point.key] = scaled;
    }

    const lanes: Record<string, number> = {};
    let counterReset = false;
    const state: Record<string, number> = {};
    for (const point of this.counterPoints) {
      const current = raw.get(point.key);
      if (current === undefined) continue;
      const previous = this.counters.get(point.key);
      if (previous !== undefined && previous !== current) {
        const step = counterStep(previous, current, point.counterBits ?? 32);
        if (step.delta > 0) lanes[String(point.lane)] = (lanes[String(point.lane)] ?? 0) + step.delta;
        if (step.reset) counterReset = true;
      }
      // The first reading of a counter only sets the baseline: vehicles before it are not ours to count.
      if (previous !== current) state[this.stateKey(point)] = current;
    }

    const events: NewEvent[] = [{ ts, type: 'reading', device, data: { values } }];
    if (Object.keys(lanes).length > 0 || counterReset) {
      events.push({ ts, type: 'counts', device, data: counterReset ? { lanes, counterReset } : { lanes } });
    }
    const healthEvent = this.healthChange('ok');
    if (healthEvent) events.push({ ts, type: 'device.status', device, data: { state: 'ok' } });

    try {
      const stored = outbox.append(events, state);
      for (const point of this.counterPoints) {
        const current = raw.get(point.key);
        if (current !== undefined) this.counters.set(point.key, current);
      }
      if (healthEvent) this.commitHealth('ok');
      this.opts.bus.emit('outbox.appended', { lastSeq: stored[stored.length - 1]!.seq });
    } catch (err) {
      // Nothing of this poll was stored, so the counters keep their old baseline and the next poll counts these vehicles.
      logger.error({ device, err, operation: 'outbox append' }, 'could not store poll');
    }
  }

  private healthChange(state: DeviceHealth, error?: ErrorInfo): boolean {
    return this.status.health !== state || (error !== undefined && error.code !== this.status.lastError?.code);
  }

  private commitHealth(state: DeviceHealth, error?: ErrorInfo): void {
    const { device, logger } = this.opts;
    const was = this.status.health;
    this.status.health = state;
    if (error) this.status.lastError = error;
    else delete this.status.lastError;
    if (state === 'ok') logger.info({ device, was }, 'device healthy');
    else logger.warn({ device, state, error }, `device ${state}: ${error?.message ?? ''}`);
    this.opts.bus.emit('device.health', { device, state, ...(error ? { error } : {}) });
  }

  private setHealth(state: DeviceHealth, error: ErrorInfo): void {
    if (!this.healthChange(state, error)) return;
    try {
      const stored = this.opts.outbox.append([{ ts: this.now(), type: 'device.status', device: this.opts.device, data: { state, error } }]);
      this.commitHealth(state, error);
      this.opts.bus.emit('outbox.appended', { lastSeq: stored[0]!.seq });
    } catch (err) {
      this.opts.logger.error({ device: this.opts.device, err, operation: 'outbox append' }, 'could not store device status');
    }
  }
}
