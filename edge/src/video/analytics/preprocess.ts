/**
 * Frame -> model input: packed HWC rgb24 -> planar CHW float32 / 255, in the channel order the
 * model wants, written into a preallocated array. This runs on every analysed frame, so it is one
 * pass over the bytes with a lookup table instead of a division; sharp resizes (stretch, like
 * the reference FastestDet code) only when the frame is not already the model's input size.
 */
import { endianness } from 'node:os';
import sharp from 'sharp';
import type { RgbFrame } from './types.js';

const UNIT = new Float32Array(256).map((_, v) => v / 255);
const LITTLE_ENDIAN = endianness() === 'LE';

/** Writes rgb24 pixels as planes into `out` (length 3 * pixels). */
export function packedToPlanar(rgb: Uint8Array, pixels: number, out: Float32Array, order: 'bgr' | 'rgb'): void {
  // Plane offsets of R, G and B in the output.
  const r = order === 'bgr' ? 2 * pixels : 0;
  const g = pixels;
  const b = order === 'bgr' ? 0 : 2 * pixels;
  const lut = UNIT;
  let i = 0;
  // Four pixels are three aligned 32-bit words: a third of the loads of reading byte by byte
  // (about 1.5x faster on a 352x352 frame, the same floats).
  if (LITTLE_ENDIAN && rgb.byteOffset % 4 === 0) {
    const words = new Uint32Array(rgb.buffer, rgb.byteOffset, Math.floor(pixels / 4) * 3);
    for (let k = 0; k < words.length; i += 4, k += 3) {
      const w0 = words[k]!; // r0 g0 b0 r1
      const w1 = words[k + 1]!; // g1 b1 r2 g2
      const w2 = words[k + 2]!; // b2 r3 g3 b3
      out[r + i] = lut[w0 & 255]!;
      out[g + i] = lut[(w0 >>> 8) & 255]!;
      out[b + i] = lut[(w0 >>> 16) & 255]!;
      out[r + i + 1] = lut[w0 >>> 24]!;
      out[g + i + 1] = lut[w1 & 255]!;
      out[b + i + 1] = lut[(w1 >>> 8) & 255]!;
      out[r + i + 2] = lut[(w1 >>> 16) & 255]!;
      out[g + i + 2] = lut[w1 >>> 24]!;
      out[b + i + 2] = lut[w2 & 255]!;
      out[r + i + 3] = lut[(w2 >>> 8) & 255]!;
      out[g + i + 3] = lut[(w2 >>> 16) & 255]!;
      out[b + i + 3] = lut[w2 >>> 24]!;
    }
  }
  for (let s = i * 3; i < pixels; i++, s += 3) {
    out[r + i] = lut[rgb[s]!]!;
    out[g + i] = lut[rgb[s + 1]!]!;
    out[b + i] = lut[rgb[s + 2]!]!;
  }
}

export function checkFrame(frame: RgbFrame): void {
  const { width, height, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`frame size ${width}x${height} is not a positive integer size`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`frame of ${width}x${height} rgb24 needs ${width * height * 3} bytes, got ${data.length}`);
  }
}

/** Fills `out` with the frame as the model's [1,3,height,width] input. */
export async function frameToInput(
  frame: RgbFrame,
  width: number,
  height: number,
  out: Float32Array,
  order: 'bgr' | 'rgb',
): Promise<void> {
  checkFrame(frame);
  let pixels: Uint8Array = frame.data;
  if (frame.width !== width || frame.height !== height) {
    pixels = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer();
  }
  packedToPlanar(pixels, width * height, out, order);
}
