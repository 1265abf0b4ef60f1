/**
 * The server side of an RTU line: cuts the bytes a client sends into request frames (Modbus over
 * Serial Line V1.02 §2.5.1.1). A frame ends at a silence of 3.5 characters; since a timer in Node
 * cannot measure that finely, a request whose function code implies its length is taken as soon
 * as that many bytes are in, and the silence only decides for the rest (unknown function codes,
 * noise). A frame whose CRC does not check is dropped unanswered with everything up to the next
 * silence, as a real device does (§2.5.1.2).
 */
import { ModbusFrameError, RTU_MAX_FRAME_BYTES, crc16Modbus, decodeRtuFrame, type RtuFrame } from '@quanlink/firmware-bridge';

/**
 * Bytes of a whole RTU request (address, PDU, CRC) given its first bytes: a number, 'more' when
 * too few bytes are in to tell, or 'unknown' for function codes whose length only the silence tells.
 */
export function rtuRequestLength(head: Buffer): number | 'more' | 'unknown' {
  if (head.length < 2) return 'more';
  switch (head[1]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
      return 8; // address, function, 2-byte address, 2-byte quantity or value, CRC
    case 0x0f:
    case 0x10: {
      const byteCount = head[6];
      return byteCount === undefined ? 'more' : 9 + byteCount; // ... quantity, byte count, data, CRC
    }
    default:
      return 'unknown';
  }
}

export interface RtuReceiverOptions {
  /** Inter-frame silence, ms. */
  silenceMs: number;
  onFrame(frame: RtuFrame): void;
  /** Bytes thrown away, and why. */
  onDiscard(bytes: Buffer, problem: string): void;
}

export class RtuReceiver {
  private pending: Buffer = Buffer.alloc(0);
  /** After a bad frame, everything up to the next silence belongs to it. */
  private discarding: Buffer[] | undefined;
  private discardReason = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RtuReceiverOptions) {}

  push(chunk: Buffer): void {
    this.restartSilenceTimer();
    if (this.discarding) {
      this.discarding.push(chunk);
      return;
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const length = rtuRequestLength(this.pending);
      if (length === 'more' || length === 'unknown') return;
      if (length > RTU_MAX_FRAME_BYTES) return this.discard(`request of ${length} bytes is longer than an RTU frame (${RTU_MAX_FRAME_BYTES})`);
      if (this.pending.length < length) return;
      const frame = this.pending.subarray(0, length);
      const received = frame.readUInt16LE(length - 2);
      const computed = crc16Modbus(frame.subarray(0, length - 2));
      if (received !== computed) {
        return this.discard(`CRC 0x${received.toString(16).padStart(4, '0')} does not match computed 0x${computed.toString(16).padStart(4, '0')}`);
      }
      this.pending = this.pending.subarray(length);
      this.opts.onFrame({ unitId: frame[0]!, pdu: Buffer.from(frame.subarray(1, length - 2)) });
    }
  }

  /** Stops the silence timer; bytes not yet framed are dropped. */
  close(): void {
    clearTimeout(this.timer);
    this.pending = Buffer.alloc(0);
    this.discarding = undefined;
  }

  private discard(reason: string): void {
    this.discarding = [this.pending];
    this.discardReason = reason;
    this.pending = Buffer.alloc(0);
  }

  private restartSilenceTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.silence(), this.opts.silenceMs);
    this.timer.unref();
  }

  /** t3.5 passed: what is buffered is one whole frame. */
  private silence(): void {
    if (this.discarding) {
      this.opts.onDiscard(Buffer.concat(this.discarding), this.discardReason);
      this.discarding = undefined;
      return;
    }
    const bytes = this.pending;
    this.pending = Buffer.alloc(0);
    if (bytes.length === 0) return;
    let frame: RtuFrame;
    try {
      frame = decodeRtuFrame(bytes);
    } catch (err) {
      if (!(err instanceof ModbusFrameError)) throw err;
      this.opts.onDiscard(bytes, err.problem);
      return;
    }
    this.opts.onFrame(frame);
  }
}
