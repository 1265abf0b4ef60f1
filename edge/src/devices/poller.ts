/**
 * Polls one device on its interval, per its profile: raw values are kept locally (and become a
 * `reading` event when the binding syncs them),
 * cumulative lane counters become `counts` events (vehicles since the previous poll), the polls of
 * each clock-aligned sample period become a `traffic.period` event, detector faults become
 * `detector.diagnostic` events and health changes `device.status` events. Everything one poll
 * produces goes into the outbox in one transaction together with the state it was derived from
 * (counter baselines, the open period, diagnostic runs, g-factors), so a crash at any moment
 * neither loses nor double-counts a vehicle.
 */
import type { Logger } from 'pino';
import type { ErrorInfo, NewEvent } from '@quanlink/contracts';
import type { DeviceProfile, ResolvedPoint } from '@quanlink/device-profiles';
import { errorInfo, type ProtocolDriver } from '@quanlink/firmware-bridge';
import type { Outbox } from '../outbox/index.js';
import type { DeviceHealth, EventBus, Extension } from '../events/bus.js';
import { HealthTracker, type HealthChange } from './health.js';
import { DetectorDiagnostics, DEFAULT_THRESHOLDS, type DiagnosticThresholds, type DiagnosticsState } from '../traffic/diagnostics.js';
import { LENGTH_CLASSES, PeriodAggregator, type LaneSample, type LengthClass, type PeriodState } from '../traffic/periods.js';
import { refitG, type SpeedModel } from '../traffic/speed-estimate.js';
import type { LocalReadings } from '../readings/local-readings.js';
import { counterStep } from './counter.js';

export interface TrafficSettings {
  /** Sample period, seconds; periods start on the wall-clock boundary. */
  periodS: number;
  /** Effective vehicle length for single-loop speed estimation, metres: one for all lanes or per lane. */
  gMetres: number | Record<string, number>;
  freeFlowKmh: number;
  diagnostics: DiagnosticThresholds;
}

export const DEFAULT_TRAFFIC: TrafficSettings = { periodS: 30, gMetres: 6.5, freeFlowKmh: 80, diagnostics: DEFAULT_THRESHOLDS };

export interface PollerOptions {
  device: string;
  profile: DeviceProfile;
  driver: ProtocolDriver;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  intervalMs: number;
  traffic?: TrafficSettings;
  /** Raw readings: kept on the gateway here, and synced to the cloud only when `syncReadings`. */
  localReadings?: LocalReadings;
  syncReadings?: boolean;
  now?: () => number;
}

export interface PollerStatus {
  device: string;
  health: DeviceHealth | 'unknown';
  lastError?: ErrorInfo;
  lastPollAt?: number;
  polls: number;
  failures: number;
  diagnostics: ReturnType<DetectorDiagnostics['active']>;
}

const CLASS_QUANTITY = /^vehicle-count-(short|medium|long)$/;

/** The lane points the traffic model reads, found by quantity. */
interface LanePoints {
  count?: ResolvedPoint;
  occupancy?: ResolvedPoint;
  speed?: ResolvedPoint;
  classes: Partial<Record<LengthClass, ResolvedPoint>>;
}

export class DevicePoller implements Extension {
  readonly name: string;
  private readonly now: () => number;
  private readonly cumulativePoints: ResolvedPoint[];
  private readonly lanes = new Map<string, LanePoints>();
  /** Last counter value per point key, mirrored from the outbox's state. */
  private readonly counters = new Map<string, number>();
  private readonly aggregator: PeriodAggregator;
  private readonly diagnostics: DetectorDiagnostics;
  private gFactors: Record<string, number>;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = true;
  private readonly status: PollerStatus;
  private readonly health: HealthTracker;
  private readonly traffic: TrafficSettings;

  constructor(private readonly opts: PollerOptions) {
    const { device, profile, outbox } = opts;
    this.name = `poller:${device}`;
    this.now = opts.now ?? Date.now;
    this.traffic = opts.traffic ?? DEFAULT_TRAFFIC;
    this.cumulativePoints = profile.points.filter((p) => p.cumulative && p.lane !== undefined);
    for (const point of this.cumulativePoints) {
      const saved = outbox.getState<number>(this.key('counter', point.key));
      if (saved !== undefined) this.counters.set(point.key, saved);
    }
    for (const point of profile.points) {
      if (point.lane === undefined) continue;
      const lane = this.lanes.get(String(point.lane)) ?? { classes: {} };
      const cls = CLASS_QUANTITY.exec(point.quantity ?? '')?.[1] as LengthClass | undefined;
      if (point.quantity === 'vehicle-count' && point.cumulative) lane.count = point;
      else if (point.quantity === 'occupancy') lane.occupancy = point;
      else if (point.quantity === 'speed') lane.speed = point;
      else if (cls && point.cumulative) lane.classes[cls] = point;
      this.lanes.set(String(point.lane), lane);
    }
    const savedG = outbox.getState<Record<string, number>>(this.key('g'));
    this.gFactors = savedG ?? {};
    this.aggregator = new PeriodAggregator(
      this.traffic.periodS,
      opts.intervalMs,
      (lane) => this.speedModel(lane),
      outbox.getState<PeriodState>(this.key('period')),
    );
    this.diagnostics = new DetectorDiagnostics(this.traffic.diagnostics, outbox.getState<DiagnosticsState>(this.key('diagnostics')));
    this.status = { device, health: 'unknown', polls: 0, failures: 0, diagnostics: this.diagnostics.active() };
    this.health = new HealthTracker(device, opts.bus, opts.logger);
  }

  get currentStatus(): Readonly<PollerStatus> {
    this.status.health = this.health.health;
    if (this.health.lastError) this.status.lastError = this.health.lastError;
    else delete this.status.lastError;
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

  private key(kind: string, suffix?: string): string {
    return suffix === undefined ? `${kind}/${this.opts.device}` : `${kind}/${this.opts.device}/${suffix}`;
  }

  private speedModel(lane: string): SpeedModel {
    const configured = this.traffic.gMetres;
    const g = this.gFactors[lane] ?? (typeof configured === 'number' ? configured : (configured[lane] ?? DEFAULT_TRAFFIC.gMetres as number));
    return { gMetres: g, freeFlowKmh: this.traffic.freeFlowKmh };
  }

  /** One poll; never throws (a bad device must not stop the gateway). */
  async pollOnce(): Promise<void> {
    const { device, profile, driver, logger } = this.opts;
    this.status.polls++;
    let raw: Map<string, number> | undefined;
    let failure: ErrorInfo | undefined;
    try {
      raw = await driver.read(profile.points);
    } catch (err) {
      this.status.failures++;
      failure = errorInfo(err);
    }
    const ts = this.now();
    const events: NewEvent[] = [];
    const state: Record<string, unknown> = {};
    const health: HealthChange | undefined = this.health.change(failure);
    let samples: Record<string, LaneSample> | undefined;

    if (raw) {
      this.status.lastPollAt = ts;
      const values = this.scaledValues(raw);
      const { lanes, counterReset, counterState } = this.countVehicles(raw);
      Object.assign(state, counterState);
      this.opts.localReadings?.add({ device, ts, values });
      // The cloud gets sample periods; raw readings at the card's rate travel only when asked for.
      if (this.opts.syncReadings) events.push({ ts, type: 'reading', device, data: { values } });
      if (Object.keys(lanes.total).length > 0 || counterReset) {
        events.push({ ts, type: 'counts', device, data: counterReset ? { lanes: lanes.total, counterReset } : { lanes: lanes.total } });
      }
      samples = this.laneSamples(values, lanes);
    }
    if (health) events.push({ ts, type: 'device.status', device, data: HealthTracker.eventData(health) });

    for (const diagnostic of this.diagnostics.poll(ts, raw !== undefined)) events.push({ ts, type: 'detector.diagnostic', device, data: diagnostic });
    for (const closed of this.aggregator.add(ts, samples)) {
      events.push({ ts, type: 'traffic.period', device, data: closed.data });
      for (const diagnostic of this.diagnostics.period(closed)) events.push({ ts, type: 'detector.diagnostic', device, data: diagnostic });
      this.refitSpeedModels(closed.data.lanes);
      state[this.key('g')] = this.gFactors;
    }
    state[this.key('period')] = this.aggregator.snapshot;
    state[this.key('diagnostics')] = this.diagnostics.state;

    try {
      const stored = this.opts.outbox.append(events, state);
      if (raw) for (const point of this.cumulativePoints) {
        const current = raw.get(point.key);
        if (current !== undefined) this.counters.set(point.key, current);
      }
      if (health) this.health.commit(health);
      this.status.diagnostics = this.diagnostics.active();
      for (const e of events) if (e.type === 'detector.diagnostic') logger.warn({ device, operation: 'diagnostics', ...e.data }, `detector ${e.data.condition} ${e.data.state}`);
      if (stored.length > 0) this.opts.bus.emit('outbox.appended', { lastSeq: stored[stored.length - 1]!.seq });
    } catch (err) {
      // Nothing of this poll was stored, so the counters keep their old baseline and the next poll counts these vehicles.
      logger.error({ device, err, operation: 'outbox append' }, 'could not store poll');
    }
  }

  private scaledValues(raw: Map<string, number>): Record<string, number> {
    const { device, profile, logger } = this.opts;
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
    return values;
  }

  /** Deltas of every cumulative lane counter since the previous poll, and the new baselines. */
  private countVehicles(raw: Map<string, number>) {
    const deltas = new Map<string, number>();
    let counterReset = false;
    const counterState: Record<string, number> = {};
    for (const point of this.cumulativePoints) {
      const current = raw.get(point.key);
      if (current === undefined) continue;
      const previous = this.counters.get(point.key);
      if (previous !== undefined && previous !== current) {
        const step = counterStep(previous, current, point.counterBits ?? 32);
        deltas.set(point.key, step.delta);
        if (step.reset && point.quantity === 'vehicle-count') counterReset = true;
      }
      // The first reading of a counter only sets the baseline: vehicles before it are not ours to count.
      if (previous !== current) counterState[this.key('counter', point.key)] = current;
    }
    const total: Record<string, number> = {};
    for (const [lane, points] of this.lanes) {
      const delta = points.count ? (deltas.get(points.count.key) ?? 0) : 0;
      if (delta > 0) total[lane] = delta;
    }
    return { lanes: { total, deltas }, counterReset, counterState };
  }

  private laneSamples(values: Record<string, number>, lanes: { deltas: Map<string, number> }): Record<string, LaneSample> {
    const samples: Record<string, LaneSample> = {};
    for (const [lane, points] of this.lanes) {
      if (!points.count) continue;
      const sample: LaneSample = { delta: lanes.deltas.get(points.count.key) ?? 0 };
      if (points.occupancy && values[points.occupancy.key] !== undefined) sample.occupancy = toPercent(values[points.occupancy.key]!, points.occupancy.unit);
      if (points.speed && values[points.speed.key] !== undefined) sample.speed = toKmh(values[points.speed.key]!, points.speed.unit);
      const classPoints = LENGTH_CLASSES.filter((cls) => points.classes[cls]);
      if (classPoints.length > 0) {
        sample.classDeltas = Object.fromEntries(classPoints.map((cls) => [cls, lanes.deltas.get(points.classes[cls]!.key) ?? 0]));
      }
      samples[lane] = sample;
    }
    return samples;
  }

  /** Measured speeds give g directly; without them, free-flowing periods re-fit it. */
  private refitSpeedModels(lanes: Record<string, { flow: number; occupancy?: number; speed?: number; speedSource: string }>): void {
    for (const [lane, period] of Object.entries(lanes)) {
      const model = this.speedModel(lane);
      if (period.speedSource === 'measured' && period.speed && period.occupancy && period.flow > 0) {
        const observed = (period.speed * 1000 * (period.occupancy / 100)) / period.flow;
        this.gFactors[lane] = Math.min(20, Math.max(3, model.gMetres + 0.1 * (observed - model.gMetres)));
      } else if (period.speedSource !== 'measured') {
        this.gFactors[lane] = refitG(model, period.flow, period.occupancy);
      }
    }
  }
}

/** Occupancy in the traffic model is percent whatever unit the card reports. */
function toPercent(value: number, unit: string | undefined): number {
  return unit === '‰' || unit === 'permille' ? value / 10 : value;
}

/** Speeds in the traffic model are km/h whatever unit the card reports. */
function toKmh(value: number, unit: string | undefined): number {
  if (unit === 'm/s') return value * 3.6;
  if (unit === 'mph') return value * 1.609344;
  return value;
}
