/**
 * RTP (RFC 3550) for H.264 (RFC 6184): access units into payloads (single NAL unit packets when
 * they fit, FU-A fragments otherwise, marker on the last packet of the access unit), and the
 * per-session header state (random SSRC, sequence number and timestamp origin; 90 kHz clock).
 */
import { randomInt } from 'node:crypto';

/** Keeps RTP packets (plus IP/UDP headers) under a 1500-byte Ethernet MTU. */
export const RTP_MAX_PAYLOAD = 1400;
export const H264_PAYLOAD_TYPE = 96;
export const H264_CLOCK_RATE = 90_000;
const FU_A = 28;

export interface RtpPayload {
  /** The payload in pieces (no copy of the NAL unit): written after the RTP header in order. */
  parts: Buffer[];
  bytes: number;
  marker: boolean;
}

/** RFC 6184 §5.6 and §5.8, packetization-mode 1 without aggregation. */
export function packetizeH264(nals: readonly Buffer[], maxPayload = RTP_MAX_PAYLOAD): RtpPayload[] {
  if (maxPayload < 3) throw new Error(`RTP payload size ${maxPayload} is too small for FU-A`);
  const out: RtpPayload[] = [];
  for (const nal of nals) {
    if (nal.length === 0) continue;
    if (nal.length <= maxPayload) {
      out.push({ parts: [nal], bytes: nal.length, marker: false });
      continue;
    }
    const header = nal[0]!;
    const indicator = (header & 0xe0) | FU_A; // F and NRI of the NAL unit, type 28
    const type = header & 0x1f;
    const chunk = maxPayload - 2;
    for (let off = 1; off < nal.length; off += chunk) {
      const end = Math.min(off + chunk, nal.length);
      const fuHeader = (off === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
      const body = nal.subarray(off, end);
      out.push({ parts: [Buffer.from([indicator, fuHeader]), body], bytes: 2 + body.length, marker: false });
    }
  }
  if (out.length > 0) out[out.length - 1]!.marker = true;
  return out;
}

/** One RTP sender's header state. */
export class RtpStream {
  readonly ssrc = randomInt(0, 2 ** 32);
  /** The timestamp of the first packet sent (RTP-Info rtptime). */
  readonly initialTimestamp = randomInt(0, 2 ** 32);
  private seq = randomInt(0, 2 ** 16);
  private originMs: number | undefined;

  constructor(private readonly payloadType = H264_PAYLOAD_TYPE) {}

  /** The sequence number of the next packet (RTP-Info seq). */
  get nextSequence(): number {
    return this.seq;
  }

  /** True once a timestamp has been given out (the origin is fixed). */
  get started(): boolean {
    return this.originMs !== undefined;
  }

  /** The RTP timestamp of a frame captured at captureMs (monotonic); the first one gets initialTimestamp. */
  timestampFor(captureMs: number): number {
    this.originMs ??= captureMs;
    return (this.initialTimestamp + Math.round(((captureMs - this.originMs) * H264_CLOCK_RATE) / 1000)) >>> 0;
  }

  /** A 12-byte RTP header for the next packet (version 2, no padding, extension or CSRC). */
  header(marker: boolean, timestamp: number): Buffer {
    const h = Buffer.allocUnsafe(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | this.payloadType;
    h.writeUInt16BE(this.seq, 2);
    h.writeUInt32BE(timestamp >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    this.seq = (this.seq + 1) & 0xffff;
    return h;
  }
}
