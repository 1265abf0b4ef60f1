/** Example signs for tests and for the device-profile helpers. */
import { CLASSIC } from './colours.js';
import type { SignCapabilities } from './types.js';

/** A 128x32 classic-colour ramp sign: two lines of 16 px characters, or one of 32 px. */
export const RAMP_SIGN_128x32: SignCapabilities = {
  widthPx: 128,
  heightPx: 32,
  fonts: [
    { number: 1, name: 'GB2312 16x16', heightPx: 16, latinWidthPx: 8, cjkWidthPx: 16, charSpacingPx: 0 },
    { number: 2, name: 'GB2312 32x32', heightPx: 32, latinWidthPx: 16, cjkWidthPx: 32, charSpacingPx: 0 },
  ],
  defaultFont: 1,
  colourScheme: 'colorClassic',
  defaultColour: CLASSIC.amber,
  maxPages: 4,
  charset: 'gb2312',
  maxMultiLength: 1024,
  lineSpacingPx: 0,
  defaultPageOnTimeDs: 30,
  supportsFlash: true,
};

/** A 192x64 full-colour gantry sign. */
export const GANTRY_SIGN_192x64: SignCapabilities = {
  widthPx: 192,
  heightPx: 64,
  fonts: [
    { number: 1, name: 'GB2312 16x16', heightPx: 16, latinWidthPx: 8, cjkWidthPx: 16, charSpacingPx: 0 },
    { number: 2, name: 'GB2312 24x24', heightPx: 24, latinWidthPx: 12, cjkWidthPx: 24, charSpacingPx: 0 },
    { number: 3, name: 'GB2312 32x32', heightPx: 32, latinWidthPx: 16, cjkWidthPx: 32, charSpacingPx: 0 },
  ],
  defaultFont: 2,
  colourScheme: 'color24bit',
  defaultColour: CLASSIC.amber,
  maxPages: 6,
  charset: 'gb2312',
  maxMultiLength: 2048,
  lineSpacingPx: 0,
  defaultPageOnTimeDs: 30,
  supportsFlash: true,
};
