/**
 * Several simulated loop cards on one Modbus RTU line, as on an RS-485 bus: on a serial device
 * (e.g. one end of a socat pty pair), or as RTU frames over TCP (a serial-to-Ethernet converter
 * in front of the bus). Every card hears every request and answers only its own unit id; a
 * request for an id nobody has gets silence, as on a real bus; a broadcast (unit 0) write is
 * carried out by every card and answered by none (Modbus over Serial Line V1.02 §2.1).
 */
import type { Logger } from 'pino';
import type { ServerRequest, ServerReply } from '../modbus/reply.js';
import { RtuSerialServer } from '../modbus/serial-server.js';
import { ModbusTcpServer } from '../modbus/tcp-server.js';
import { LoopCard, checkOption, defaultLogger, isInt, type CardOptions, type LoopCardControls } from './card.js';

export type LoopCardBusTransport =
  | { kind: 'rtu-serial'; path: string; /** Default 19200. */ baudRate?: number }
  | { kind: 'rtu-tcp'; /** Default 127.0.0.1. */ host?: string; /** Default 0: a free port. */ port?: number };

export type ResolvedBusTransport = { kind: 'rtu-serial'; path: string; baudRate: number } | { kind: 'rtu-tcp'; host: string; port: number };

export interface LoopCardBusOptions {
  transport: LoopCardBusTransport;
  /** One entry per card; unit ids default to 1, 2, ... in order and must differ. */
  cards: CardOptions[];
  logger?: Logger;
  /** Silence that ends an RTU frame, ms (default: t3.5 of the baud rate, at least 2 ms; 5 ms over TCP). */
  silenceMs?: number;
}

export interface LoopCardBus {
  readonly transport: ResolvedBusTransport;
  readonly cards: readonly LoopCardControls[];
  /** The card with this unit id; throws when there is none. */
  card(unitId: number): LoopCardControls;
  close(): Promise<void>;
}

export async function startLoopCardBus(opts: LoopCardBusOptions): Promise<LoopCardBus> {
  const logger = opts.logger ?? defaultLogger();
  const t = opts.transport;
  checkOption(Array.isArray(opts.cards) && opts.cards.length > 0, 'a bus needs at least one card');
  checkOption(t?.kind === 'rtu-serial' || t?.kind === 'rtu-tcp', `transport kind must be 'rtu-serial' or 'rtu-tcp', got ${JSON.stringify(t?.kind)}`);
  let transport: ResolvedBusTransport;
  if (t.kind === 'rtu-serial') {
    checkOption(typeof t.path === 'string' && t.path.length > 0, `rtu-serial needs a device path, got ${JSON.stringify(t.path)}`);
    const baudRate = t.baudRate ?? 19200;
    checkOption(isInt(baudRate, 300, 4_000_000), `baudRate must be an integer 300..4000000, got ${baudRate}`);
    transport = { kind: 'rtu-serial', path: t.path, baudRate };
  } else {
    const port = t.port ?? 0;
    checkOption(isInt(port, 0, 65535), `port must be an integer 0..65535, got ${port}`);
    transport = { kind: 'rtu-tcp', host: t.host ?? '127.0.0.1', port };
  }
  const unitIds = opts.cards.map((c, i) => c.unitId ?? i + 1);
  unitIds.forEach((id, i) => {
    // RTU addresses: 0 is broadcast, 248..255 are reserved (Serial Line V1.02 §2.2).
    checkOption(isInt(id, 1, 247), `cards[${i}]: unitId must be an integer 1..247 on an RTU bus, got ${id}`);
    checkOption(unitIds.indexOf(id) === i, `cards[${i}]: unit id ${id} is already taken by cards[${unitIds.indexOf(id)}]`);
  });

  let where = transport.kind === 'rtu-serial' ? transport.path : `${transport.host}:${transport.port}`;
  const cards: LoopCard[] = [];
  try {
    for (const [i, cardOptions] of opts.cards.entries()) {
      const unitId = unitIds[i]!;
      const card = await LoopCard.create({ logger, ...cardOptions, unitId }, transport.kind, () => `loop-card(${cards[i]?.profileId ?? '?'}, unit ${unitId})@${where}`);
      cards.push(card);
    }
  } catch (err) {
    for (const card of cards) card.close();
    throw err;
  }
  const byUnit = new Map(cards.map((c) => [c.unitId, c]));

  const handle = ({ unitId, pdu }: ServerRequest): ServerReply => {
    if (unitId === 0) {
      for (const card of cards) card.broadcast(pdu);
      return undefined;
    }
    return byUnit.get(unitId)?.handle(pdu);
  };

  const device = `loop-card-bus(units ${unitIds.join(',')})`;
  let server: { close(): Promise<void> };
  try {
    if (transport.kind === 'rtu-serial') {
      const serial = new RtuSerialServer({ path: transport.path, baudRate: transport.baudRate, device, logger, handle, ...(opts.silenceMs !== undefined && { silenceMs: opts.silenceMs }) });
      await serial.open();
      server = serial;
    } else {
      const tcp = new ModbusTcpServer({ host: transport.host, port: transport.port, framing: 'rtu', device, logger, handle, ...(opts.silenceMs !== undefined && { silenceMs: opts.silenceMs }) });
      await tcp.listen();
      transport = { ...transport, port: tcp.port };
      where = `${transport.host}:${tcp.port}`;
      server = tcp;
    }
  } catch (err) {
    for (const card of cards) card.close();
    throw err;
  }
  logger.info({ device, operation: 'start', transport, units: unitIds }, 'loop card bus serving');

  const resolved = transport;
  return {
    transport: resolved,
    cards,
    card(unitId: number): LoopCardControls {
      const card = byUnit.get(unitId);
      if (!card) throw new RangeError(`loop card bus: no card with unit id ${unitId} (units ${unitIds.join(', ')})`);
      return card;
    },
    async close(): Promise<void> {
      for (const card of cards) card.close();
      await server.close();
    },
  };
}
