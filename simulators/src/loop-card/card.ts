/**
 * One simulated loop card, whatever wire it is served on: its clock, road, loop channels and
 * register image, its faults, and its answer to one request PDU addressed to it. The servers
 * (Modbus TCP, RTU on a serial line, RTU over TCP) frame what it answers.
 */
import { pino, type Logger } from 'pino';
import { loadBuiltinProfiles, type DeviceProfile, type ResolvedPoint } from '@quanlink/device-profiles';
import { ModbusRequestError, crc16Modbus, decodeRequestPdu, encodeExceptionPdu } from '@quanlink/firmware-bridge';
import type { ServerReply } from '../modbus/reply.js';
import { createRandom, deriveSeed, type Random } from '../random.js';
import { SimClock } from '../sim-clock.js';
import { LoopDetector } from './detector.js';
import { checkFault, isCommFault, isLaneFault, type CardTransport, type CommFault, type LaneFault, type LoopCardFault, type LoopCardFaultKind } from './faults.js';
import { truthPeriods, type PeriodRange, type TruthPeriod } from './periods.js';
import { pointValueSources } from './point-values.js';
import { RegisterMap } from './registers.js';
import { FirmwareUpdater } from '../firmware/block-transfer.js';
import type { ScenarioEvent } from './scenario.js';
import { formatClock, type TimeOfDayProfile } from './time-of-day.js';
import { TrafficModel, type ClassCounts, type TrafficParams } from './traffic.js';

export const DEFAULT_LOOP_CARD_PROFILE = 'quanlink-lc8';

/** Finer traffic settings (see TrafficParams). */
export type TrafficTuning = Partial<
  Pick<
    TrafficParams,
    | 'laneRateFactors'
    | 'signalCycleS'
    | 'platoonHeadwayS'
    | 'speedMeanKmh'
    | 'speedSdKmh'
    | 'laneSpeedStepKmh'
    | 'laneSpeeds'
    | 'classes'
    | 'loopLengthM'
    | 'minGapS'
    | 'retentionS'
  >
>;

/** What makes one card, on any transport. */
export interface CardOptions {
  /** Default 1. */
  unitId?: number;
  /** Default 1. Same seed, same vehicles. */
  seed?: number;
  /** Default: the builtin quanlink-lc8. */
  profile?: DeviceProfile;
  /** Mean vehicle arrivals per lane per sim second (over a day, with a time-of-day profile). Default 0.3. */
  ratePerLane?: number;
  /** Sim seconds per wall second. Default 1. */
  timeScale?: number;
  /** Wall milliseconds between background advances of the traffic model. Default 50. */
  tickMs?: number;
  /** Start with sim time stopped at 0. */
  startPaused?: boolean;
  /** Sim seconds after which no new vehicles arrive. */
  durationS?: number;
  /** Count register start value per lane (lane number -> count), e.g. near 2^32 to test wrapping. */
  initialCounts?: Record<number, number>;
  logger?: Logger;
  /** The card's aggregation window for its occupancy and speed registers, sim seconds. Default 1. */
  aggregationWindowS?: number;
  /** Clock hour at sim time 0, e.g. 7 for 07:00. Default 0. */
  startHour?: number;
  /** Demand by time of day. Default 'flat'. */
  timeOfDay?: TimeOfDayProfile;
  /** Share of the demand that arrives in platoons from an upstream signal, 0..1. Default 0. */
  platoonShare?: number;
  /** Incidents at given sim times. */
  scenario?: ScenarioEvent[];
  traffic?: TrafficTuning;
  /** Faults in force from the start. */
  faults?: LoopCardFault[];
  /** A profile with `firmware`: the version the card runs at start (default 1.0.0). */
  firmwareVersion?: string;
  /** Reboot time after a firmware update in ms; default the profile's firmware.rebootS. */
  firmwareRebootMs?: number;
}

export interface LaneCounts extends ClassCounts {
  count: number;
}

export interface LoopCardTruth {
  /** Vehicles that passed per lane since start (the road), keyed '1'..'N'. Not wrapped, not offset by initialCounts. */
  lanes: Record<string, number>;
  total: number;
  simTimeS: number;
  /** Clock time of day, 'HH:MM:SS'. */
  clock: string;
  /** False once no new vehicle can arrive (stopTraffic, or durationS reached). */
  generating: boolean;
  /** What the road did, per lane and length class. */
  road: { lanes: Record<string, LaneCounts>; total: number };
  /**
   * What the card's count registers say now (before wrapping and initialCounts): lane faults
   * applied, and while `frozen` (fault 'constant') the image taken when the registers froze.
   */
  reported: { lanes: Record<string, LaneCounts>; total: number; frozen: boolean };
  faults: LoopCardFault[];
}

/** Steering and ground truth of one card, on any transport. */
export interface LoopCardControls {
  readonly unitId: number;
  readonly profileId: string;
  readonly laneCount: number;
  /** A profile that declares `firmware`: the card's firmware updater (version, faults, blocks received). */
  readonly firmware?: FirmwareUpdater | undefined;
  truth(): LoopCardTruth;
  /** Ground truth per clock-aligned sample period of `periodS` sim seconds (a divisor of 3600: 20, 30, 60...). */
  periods(periodS: number, range?: PeriodRange): TruthPeriod[];
  pause(): void;
  resume(): void;
  /** No new arrivals from now on; vehicles on a loop leave it as they would. */
  stopTraffic(): void;
  /**
   * Sets a fault: a communication fault replaces the previous one; a lane fault replaces the
   * faults of its lanes; 'constant' freezes the registers. null clears every fault.
   */
  setFault(fault: LoopCardFault | null): void;
  /** Clears the faults of one kind (for lane faults, only on `lanes` when given). */
  clearFault(kind: LoopCardFaultKind, lanes?: number[]): void;
  faults(): LoopCardFault[];
}

let sharedLogger: Logger | undefined;
/** Warnings and errors to stderr (stdout may carry a CLI's machine-readable output or a test runner's). */
export function defaultLogger(): Logger {
  sharedLogger ??= pino({ name: 'loop-card', level: process.env['LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  return sharedLogger;
}

export function checkOption(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`loop card: ${message}`);
}

export const isInt = (n: number | undefined, min: number, max: number): boolean => Number.isInteger(n) && n! >= min && n! <= max;

function laneCountOf(profile: DeviceProfile): number {
  const fromPoints = Math.max(0, ...profile.points.map((p) => p.lane ?? 0));
  return Math.max(profile.lanes ?? 0, fromPoints);
}

export async function resolveProfile(profile: DeviceProfile | undefined): Promise<DeviceProfile> {
  if (profile) return profile;
  const builtin = (await loadBuiltinProfiles()).get(DEFAULT_LOOP_CARD_PROFILE);
  if (!builtin) throw new Error(`loop card: builtin profile ${DEFAULT_LOOP_CARD_PROFILE} not found`);
  return builtin;
}

export class LoopCard implements LoopCardControls {
  readonly unitId: number;
  readonly profile: DeviceProfile;
  readonly logger: Logger;
  private readonly clock: SimClock;
  private readonly model: TrafficModel;
  private readonly detector: LoopDetector;
  private readonly registers: RegisterMap;
  readonly firmware: FirmwareUpdater | undefined;
  private readonly sources: Map<ResolvedPoint, () => number>;
  private readonly noise: Random;
  private readonly ticker: NodeJS.Timeout;
  private comm: CommFault | undefined;
  private frozen: { values: Map<ResolvedPoint, number>; counts: Record<string, LaneCounts> } | undefined;

  /** Checks the options and builds the card; `describe` names it in logs once its transport is known. */
  static async create(opts: CardOptions, transport: CardTransport, describe: () => string): Promise<LoopCard> {
    return new LoopCard(opts, await resolveProfile(opts.profile), transport, describe);
  }

  private constructor(
    opts: CardOptions,
    profile: DeviceProfile,
    readonly transport: CardTransport,
    private readonly describe: () => string,
  ) {
    const unitId = opts.unitId ?? 1;
    const seed = opts.seed ?? 1;
    const tickMs = opts.tickMs ?? 50;
    const initialCounts = opts.initialCounts ?? {};
    checkOption(isInt(unitId, 1, 255), `unitId must be an integer 1..255, got ${unitId}`);
    checkOption(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
    checkOption(Number.isFinite(tickMs) && tickMs > 0, `tickMs must be > 0, got ${tickMs}`);
    const lanes = laneCountOf(profile);
    checkOption(lanes > 0, `profile ${profile.id} defines no lanes`);
    for (const [lane, count] of Object.entries(initialCounts)) {
      checkOption(isInt(Number(lane), 1, lanes), `initialCounts: lane ${lane} outside 1..${lanes}`);
      checkOption(Number.isSafeInteger(count) && count >= 0, `initialCounts: lane ${lane}: count must be a non-negative integer, got ${count}`);
    }
    this.unitId = unitId;
    this.profile = profile;
    this.logger = opts.logger ?? defaultLogger();
    // Stopped until the card is built and its initial faults are set: at a high time scale even
    // the milliseconds of construction would be sim seconds without them.
    this.clock = new SimClock(opts.timeScale ?? 1, true);
    this.model = new TrafficModel({
      ...opts.traffic,
      lanes,
      seed,
      ...(opts.ratePerLane !== undefined && { ratePerLane: opts.ratePerLane }),
      ...(opts.durationS !== undefined && { durationS: opts.durationS }),
      ...(opts.startHour !== undefined && { startHour: opts.startHour }),
      ...(opts.timeOfDay !== undefined && { timeOfDay: opts.timeOfDay }),
      ...(opts.platoonShare !== undefined && { platoonShare: opts.platoonShare }),
      ...(opts.scenario !== undefined && { scenario: opts.scenario }),
    });
    this.detector = new LoopDetector(this.model, opts.aggregationWindowS ?? 1);
    this.sources = pointValueSources(profile, this.detector, initialCounts, this.logger);
    if (profile.firmware) {
      const firmware = new FirmwareUpdater({
        spec: profile.firmware,
        profileId: profile.id,
        device: `loop-card(${profile.id}, unit ${unitId})`,
        logger: this.logger,
        ...(opts.firmwareVersion !== undefined ? { version: opts.firmwareVersion } : {}),
        ...(opts.firmwareRebootMs !== undefined ? { rebootMs: opts.firmwareRebootMs } : {}),
      });
      this.firmware = firmware;
      // The data register of the version (major * 256 + minor) follows the firmware the card runs.
      for (const point of profile.points) {
        if (point.quantity !== 'firmware-version') continue;
        this.sources.set(point, () => {
          const [major = 0, minor = 0] = firmware.version.split('.').map(Number);
          return major * 256 + minor;
        });
      }
    }
    this.registers = new RegisterMap(profile, (point) => this.frozen?.values.get(point) ?? this.sources.get(point)!(), {
      holesReadAsZero: (profile.modbus?.maxGap ?? 0) > 0,
    });
    this.noise = createRandom(deriveSeed(seed, 0));
    for (const fault of opts.faults ?? []) this.setFault(fault);
    if (!opts.startPaused) this.clock.resume();
    this.ticker = setInterval(() => this.advance(), tickMs);
    this.ticker.unref();
  }

  get profileId(): string {
    return this.profile.id;
  }

  get laneCount(): number {
    return this.detector.laneCount;
  }

  get deviceName(): string {
    return this.describe();
  }

  /** Answers one request PDU addressed to this card. */
  handle(pdu: Buffer): ServerReply {
    const functionCode = pdu[0] ?? 0;
    if (functionCode < 1 || functionCode > 0x7f) {
      // 0 and 128..255 are not function codes; there is no exception response that could name them.
      this.logger.debug({ device: this.deviceName, functionCode }, 'request with an invalid function code ignored');
      return undefined;
    }
    if (this.firmware?.silent) return undefined; // applying a firmware image and rebooting
    const fault = this.comm;
    if (fault?.kind === 'silent') return undefined;
    if (fault?.kind === 'drop') return { drop: true };
    const answer = fault?.kind === 'exception' ? encodeExceptionPdu(functionCode, fault.code) : this.answer(pdu);
    switch (fault?.kind) {
      case 'delay':
        return { pdu: answer, delayMs: fault.ms };
      case 'bad-crc':
        return { pdu: answer, badCrc: true };
      case 'garbage':
        return this.transport === 'tcp' ? { pdu: this.garbagePdu(functionCode, answer.length) } : { noise: this.lineNoise(answer.length + 3) };
      default:
        return { pdu: answer };
    }
  }

  /** A broadcast request (unit 0, RTU): writes are carried out, nothing is answered (Serial Line V1.02 §2.1). */
  broadcast(pdu: Buffer): void {
    if (this.comm?.kind === 'silent' || this.comm?.kind === 'drop') return;
    const functionCode = pdu[0] ?? 0;
    if (![0x05, 0x06, 0x0f, 0x10].includes(functionCode)) return;
    this.answer(pdu);
  }

  truth(): LoopCardTruth {
    this.advance();
    const road: Record<string, LaneCounts> = {};
    const reported: Record<string, LaneCounts> = {};
    const lanes: Record<string, number> = {};
    for (let lane = 1; lane <= this.laneCount; lane++) {
      const key = String(lane);
      road[key] = { count: this.model.counted(lane), ...this.model.countedByClass(lane) };
      reported[key] = this.frozen?.counts[key] ?? this.reportedCounts(lane);
      lanes[key] = road[key].count;
    }
    const sum = (counts: Record<string, LaneCounts>): number => Object.values(counts).reduce((s, c) => s + c.count, 0);
    return {
      lanes,
      total: this.model.totalCounted,
      simTimeS: this.model.simTimeS,
      clock: formatClock(this.model.clockS()),
      generating: this.model.generating,
      road: { lanes: road, total: sum(road) },
      reported: { lanes: reported, total: sum(reported), frozen: this.frozen !== undefined },
      faults: this.faults(),
    };
  }

  periods(periodS: number, range?: PeriodRange): TruthPeriod[] {
    this.advance();
    return truthPeriods(this.detector, periodS, range);
  }

  pause(): void {
    this.advance();
    this.clock.pause();
  }

  resume(): void {
    this.clock.resume();
  }

  stopTraffic(): void {
    this.advance();
    this.model.stopArrivals();
  }

  setFault(fault: LoopCardFault | null): void {
    this.advance();
    if (fault === null) {
      this.comm = undefined;
      this.detector.setLaneFault(this.allLanes(), null);
      this.frozen = undefined;
    } else {
      checkFault(fault, { lanes: this.laneCount, transport: this.transport });
      if (isCommFault(fault)) this.comm = { ...fault };
      else if (isLaneFault(fault)) this.detector.setLaneFault(fault.lanes, fault);
      else this.frozen ??= this.snapshot();
    }
    this.logger.info({ device: this.deviceName, operation: 'setFault', fault }, fault ? `fault ${fault.kind} set` : 'faults cleared');
  }

  clearFault(kind: LoopCardFaultKind, lanes?: number[]): void {
    this.advance();
    if (this.comm?.kind === kind) this.comm = undefined;
    if (kind === 'constant') this.frozen = undefined;
    const affected = (lanes ?? this.allLanes()).filter((lane) => this.detector.laneFault(lane)?.kind === kind);
    this.detector.setLaneFault(affected, null);
    this.logger.info({ device: this.deviceName, operation: 'clearFault', kind, lanes }, `fault ${kind} cleared`);
  }

  faults(): LoopCardFault[] {
    const faults: LoopCardFault[] = [];
    if (this.comm) faults.push({ ...this.comm });
    // Lanes with the same lane fault are listed together, as they would have been set.
    const grouped = new Map<string, LaneFault>();
    for (const lane of this.allLanes()) {
      const span = this.detector.laneFault(lane);
      if (!span) continue;
      const fault: LaneFault =
        span.kind === 'chatter'
          ? { kind: 'chatter', lanes: [], flagged: span.flagged, pulsesPerS: span.pulsesPerS, pulseMs: Math.round(span.pulseS * 1e6) / 1e3 }
          : { kind: span.kind, lanes: [], flagged: span.flagged };
      const key = JSON.stringify(fault);
      const group = grouped.get(key) ?? fault;
      group.lanes.push(lane);
      grouped.set(key, group);
    }
    faults.push(...grouped.values());
    if (this.frozen) faults.push({ kind: 'constant' });
    return faults;
  }

  /** Stops the background ticker; the card answers no more. */
  close(): void {
    clearInterval(this.ticker);
    this.firmware?.close();
  }

  private advance(): void {
    this.model.advanceTo(this.clock.nowS());
  }

  private allLanes(): number[] {
    return Array.from({ length: this.laneCount }, (_, i) => i + 1);
  }

  private reportedCounts(lane: number): LaneCounts {
    const classes = this.detector.reportedClasses(lane);
    return { count: classes.short + classes.medium + classes.long, ...classes };
  }

  /** The register image at this instant, and the counts behind it. */
  private snapshot(): { values: Map<ResolvedPoint, number>; counts: Record<string, LaneCounts> } {
    const counts: Record<string, LaneCounts> = {};
    for (const lane of this.allLanes()) counts[String(lane)] = this.reportedCounts(lane);
    const values = new Map<ResolvedPoint, number>();
    for (const [point, source] of this.sources) values.set(point, source());
    return { values, counts };
  }

  private answer(pdu: Buffer): Buffer {
    try {
      const firmwareAnswer = this.firmware?.answer(pdu);
      if (firmwareAnswer) return firmwareAnswer;
      const request = decodeRequestPdu(pdu);
      this.advance();
      return this.registers.answer(request);
    } catch (err) {
      if (err instanceof ModbusRequestError) return encodeExceptionPdu(err.functionCode, err.exceptionCode);
      throw err;
    }
  }

  /** In step with the stream (right transaction and unit id) but a PDU no client can accept: the request's function code, then noise. */
  private garbagePdu(functionCode: number, answerLength: number): Buffer {
    const garbage = Buffer.alloc(Math.min(253, answerLength + 3));
    for (let i = 1; i < garbage.length; i++) garbage[i] = Math.floor(this.noise.next() * 256);
    garbage[0] = functionCode;
    return garbage;
  }

  /** Random bytes on the line, never by chance a frame with a valid CRC. */
  private lineNoise(length: number): Buffer {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(this.noise.next() * 256);
    if (length >= 4 && crc16Modbus(bytes.subarray(0, length - 2)) === bytes.readUInt16LE(length - 2)) bytes[length - 1]! ^= 0xff;
    return bytes;
  }
}
