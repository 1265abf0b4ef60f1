/** Thumbnails and snapshots are JPEG: checked by their markers before they are stored or served. */

/** A thumbnail as the contract allows it (48 KiB of base64) decodes to at most this. */
export const MAX_THUMBNAIL_BYTES = 36 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Starts with SOI (FF D8 FF) and ends with EOI (FF D9): a whole JPEG, not a fragment. */
export function isJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9;
}

export type DecodedJpeg = { ok: true; jpeg: Buffer } | { ok: false; problem: string };

/** Strict base64 -> JPEG bytes, at most `maxBytes`; the problem names what is wrong. */
export function decodeBase64Jpeg(text: string, maxBytes: number): DecodedJpeg {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return { ok: false, problem: 'is not valid base64' };
  const jpeg = Buffer.from(text, 'base64');
  if (jpeg.length > maxBytes) return { ok: false, problem: `is ${jpeg.length} bytes, more than ${maxBytes}` };
  if (!isJpeg(jpeg)) return { ok: false, problem: 'is not a JPEG (no SOI/EOI markers)' };
  return { ok: true, jpeg };
}
