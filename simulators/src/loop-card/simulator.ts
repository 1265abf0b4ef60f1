/**
 * A simulated multi-lane inductive loop card served on Modbus TCP: one card behind its own port,
 * with its registers laid out by a device profile (default: the builtin quanlink-lc8), ground
 * truth to test against and faults to inject. For several cards on one RTU line, see bus.ts.
 */
import { EXCEPTION_CODES, encodeExceptionPdu } from '@quanlink/firmware-bridge';
import { ModbusTcpServer } from '../modbus/tcp-server.js';
import type { ServerReply } from '../modbus/reply.js';
import { LoopCard, checkOption, isInt, type CardOptions, type LoopCardControls } from './card.js';

export { DEFAULT_LOOP_CARD_PROFILE } from './card.js';
export type { CardOptions, LoopCardControls, LoopCardTruth, LaneCounts, TrafficTuning } from './card.js';
export { checkFault, type LoopCardFault } from './faults.js';

export interface LoopCardOptions extends CardOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port chosen by the OS. */
  port?: number;
  /**
   * Requests for another unit id: 'ignore' (default) sends no answer, like a gateway with nothing
   * behind that id; 'exception' answers GatewayTargetDeviceFailedToRespond (11).
   */
  otherUnitIds?: 'ignore' | 'exception';
}

export interface LoopCardSimulator extends LoopCardControls {
  readonly host: string;
  readonly port: number;
  /** Closes the listener and drops every client connection; the traffic state is kept. */
  closePort(): Promise<void>;
  /** Listens again on the same port. */
  openPort(): Promise<void>;
  close(): Promise<void>;
}

export async function startLoopCardSimulator(opts: LoopCardOptions = {}): Promise<LoopCardSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  checkOption(isInt(port, 0, 65535), `port must be an integer 0..65535, got ${port}`);
  let server: ModbusTcpServer | undefined;
  const card = await LoopCard.create(opts, 'tcp', () => server?.deviceName ?? `loop-card(${opts.profile?.id ?? 'default'}, unit ${opts.unitId ?? 1})`);
  const otherUnitIds = opts.otherUnitIds ?? 'ignore';
  const logger = card.logger;

  const handle = ({ unitId, pdu }: { unitId: number; pdu: Buffer }): ServerReply => {
    if (unitId === card.unitId) return card.handle(pdu);
    const functionCode = pdu[0] ?? 0;
    if (otherUnitIds === 'ignore' || unitId === 0) return undefined; // unit 0 is broadcast: never answered
    if (functionCode < 1 || functionCode > 0x7f) return undefined;
    return { pdu: encodeExceptionPdu(functionCode, EXCEPTION_CODES.gatewayTargetFailedToRespond) };
  };

  server = new ModbusTcpServer({ host, port, device: `loop-card(${card.profileId}, unit ${card.unitId})`, logger, handle });
  try {
    await server.listen();
  } catch (err) {
    card.close();
    throw err;
  }
  const tcp = server;
  let closed = false;
  logger.info({ device: tcp.deviceName, operation: 'start', seed: opts.seed ?? 1, lanes: card.laneCount, profile: card.profileId }, 'loop card simulator listening');

  return {
    host,
    get port() {
      return tcp.port;
    },
    unitId: card.unitId,
    profileId: card.profileId,
    laneCount: card.laneCount,
    firmware: card.firmware,
    truth: () => card.truth(),
    periods: (periodS, range) => card.periods(periodS, range),
    pause: () => card.pause(),
    resume: () => card.resume(),
    stopTraffic: () => card.stopTraffic(),
    setFault: (fault) => card.setFault(fault),
    clearFault: (kind, lanes) => card.clearFault(kind, lanes),
    faults: () => card.faults(),
    async closePort(): Promise<void> {
      await tcp.close();
      logger.info({ device: tcp.deviceName, operation: 'closePort' }, 'port closed');
    },
    async openPort(): Promise<void> {
      if (closed) throw new Error(`loop card ${tcp.deviceName}: openPort after close`);
      await tcp.listen();
      logger.info({ device: tcp.deviceName, operation: 'openPort' }, 'port open');
    },
    async close(): Promise<void> {
      closed = true;
      card.close();
      await tcp.close();
    },
  };
}
