/**
 * Frame -> model input: packed HWC rgb24 -> planar CHW float32 / 255, in the channel order the
 * model wants, written into a preallocated array. This runs on every analysed frame, so it is one
 * pass over the bytes with a lookup table instead of a division; sharp resizes (stretch, like
 * the reference FastestDet code) only when the frame is not already the model's input size.
 */
import sharp from 'sharp';
import type { RgbFrame } from './types.js';

const UNIT = new Float32Array(256).map((_, v) => v / 255);

/** Writes rgb24 pixels as planes into `out` (length 3 * pixels). */
export function packedToPlanar(rgb: Uint8Array, pixels: number, out: Float32Array, order: 'bgr' | 'rgb'): void {
  // Plane offsets of R, G and B in the output.
  const r = order === 'bgr' ? 2 * pixels : 0;
  const g = pixels;
  const b = order === 'bgr' ? 0 : 2 * pixels;
  const lut = UNIT;
  for (let i = 0, s = 0; i < pixels; i++, s += 3) {
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
