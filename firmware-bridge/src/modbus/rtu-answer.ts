/**
 * Finding the answer to one RTU request in the bytes a line delivered (Modbus over Serial Line
 * V1.02 §2.5.1). A node event loop cannot time the 3.5-character silences that delimit frames, so
 * the answer is found by content instead: the expected address and function code, the length
 * they imply, and a CRC that checks (§2.5.1.2). Bytes around it are noise to skip.
 */
import { crc16Modbus, RTU_MAX_FRAME_BYTES } from './frame.js';

/**
 * Bytes in a whole RTU answer (address, PDU, CRC) with this function code: 5 for an exception,
 * 3 + byte count + 2 for reads (undefined until the byte count has arrived), 8 for writes.
 */
export function rtuAnswerLength(functionCode: number, byteCount: number | undefined): number | undefined {
  if (functionCode & 0x80) return 5;
  switch (functionCode) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
      return byteCount === undefined ? undefined : 3 + byteCount + 2;
    case 0x05:
    case 0x06:
    case 0x0f:
    case 0x10:
      return 8;
    default:
      return undefined;
  }
}

export type RtuAnswerMatch =
  /** `pdu` is the answer (normal or exception); bytes before and after it were noise. */
  | { kind: 'answer'; pdu: Buffer; skippedBytes: number; trailingBytes: number }
  /** A whole frame with the expected address and function, whose CRC does not check. */
  | { kind: 'bad-crc'; received: number; computed: number }
  /** No answer yet; describeUnmatched says what there is, once the deadline has passed. */
  | { kind: 'pending' };

function isHeader(buf: Buffer, at: number, unitId: number, functionCode: number): boolean {
  if (buf[at] !== unitId) return false;
  const fc = buf[at + 1];
  return fc === functionCode || fc === (functionCode | 0x80);
}

/** Length of a frame with a valid CRC starting at `start`, if there is one (any address, any function). */
function crcValidFrameLength(buf: Buffer, start: number): number | undefined {
  let crc = crc16Modbus(buf.subarray(start, start + 1));
  for (let end = start + 2; end + 2 <= buf.length && end + 2 - start <= RTU_MAX_FRAME_BYTES; end++) {
    crc = crc16Modbus(buf.subarray(end - 1, end), crc);
    if (buf.readUInt16LE(end) === crc) return end + 2 - start;
  }
  return undefined;
}

/**
 * Where to start looking: past whole frames that are not ours at the front (a late answer to an
 * earlier request, or another unit answering), so that a stray never passes for our answer.
 */
function skipForeignFrames(buf: Buffer, unitId: number, functionCode: number): { from: number; foreign: Buffer[] } {
  let from = 0;
  const foreign: Buffer[] = [];
  while (from < buf.length && !isHeader(buf, from, unitId, functionCode)) {
    const length = crcValidFrameLength(buf, from);
    if (length === undefined) break;
    foreign.push(buf.subarray(from, from + length));
    from += length;
  }
  return { from, foreign };
}

/** Looks for the answer of `unitId` to `functionCode` in `buf`, everything received since the request went out. */
export function matchRtuAnswer(buf: Buffer, unitId: number, functionCode: number): RtuAnswerMatch {
  const { from } = skipForeignFrames(buf, unitId, functionCode);
  let badCrc: { received: number; computed: number } | undefined;
  let incomplete = false;
  for (let start = from; start + 1 < buf.length; start++) {
    if (!isHeader(buf, start, unitId, functionCode)) continue;
    const length = rtuAnswerLength(buf[start + 1]!, buf[start + 2]);
    if (length === undefined || start + length > buf.length) {
      incomplete = true;
      continue;
    }
    const crcAt = start + length - 2;
    const received = buf.readUInt16LE(crcAt);
    const computed = crc16Modbus(buf.subarray(start, crcAt));
    if (received === computed) {
      return { kind: 'answer', pdu: buf.subarray(start + 1, crcAt), skippedBytes: start, trailingBytes: buf.length - start - length };
    }
    badCrc ??= { received, computed };
  }
  // A candidate still arriving may yet check; only a finished bad one is final.
  return badCrc && !incomplete ? { kind: 'bad-crc', ...badCrc } : { kind: 'pending' };
}

const hex = (buf: Buffer, max = 16): string =>
  [...buf.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0')).join(' ') + (buf.length > max ? ' ...' : '');

/** What `buf` held instead of an answer, for the error at the deadline (buf is not empty). */
export function describeUnmatched(buf: Buffer, unitId: number, functionCode: number): string {
  const { from, foreign } = skipForeignFrames(buf, unitId, functionCode);
  const first = foreign[0];
  if (first) return `expected an answer from unit ${unitId} to function ${functionCode}, got a frame from unit ${first[0]} with function ${first[1]} (${hex(first)})`;
  for (let start = from; start + 1 < buf.length; start++) {
    if (!isHeader(buf, start, unitId, functionCode)) continue;
    const length = rtuAnswerLength(buf[start + 1]!, buf[start + 2]);
    return `truncated answer: ${buf.length - start} bytes of ${length ?? 'at least 5'} (${hex(buf.subarray(start))})`;
  }
  return `${buf.length} bytes that hold no answer from unit ${unitId} to function ${functionCode}: ${hex(buf)}`;
}
