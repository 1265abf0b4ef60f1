/**
 * One byte stream between a client and a simulated device, with its framing: Modbus TCP (MBAP)
 * or RTU. A session cuts requests out of the stream, asks the handler what to answer and writes
 * the answer (now, or after the delay the handler asks for).
 */
import type { Logger } from 'pino';
import { MbapFramer, ModbusFrameError, encodeMbapFrame, encodeRtuFrame, type MbapFrame } from '@quanlink/firmware-bridge';
import type { RequestHandler, ServerReply } from './reply.js';
import { RtuReceiver } from './rtu-receiver.js';

export type Framing = 'mbap' | 'rtu';

export interface StreamEnd {
  write(bytes: Buffer): void;
  /** Closes the stream (a TCP connection); a serial line cannot be closed from the device end. */
  drop(): void;
}

export interface SessionOptions {
  client: string;
  logger: Logger;
  handle: RequestHandler;
  /** RTU inter-frame silence, ms. */
  silenceMs: number;
}

export interface Session {
  push(chunk: Buffer): void;
  /** Cancels answers still waiting for their delay. */
  close(): void;
}

export function openSession(framing: Framing, end: StreamEnd, opts: SessionOptions): Session {
  return framing === 'mbap' ? mbapSession(end, opts) : rtuSession(end, opts);
}

/** Writes one reply, framed by `frame`, now or after its delay. */
class ReplyWriter {
  private readonly delayed = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly end: StreamEnd) {}

  send(reply: ServerReply, frame: (pdu: Buffer, badCrc: boolean) => Buffer): void {
    if (!reply) return;
    if ('drop' in reply) {
      this.end.drop();
      return;
    }
    const bytes = 'noise' in reply ? reply.noise : frame(reply.pdu, reply.badCrc === true);
    const delayMs = reply.delayMs ?? 0;
    if (delayMs <= 0) {
      this.end.write(bytes);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      if (!this.closed) this.end.write(bytes);
    }, delayMs);
    this.delayed.add(timer);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }
}

/** Runs the handler; a bug in it must not take the server down: the client sees a silent device. */
function ask(opts: SessionOptions, request: { unitId: number; pdu: Buffer }, log: Logger): ServerReply {
  try {
    return opts.handle(request, opts.client);
  } catch (err) {
    log.error({ operation: 'handle', err, unitId: request.unitId }, 'request handler failed');
    return undefined;
  }
}

function mbapSession(end: StreamEnd, opts: SessionOptions): Session {
  const log = opts.logger;
  const framer = new MbapFramer();
  const writer = new ReplyWriter(end);
  return {
    push(chunk) {
      let frames: MbapFrame[];
      try {
        frames = framer.push(chunk);
      } catch (err) {
        const problem = err instanceof ModbusFrameError ? err.problem : String(err);
        log.warn({ operation: 'receive', problem }, `malformed frame, closing connection: ${problem}`);
        end.drop();
        return;
      }
      for (const request of frames) {
        writer.send(ask(opts, request, log), (pdu) => encodeMbapFrame({ transactionId: request.transactionId, unitId: request.unitId, pdu }));
      }
    },
    close: () => writer.close(),
  };
}

function rtuSession(end: StreamEnd, opts: SessionOptions): Session {
  const log = opts.logger;
  const writer = new ReplyWriter(end);
  const receiver = new RtuReceiver({
    silenceMs: opts.silenceMs,
    onFrame: (request) =>
      writer.send(ask(opts, request, log), (pdu, badCrc) => {
        const bytes = encodeRtuFrame({ unitId: request.unitId, pdu });
        if (badCrc) bytes[bytes.length - 1]! ^= 0xff; // any change of the CRC makes it wrong
        return bytes;
      }),
    onDiscard: (bytes, problem) => log.debug({ operation: 'receive', problem, bytes: bytes.length }, `bytes dropped unanswered: ${problem}`),
  });
  return {
    push: (chunk) => receiver.push(chunk),
    close() {
      receiver.close();
      writer.close();
    },
  };
}
