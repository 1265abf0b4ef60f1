/**
 * How much room text takes on a sign: a character is cjkWidthPx wide when it is CJK or
 * full-width, else latinWidthPx; each character after the first adds charSpacingPx (of the
 * font of the character before it); a line is as high as its tallest font.
 */
import { lineChars } from './content.js';
import type { SignCapabilities, SignFont, SignLine, SignPage, TextRun } from './types.js';

/**
 * Code points a sign draws in a full-width cell: East Asian wide and full-width characters, plus
 * the symbol blocks a GB2312 sign takes from its double-byte (full-width) font — arrows, enclosed
 * numbers (①), box drawing, shapes (★) and letter-like symbols (℃).
 */
const WIDE_RANGES: [number, number][] = [
  [0x1100, 0x115f], // Hangul Jamo
  [0x2100, 0x214f], // letter-like symbols
  [0x2160, 0x21ff], // number forms, arrows
  [0x2460, 0x27bf], // enclosed alphanumerics, box drawing, shapes, misc symbols, dingbats
  [0x2e80, 0x303e], // CJK radicals, ideographic punctuation
  [0x3041, 0x33ff], // kana, bopomofo, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe30, 0xfe4f], // CJK compatibility forms
  [0xff00, 0xff60], // full-width forms
  [0xffe0, 0xffe6], // full-width signs
  [0x1f300, 0x1faff], // pictographs, emoji
  [0x20000, 0x3fffd], // CJK extensions B and later
];

export function isWideChar(char: string): boolean {
  const cp = char.codePointAt(0) ?? 0;
  return WIDE_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
}

export function charWidthPx(char: string, font: SignFont): number {
  return isWideChar(char) ? font.cjkWidthPx : font.latinWidthPx;
}

export function fontByNumber(caps: SignCapabilities, number: number): SignFont | undefined {
  return caps.fonts.find((f) => f.number === number);
}

/** The sign's default font; capabilities that passed checkCapabilities always have it. */
export function defaultFont(caps: SignCapabilities): SignFont {
  const font = fontByNumber(caps, caps.defaultFont);
  if (!font) throw new Error(`sign capabilities: defaultFont ${caps.defaultFont} is not one of the fonts`);
  return font;
}

export interface MeasuredChar {
  char: string;
  run: TextRun;
  font: SignFont;
  widthPx: number;
  /** Pixels after this character before the next one (0 for the last). */
  spacingAfterPx: number;
}

export interface MeasuredLine {
  chars: MeasuredChar[];
  widthPx: number;
  /** Tallest font of the line; the default font's height for an empty line. */
  heightPx: number;
  /** Font numbers the line uses that the sign does not have (the line is then not measured). */
  unknownFonts: number[];
}

export function measureLine(line: SignLine, caps: SignCapabilities): MeasuredLine {
  const unknownFonts = [...new Set(line.runs.map((r) => r.font))].filter((n) => !fontByNumber(caps, n));
  if (unknownFonts.length > 0) return { chars: [], widthPx: 0, heightPx: defaultFont(caps).heightPx, unknownFonts };
  const chars = lineChars(line).map(({ char, run }, i, all): MeasuredChar => {
    const font = fontByNumber(caps, run.font)!;
    return { char, run, font, widthPx: charWidthPx(char, font), spacingAfterPx: i < all.length - 1 ? font.charSpacingPx : 0 };
  });
  const widthPx = chars.reduce((sum, c) => sum + c.widthPx + c.spacingAfterPx, 0);
  const heightPx = chars.length === 0 ? defaultFont(caps).heightPx : Math.max(...chars.map((c) => c.font.heightPx));
  return { chars, widthPx, heightPx, unknownFonts };
}

/** Pixels between line i-1 and line i of a page. */
export function spacingAbovePx(line: SignLine, index: number, caps: SignCapabilities): number {
  return index === 0 ? 0 : (line.spacingPx ?? caps.lineSpacingPx);
}

export function pageHeightPx(page: SignPage, caps: SignCapabilities): number {
  return page.lines.reduce((sum, line, i) => sum + spacingAbovePx(line, i, caps) + measureLine(line, caps).heightPx, 0);
}
