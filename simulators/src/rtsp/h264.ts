/**
 * H.264 byte-stream handling (ITU-T H.264 Annex B and §7.4.1.2.3): cutting the encoder's output
 * into NAL units and grouping those into access units (one picture each), and the SDP parameters
 * RFC 6184 §8.1 derives from the sequence and picture parameter sets.
 */

export const NAL_TYPE = { SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 } as const;

export function nalType(nal: Buffer): number {
  return nal[0]! & 0x1f;
}

function isVcl(type: number): boolean {
  return type === NAL_TYPE.SLICE || type === NAL_TYPE.IDR;
}

/**
 * Cuts an Annex B byte stream into NAL units (without start codes). A NAL unit is known to be
 * complete only when the next start code arrives, so the last one waits for more bytes or flush().
 */
export class AnnexBReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Offset of the current NAL unit's first byte in buf; -1 before the first start code. */
  private nalStart = -1;
  private scanFrom = 0;

  constructor(private readonly onNal: (nal: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const p = this.buf.indexOf(START_CODE, this.scanFrom);
      if (p < 0) break;
      if (this.nalStart >= 0) this.emit(this.nalStart, p);
      this.nalStart = p + 3;
      this.scanFrom = p + 3;
    }
    // Keep the current NAL unit, and the last two bytes in case a start code straddles chunks.
    const keepFrom = this.nalStart >= 0 ? this.nalStart : Math.max(0, this.buf.length - 2);
    this.buf = this.buf.subarray(keepFrom);
    this.nalStart = this.nalStart >= 0 ? 0 : -1;
    this.scanFrom = Math.max(0, this.buf.length - 2);
  }

  /** The stream ended: the bytes after the last start code are a whole NAL unit. */
  flush(): void {
    if (this.nalStart >= 0) this.emit(this.nalStart, this.buf.length);
    this.buf = Buffer.alloc(0);
    this.nalStart = -1;
    this.scanFrom = 0;
  }

  private emit(from: number, to: number): void {
    // A NAL unit never ends in a zero byte (rbsp_trailing_bits), so zeros before a start code
    // belong to it (the 4-byte form 00 00 00 01, or trailing_zero_8bits).
    while (to > from && this.buf[to - 1] === 0) to--;
    if (to > from) this.onNal(this.buf.subarray(from, to));
  }
}

const START_CODE = Buffer.from([0, 0, 1]);

/** A new access unit starts here if the current one already has a picture (§7.4.1.2.3, simplified for one encoder). */
function startsAccessUnit(nal: Buffer): boolean {
  const type = nalType(nal);
  // first_mb_in_slice is ue(v) right after the NAL header; 0 is coded as the single bit '1'.
  if (isVcl(type)) return nal.length > 1 && (nal[1]! & 0x80) !== 0;
  return type === NAL_TYPE.SEI || type === NAL_TYPE.SPS || type === NAL_TYPE.PPS || type === NAL_TYPE.AUD || (type >= 14 && type <= 18);
}

export interface AccessUnit {
  nals: Buffer[];
  /** Holds an IDR picture: a decoder can start here. */
  keyframe: boolean;
}

/** Groups NAL units into access units; one is known complete when the next one starts. */
export class AccessUnitAssembler {
  private nals: Buffer[] = [];
  private hasPicture = false;

  constructor(private readonly onAccessUnit: (au: AccessUnit) => void) {}

  push(nal: Buffer): void {
    if (this.hasPicture && startsAccessUnit(nal)) this.emit();
    this.nals.push(nal);
    if (isVcl(nalType(nal))) this.hasPicture = true;
  }

  flush(): void {
    if (this.hasPicture) this.emit();
    this.nals = [];
  }

  private emit(): void {
    const nals = this.nals;
    this.nals = [];
    this.hasPicture = false;
    this.onAccessUnit({ nals, keyframe: nals.some((n) => nalType(n) === NAL_TYPE.IDR) });
  }
}

/** RFC 6184 §8.1 profile-level-id: profile_idc, constraint flags, level_idc from the SPS, in hex. */
export function profileLevelId(sps: Buffer): string {
  if (sps.length < 4 || nalType(sps) !== NAL_TYPE.SPS) throw new Error(`not a sequence parameter set (${sps.length} bytes, type ${sps.length ? nalType(sps) : '-'})`);
  return sps.subarray(1, 4).toString('hex');
}

/** RFC 6184 §8.1 sprop-parameter-sets: base64 SPS and PPS, comma-separated. */
export function spropParameterSets(sps: Buffer, pps: Buffer): string {
  return `${sps.toString('base64')},${pps.toString('base64')}`;
}
