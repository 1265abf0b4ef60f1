/**
 * Drives one guidance screen: on every change (a command, a message's start or end, a periodic
 * readback) it arbitrates the screen's active set, shows the winner through the sign driver, reads
 * back the CRC the screen reports and compares it with the one expected. What happens to each
 * dispatch (displayed, superseded, failed, expired, cancelled), the screen's own condition
 * (sign.status) and its reachability (device.status) become events in the outbox, never sent
 * directly, so nothing is lost across restarts.
 *
 * A report goes to the outbox first, together with a per-screen journal of what it reported; the
 * active set is updated after. A crash between the two is repaired at start by replaying the
 * journal, so a dispatch state is reported exactly once.
 */
import type { Logger } from 'pino';
import type { DispatchEdgeState, ErrorInfo, NewEvent, SignDispatchData, SignStatusData } from '@quanlink/contracts';
import { RetrySchedule, errorInfo, type ReconnectOptions, type SignDriver, type SignState } from '@quanlink/firmware-bridge';
import type { DeviceHealth, EventBus, Extension } from '../events/bus.js';
import type { Outbox, StateUpdates } from '../outbox/index.js';
import { HealthTracker, UNREACHABLE_CODES, type HealthChange } from '../devices/health.js';
import { arbitrate } from './arbitration.js';
import type { ActiveEntry, ActiveSet, EntryReport } from './active-set.js';

export interface ScreenSettings {
  /** Shown when no message is eligible, with its CRC (crcOfDisplayed); blank when absent. */
  defaultMessage?: { multi: string; crc: number };
  /** How often the screen is read back to notice it shows something else. Default 5000 ms. */
  readbackIntervalMs?: number;
  /** Attempts to show a message before it is reported failed. Default 3. */
  retries?: number;
  /** Delays between those attempts (firmware-bridge's backoff). Default 200 ms doubling to 5 s. */
  retryDelay?: ReconnectOptions;
}

export interface ScreenControllerOptions extends ScreenSettings {
  screen: string;
  driver: SignDriver;
  activeSet: ActiveSet;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  now?: () => number;
}

/** What the screen shows or should show: a message of the active set, the default message, or blank. */
interface Target {
  /** Same key, same content: a message's key changes when it is re-added. */
  key: string;
  multi: string;
  crc: number;
  entry?: ActiveEntry;
}

interface PendingReport {
  entry: ActiveEntry;
  state: DispatchEdgeState;
  readbackCrc?: number;
  reason?: string;
}

export interface ScreenStatus {
  device: string;
  kind: 'vms';
  health: DeviceHealth | 'unknown';
  lastError?: ErrorInfo;
  /** What the controller last confirmed on the screen by readback. */
  showing?: { source: 'message' | 'default' | 'blank'; crc: number; messageId?: string; dispatchId?: string };
  /** Entries in the screen's active set. */
  entries: number;
  /** The screen's condition at the last readback. */
  sign?: SignState;
  lastReadbackAt?: number;
  /** display/blank calls, and those that did not end with the right CRC on the screen. */
  drives: number;
  driveFailures: number;
}

type StatusSnapshot = Omit<SignStatusData, 'activeMessageId'>;

const MAX_REASON = 2000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const hex = (crc: number) => `0x${crc.toString(16).toUpperCase().padStart(4, '0')}`;

export class ScreenController implements Extension {
  readonly name: string;
  private readonly now: () => number;
  private readonly attempts: number;
  private readonly retry: RetrySchedule;
  private readonly health: HealthTracker;
  private stopped = true;
  private dirty = false;
  private readbackDue = false;
  private loop: Promise<void> | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private readbackTimer: NodeJS.Timeout | undefined;
  /** The target last confirmed on the screen. */
  private shown: Target | undefined;
  /** The target being retried after a failed attempt. */
  private failing: Target | undefined;
  /** Attempts the screen answered but did not take (refused, or read back another CRC). */
  private refusals = 0;
  private winnerId: string | undefined;
  private readonly status: ScreenStatus;

  constructor(private readonly opts: ScreenControllerOptions) {
    this.name = `screen:${opts.screen}`;
    this.now = opts.now ?? Date.now;
    this.attempts = Math.max(1, opts.retries ?? 3);
    this.retry = new RetrySchedule({ initialDelayMs: 200, maxDelayMs: 5000, factor: 2, jitter: 0.25, ...opts.retryDelay });
    this.health = new HealthTracker(opts.screen, opts.bus, opts.logger);
    this.status = { device: opts.screen, kind: 'vms', health: 'unknown', entries: 0, drives: 0, driveFailures: 0 };
  }

  get screen(): string {
    return this.opts.screen;
  }

  get currentStatus(): Readonly<ScreenStatus> {
    const { status, health } = this;
    return { ...status, health: health.health, ...(health.lastError ? { lastError: health.lastError } : {}) };
  }

  private key(kind: 'journal' | 'status'): string {
    return `signs/${this.opts.screen}/${kind}`;
  }

  async start(): Promise<void> {
    // Reports that reached the outbox but not the active set before a crash.
    const journal = this.opts.outbox.getState<EntryReport[]>(this.key('journal'));
    if (journal) this.opts.activeSet.applyReports(this.opts.screen, journal);
    this.stopped = false;
    const every = this.opts.readbackIntervalMs ?? 5000;
    this.readbackTimer = setInterval(() => {
      this.readbackDue = true;
      this.changed();
    }, every);
    // Read first: after a restart the screen may already show the winner, and need not be driven again.
    this.readbackDue = true;
    this.changed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.readbackTimer);
    clearTimeout(this.changeTimer);
    this.retry.cancel();
    await this.loop;
    await this.opts.driver.close();
  }

  /** Something changed (the active set, the time): arbitrate again. Runs are serialised per screen. */
  changed(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.loop) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = undefined;
      if (this.dirty) this.changed();
    });
  }

  /** Resolves when no run is in progress or pending (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private async runLoop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      try {
        await this.step();
      } catch (err) {
        this.opts.logger.error({ device: this.opts.screen, err, operation: 'screen arbitration' }, 'screen step failed');
      }
    }
  }

  private async step(): Promise<void> {
    const { screen, activeSet } = this.opts;
    let observed: SignState | undefined;
    if (this.readbackDue) {
      this.readbackDue = false;
      observed = await this.readState();
    }
    const now = this.now();
    const entries = activeSet.list(screen);
    const ending: PendingReport[] = entries.filter((e) => e.state === 'cancelled').map((entry) => ({ entry, state: 'cancelled' }));
    const result = arbitrate(entries.filter((e) => e.state !== 'cancelled'), now);
    for (const entry of result.ended) ending.push({ entry, state: 'expired' });
    this.report(ending);
    this.status.entries = entries.length - ending.length;
    this.armChangeTimer(result.nextChangeAt);

    const target = this.targetOf(result.winner);
    this.winnerId = target.entry?.message.id;
    if (this.failing && this.failing.key !== target.key) this.resetRetry();
    if (observed ? observed.displayedCrc === target.crc : this.shown?.key === target.key && this.shown.crc === target.crc) {
      this.confirm(target, result.eligible, observed?.displayedCrc ?? target.crc);
      return;
    }
    // During a backoff the retry timer wakes us; other wake-ups must not shorten it.
    if (this.failing && this.retry.waitMs > 0) return;
    await this.drive(target, result.eligible);
  }

  private targetOf(winner: ActiveEntry | undefined): Target {
    if (winner) return { key: `message:${winner.message.id}:${winner.rev}`, multi: winner.message.multi, crc: winner.message.crc, entry: winner };
    const fallback = this.opts.defaultMessage;
    if (fallback && fallback.multi !== '') return { key: 'default', multi: fallback.multi, crc: fallback.crc };
    return { key: 'blank', multi: '', crc: 0 };
  }

  /** The target is on the screen: the winner is displayed, every other eligible entry superseded. */
  private confirm(target: Target, eligible: readonly ActiveEntry[], readbackCrc: number): void {
    this.shown = target;
    this.resetRetry();
    this.status.showing = target.entry
      ? { source: 'message', crc: target.crc, messageId: target.entry.message.id, dispatchId: target.entry.dispatchId }
      : { source: target.key === 'default' ? 'default' : 'blank', crc: target.crc };
    const reports: PendingReport[] = [];
    if (target.entry && target.entry.lastReportedState !== 'displayed') reports.push({ entry: target.entry, state: 'displayed', readbackCrc });
    for (const entry of eligible) {
      if (entry !== target.entry && (entry.state === 'delivered' || entry.state === 'displayed')) reports.push({ entry, state: 'superseded' });
    }
    this.report(reports);
  }

  private async drive(target: Target, eligible: readonly ActiveEntry[]): Promise<void> {
    const { driver, screen, logger } = this.opts;
    this.status.drives++;
    let failure: string | undefined;
    let readbackCrc: number | undefined;
    try {
      if (target.multi === '') await driver.blank();
      else await driver.display(target.multi, target.crc);
    } catch (err) {
      const info = errorInfo(err);
      failure = info.message;
      // A refusal says nothing about reachability; a timeout or a lost connection does.
      if (UNREACHABLE_CODES.has(info.code)) this.observe(undefined, info);
    }
    if (failure === undefined) {
      const state = await this.readState();
      if (!state) failure = this.health.lastError?.message ?? 'readback failed';
      else if (state.displayedCrc === target.crc) return this.confirm(target, eligible, state.displayedCrc);
      else {
        readbackCrc = state.displayedCrc;
        failure = `readback CRC ${hex(state.displayedCrc)}, expected ${hex(target.crc)}`;
      }
    }
    this.status.driveFailures++;
    this.shown = undefined;
    // A screen that does not answer keeps its messages (retried with backoff until it is back);
    // only a screen that answers and refuses, or shows something else, uses up the attempts.
    const unreachable = this.health.health === 'unreachable';
    if (!unreachable) this.refusals++;
    if (unreachable || this.refusals < this.attempts) {
      this.failing = target;
      const delay = this.retry.retry(() => this.changed());
      logger.warn({ device: screen, operation: 'display', attempt: this.retry.failures, unreachable, delayMs: delay, reason: failure }, 'screen did not take the message; retrying');
      return;
    }
    this.resetRetry();
    const reason = readbackCrc !== undefined ? `${failure} after ${this.attempts} attempts` : failure;
    if (!target.entry) {
      logger.error({ device: screen, operation: 'display', target: target.key, reason }, 'screen could not be set to its default; the next readback tries again');
      return;
    }
    logger.warn({ device: screen, operation: 'display', dispatch: target.entry.dispatchId, reason }, 'message failed on the screen');
    this.report([{ entry: target.entry, state: 'failed', reason: reason.slice(0, MAX_REASON), ...(readbackCrc !== undefined ? { readbackCrc } : {}) }]);
    // The next entry (or the default) gets the screen.
    this.dirty = true;
  }

  private resetRetry(): void {
    this.failing = undefined;
    this.refusals = 0;
    this.retry.cancel();
    this.retry.succeeded();
  }

  /** Reads the screen's state; reports health and condition changes. Undefined when it did not answer. */
  private async readState(): Promise<SignState | undefined> {
    try {
      const state = await this.opts.driver.readState();
      this.status.lastReadbackAt = this.now();
      this.status.sign = state;
      this.observe(state);
      return state;
    } catch (err) {
      this.observe(undefined, errorInfo(err));
      return undefined;
    }
  }

  /** device.status when reachability changed, sign.status when the screen's condition changed. */
  private observe(state: SignState | undefined, failure?: ErrorInfo): void {
    const { screen, outbox } = this.opts;
    const ts = this.now();
    const events: NewEvent[] = [];
    const updates: Record<string, unknown> = {};
    const health: HealthChange | undefined = this.health.change(failure);
    if (health) events.push({ ts, type: 'device.status', device: screen, data: HealthTracker.eventData(health) });
    if (state) {
      const snapshot: StatusSnapshot = {
        doorOpen: state.doorOpen,
        powerFault: state.powerFault,
        controllerFault: state.controllerFault,
        pixelFailures: state.pixelFailures,
        ...(state.brightness !== undefined ? { brightness: state.brightness } : {}),
        displayedCrc: state.displayedCrc,
      };
      // What the screen shows is reported by sign.dispatch (displayed, with the readback CRC); a status
      // event is for the screen's own condition, so a new message alone does not make one.
      const { displayedCrc: _shown, ...condition } = snapshot;
      const { displayedCrc: _before, ...previous } = outbox.getState<StatusSnapshot>(this.key('status')) ?? ({} as Partial<StatusSnapshot>);
      if (JSON.stringify(condition) !== JSON.stringify(previous)) {
        events.push({ ts, type: 'sign.status', device: screen, data: { ...snapshot, ...(this.winnerId !== undefined ? { activeMessageId: this.winnerId } : {}) } });
        updates[this.key('status')] = snapshot;
      }
    }
    if (events.length === 0) return;
    if (this.append(events, updates) && health) this.health.commit(health);
  }

  /** Writes dispatch reports (each state once per dispatch), then moves the active set on. */
  private report(reports: readonly PendingReport[]): void {
    if (reports.length === 0) return;
    const { screen, activeSet } = this.opts;
    const ts = this.now();
    const journal: EntryReport[] = reports.map(({ entry, state }) => ({ dispatchId: entry.dispatchId, rev: entry.rev, state }));
    const events: NewEvent[] = reports
      .filter(({ entry, state }) => entry.lastReportedState !== state)
      .map(({ entry, state, readbackCrc, reason }) => {
        const data: SignDispatchData = {
          dispatchId: entry.dispatchId,
          messageId: entry.message.id,
          state,
          ...(readbackCrc !== undefined ? { readbackCrc } : {}),
          ...(reason !== undefined ? { reason } : {}),
        };
        return { ts, type: 'sign.dispatch', device: screen, data };
      });
    if (events.length > 0 && !this.append(events, { [this.key('journal')]: journal })) return;
    activeSet.applyReports(screen, journal);
    for (const e of events) if (e.type === 'sign.dispatch') this.opts.logger.info({ device: screen, ...e.data }, `dispatch ${e.data.state}`);
  }

  private append(events: NewEvent[], state: StateUpdates): boolean {
    try {
      const stored = this.opts.outbox.append(events, state);
      if (stored.length > 0) this.opts.bus.emit('outbox.appended', { lastSeq: stored[stored.length - 1]!.seq });
      return true;
    } catch (err) {
      this.opts.logger.error({ device: this.opts.screen, err, operation: 'outbox append' }, 'could not store screen events');
      return false;
    }
  }

  private armChangeTimer(at: number | undefined): void {
    clearTimeout(this.changeTimer);
    if (at === undefined || this.stopped) return;
    // +1 ms: timers may fire a hair before the wall clock reaches `at`.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.now() + 1));
    this.changeTimer = setTimeout(() => this.changed(), delay);
  }
}
