/**
 * A simulated multi-lane inductive loop card: a Modbus TCP server whose registers, laid out by a
 * device profile (default: the builtin quanlink-lc8), show a seeded traffic model, with ground
 * truth to test against and faults to inject.
 */
import { pino, type Logger } from 'pino';
import { loadBuiltinProfiles, type DeviceProfile } from '@quanlink/device-profiles';
import {
  EXCEPTION_CODES,
  ModbusRequestError,
  decodeRequestPdu,
  encodeExceptionPdu,
  type MbapFrame,
} from '@quanlink/firmware-bridge';
import { ModbusTcpServer, type ServerReply } from '../modbus-tcp-server.js';
import { createRandom, deriveSeed } from '../random.js';
import { SimClock } from '../sim-clock.js';
import { pointValueSources } from './point-values.js';
import { RegisterMap } from './registers.js';
import { TrafficModel } from './traffic.js';

export const DEFAULT_LOOP_CARD_PROFILE = 'quanlink-lc8';

export interface LoopCardOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port chosen by the OS. */
  port?: number;
  /** Default 1. */
  unitId?: number;
  /** Default 1. Same seed, same vehicles. */
  seed?: number;
  /** Default: the builtin quanlink-lc8. */
  profile?: DeviceProfile;
  /** Mean vehicle arrivals per lane per sim second. Default 0.3. */
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
  /** Aggregation window for occupancy and speed, sim seconds. Default 1. */
  aggregationWindowS?: number;
  /**
   * Requests for another unit id: 'ignore' (default) sends no answer, like a gateway with nothing
   * behind that id; 'exception' answers GatewayTargetDeviceFailedToRespond (11).
   */
  otherUnitIds?: 'ignore' | 'exception';
}

export interface LoopCardTruth {
  /** Vehicles counted per lane since start, keyed '1'..'N'. Not wrapped, not offset by initialCounts. */
  lanes: Record<string, number>;
  total: number;
  simTimeS: number;
  /** False once no new vehicle can arrive (stopTraffic, or durationS reached). */
  generating: boolean;
}

export type LoopCardFault = { kind: 'exception'; code: number } | { kind: 'delay'; ms: number } | { kind: 'silent' } | { kind: 'garbage' };

export interface LoopCardSimulator {
  readonly host: string;
  readonly port: number;
  readonly unitId: number;
  truth(): LoopCardTruth;
  pause(): void;
  resume(): void;
  /** No new arrivals from now on; vehicles on a loop leave it as they would. */
  stopTraffic(): void;
  /** Closes the listener and drops every client connection; the traffic state is kept. */
  closePort(): Promise<void>;
  /** Listens again on the same port. */
  openPort(): Promise<void>;
  setFault(fault: LoopCardFault | null): void;
  close(): Promise<void>;
}

/** Throws a RangeError naming the fault's problem when it is not one the card can play. */
export function checkFault(fault: LoopCardFault): void {
  switch (fault.kind) {
    case 'exception':
      if (!Number.isInteger(fault.code) || fault.code < 1 || fault.code > 255) {
        throw new RangeError(`fault exception code must be an integer 1..255, got ${String(fault.code)}`);
      }
      return;
    case 'delay':
      if (!Number.isFinite(fault.ms) || fault.ms < 0) throw new RangeError(`fault delay ms must be >= 0, got ${String(fault.ms)}`);
      return;
    case 'silent':
    case 'garbage':
      return;
    default:
      throw new RangeError(`unknown fault kind ${JSON.stringify((fault as { kind?: unknown }).kind)}`);
  }
}

function checkOption(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`loop card: ${message}`);
}

const isInt = (n: number | undefined, min: number, max: number): boolean => Number.isInteger(n) && n! >= min && n! <= max;

let sharedLogger: Logger | undefined;
/** Warnings and errors to stderr (stdout may carry a CLI's machine-readable output or a test runner's). */
function defaultLogger(): Logger {
  sharedLogger ??= pino({ name: 'loop-card', level: process.env['LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  return sharedLogger;
}

function laneCountOf(profile: DeviceProfile): number {
  const fromPoints = Math.max(0, ...profile.points.map((p) => p.lane ?? 0));
  return Math.max(profile.lanes ?? 0, fromPoints);
}

export async function startLoopCardSimulator(opts: LoopCardOptions = {}): Promise<LoopCardSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const unitId = opts.unitId ?? 1;
  const seed = opts.seed ?? 1;
  const tickMs = opts.tickMs ?? 50;
  const initialCounts = opts.initialCounts ?? {};
  const logger = opts.logger ?? defaultLogger();
  checkOption(isInt(port, 0, 65535), `port must be an integer 0..65535, got ${port}`);
  checkOption(isInt(unitId, 1, 255), `unitId must be an integer 1..255, got ${unitId}`);
  checkOption(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
  checkOption(Number.isFinite(tickMs) && tickMs > 0, `tickMs must be > 0, got ${tickMs}`);

  let profile = opts.profile;
  if (!profile) {
    profile = (await loadBuiltinProfiles()).get(DEFAULT_LOOP_CARD_PROFILE);
    if (!profile) throw new Error(`loop card: builtin profile ${DEFAULT_LOOP_CARD_PROFILE} not found`);
  }
  const lanes = laneCountOf(profile);
  checkOption(lanes > 0, `profile ${profile.id} defines no lanes`);
  for (const [lane, count] of Object.entries(initialCounts)) {
    checkOption(isInt(Number(lane), 1, lanes), `initialCounts: lane ${lane} outside 1..${lanes}`);
    checkOption(Number.isSafeInteger(count) && count >= 0, `initialCounts: lane ${lane}: count must be a non-negative integer, got ${count}`);
  }

  const clock = new SimClock(opts.timeScale ?? 1, opts.startPaused ?? false);
  const model = new TrafficModel({
    lanes,
    seed,
    ...(opts.ratePerLane !== undefined && { ratePerLane: opts.ratePerLane }),
    ...(opts.durationS !== undefined && { durationS: opts.durationS }),
    ...(opts.aggregationWindowS !== undefined && { windowS: opts.aggregationWindowS }),
  });
  const sources = pointValueSources(profile, model, initialCounts, logger);
  const registers = new RegisterMap(profile, (point) => sources.get(point)!());
  const noise = createRandom(deriveSeed(seed, 0));
  const otherUnitIds = opts.otherUnitIds ?? 'ignore';
  let fault: LoopCardFault | null = null;
  let closed = false;

  const advance = (): void => model.advanceTo(clock.nowS());

  const answer = (frame: MbapFrame): Buffer => {
    try {
      const request = decodeRequestPdu(frame.pdu);
      if (fault?.kind === 'exception') return encodeExceptionPdu(request.functionCode, fault.code);
      advance();
      return registers.answer(request);
    } catch (err) {
      if (err instanceof ModbusRequestError) return encodeExceptionPdu(err.functionCode, err.exceptionCode);
      throw err;
    }
  };

  const handle = (frame: MbapFrame, client: string): ServerReply => {
    const functionCode = frame.pdu[0] ?? 0;
    if (frame.unitId !== unitId) {
      if (otherUnitIds === 'ignore' || frame.unitId === 0) return undefined; // unit 0 is broadcast: never answered
      if (functionCode < 1 || functionCode > 0x7f) return undefined;
      return { pdu: encodeExceptionPdu(functionCode, EXCEPTION_CODES.gatewayTargetFailedToRespond) };
    }
    if (functionCode < 1 || functionCode > 0x7f) {
      // 0 and 128..255 are not function codes; there is no exception response that could name them.
      logger.debug({ device: server.deviceName, client, functionCode }, 'request with an invalid function code ignored');
      return undefined;
    }
    if (fault?.kind === 'silent') return undefined;
    const pdu = answer(frame);
    if (fault?.kind === 'delay') return { pdu, delayMs: fault.ms };
    if (fault?.kind === 'garbage') {
      // In step with the stream (right transaction and unit id) but a PDU no client can accept:
      // the request's function code, then noise, 3 bytes longer than the real answer.
      const garbage = Buffer.alloc(Math.min(253, pdu.length + 3));
      for (let i = 1; i < garbage.length; i++) garbage[i] = Math.floor(noise.next() * 256);
      garbage[0] = functionCode;
      return { pdu: garbage };
    }
    return { pdu };
  };

  const server = new ModbusTcpServer({ host, port, device: `loop-card(${profile.id}, unit ${unitId})`, logger, handle });
  await server.listen();
  const ticker = setInterval(advance, tickMs);
  ticker.unref();
  logger.info({ device: server.deviceName, operation: 'start', seed, lanes, profile: profile.id }, 'loop card simulator listening');

  return {
    host,
    get port() {
      return server.port;
    },
    unitId,
    truth(): LoopCardTruth {
      advance();
      const laneCounts: Record<string, number> = {};
      for (let lane = 1; lane <= model.laneCount; lane++) laneCounts[String(lane)] = model.counted(lane);
      return { lanes: laneCounts, total: model.totalCounted, simTimeS: model.simTimeS, generating: model.generating };
    },
    pause(): void {
      advance();
      clock.pause();
    },
    resume(): void {
      clock.resume();
    },
    stopTraffic(): void {
      advance();
      model.stopArrivals();
    },
    async closePort(): Promise<void> {
      await server.close();
      logger.info({ device: server.deviceName, operation: 'closePort' }, 'port closed');
    },
    async openPort(): Promise<void> {
      if (closed) throw new Error(`loop card ${server.deviceName}: openPort after close`);
      await server.listen();
      logger.info({ device: server.deviceName, operation: 'openPort' }, 'port open');
    },
    setFault(next: LoopCardFault | null): void {
      if (next) checkFault(next);
      fault = next;
      logger.info({ device: server.deviceName, operation: 'setFault', fault: next }, next ? `fault ${next.kind} set` : 'fault cleared');
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(ticker);
      await server.close();
    },
  };
}
