/**
 * The content model shared by every part that handles guidance-screen content (see
 * docs/guidance-screens.md), the TypeBox schema device profiles use for a sign's capabilities,
 * and the cross-field checks a schema cannot express.
 */
import { Type, type Static } from '@sinclair/typebox';
import { classicIndex, isHexColour } from './colours.js';

export interface SignFont {
  number: number;
  name: string;
  heightPx: number;
  latinWidthPx: number;
  cjkWidthPx: number;
  charSpacingPx: number;
  /** Font family the renderer draws with; DEFAULT_FONT_FAMILY when absent. */
  family?: string;
}

/** NTCIP 1203 dmsColorScheme. */
export type ColourScheme = 'monochrome1bit' | 'colorClassic' | 'color24bit';

export interface SignCapabilities {
  widthPx: number;
  heightPx: number;
  fonts: SignFont[];
  defaultFont: number;
  colourScheme: ColourScheme;
  /** '#rrggbb' of the LEDs of a 1-bit sign. */
  monochromeColour?: string;
  /** '#rrggbb'. */
  defaultColour: string;
  maxPages: number;
  charset: 'ascii' | 'gb2312' | 'unicode';
  /** Bytes of UTF-8 MULTI. */
  maxMultiLength: number;
  lineSpacingPx: number;
  /** Tenths of a second, as [pt]. */
  defaultPageOnTimeDs: number;
  supportsFlash: boolean;
}

export interface TextRun {
  text: string;
  font: number;
  colour: string;
  flash?: { onDs: number; offDs: number };
}

export interface SignLine {
  justification: 'left' | 'center' | 'right' | 'full';
  runs: TextRun[];
  /** Pixels between the previous line and this one ([nlN]); the sign's lineSpacingPx when absent. */
  spacingPx?: number;
}

export interface SignPage {
  justification: 'top' | 'middle' | 'bottom';
  /** Tenths of a second; the sign's default when absent. */
  onTimeDs?: number;
  /** Tenths of a second; 0 when absent. */
  offTimeDs?: number;
  lines: SignLine[];
}

/** No pages = blank. */
export interface SignContent {
  pages: SignPage[];
}

export type LineJustification = SignLine['justification'];
export type PageJustification = SignPage['justification'];

const HexColour = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: "'#rrggbb'" });
const Px = (min: number, description: string) => Type.Integer({ minimum: min, maximum: 4096, description });

export const SignFontSchema = Type.Object(
  {
    number: Type.Integer({ minimum: 1, maximum: 255, description: 'font number as in [foN]' }),
    name: Type.String({ minLength: 1, maxLength: 64 }),
    heightPx: Px(1, 'height of a character cell'),
    latinWidthPx: Px(1, 'width of a Latin (half-width) character'),
    cjkWidthPx: Px(1, 'width of a CJK (full-width) character'),
    charSpacingPx: Px(0, 'pixels between characters'),
    family: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'font family the renderer uses' })),
  },
  { additionalProperties: false },
);

/** The `sign.capabilities` section of a device profile. */
export const SignCapabilitiesSchema = Type.Object(
  {
    widthPx: Px(1, 'matrix width'),
    heightPx: Px(1, 'matrix height'),
    fonts: Type.Array(SignFontSchema, { minItems: 1, maxItems: 255 }),
    defaultFont: Type.Integer({ minimum: 1, maximum: 255 }),
    colourScheme: Type.Union([Type.Literal('monochrome1bit'), Type.Literal('colorClassic'), Type.Literal('color24bit')]),
    monochromeColour: Type.Optional(HexColour),
    defaultColour: HexColour,
    maxPages: Type.Integer({ minimum: 1, maximum: 255 }),
    charset: Type.Union([Type.Literal('ascii'), Type.Literal('gb2312'), Type.Literal('unicode')]),
    maxMultiLength: Type.Integer({ minimum: 1, maximum: 65535, description: 'bytes of UTF-8 MULTI' }),
    lineSpacingPx: Px(0, 'pixels between lines unless [nlN] says otherwise'),
    defaultPageOnTimeDs: Type.Integer({ minimum: 1, maximum: 255, description: 'tenths of a second' }),
    supportsFlash: Type.Boolean(),
  },
  { additionalProperties: false },
);

// The schema and the interface must describe the same thing; this fails to compile when they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesInterface: Same<Static<typeof SignCapabilitiesSchema>, SignCapabilities> = true;
void schemaMatchesInterface;

/**
 * Checks the schema cannot express. Returns readable problems (empty = fine), e.g.
 * `defaultFont 3 is not one of the fonts (1, 2)`. Run after the schema accepted the value.
 */
export function checkCapabilities(caps: SignCapabilities): string[] {
  const problems: string[] = [];
  const numbers = caps.fonts.map((f) => f.number);
  const seen = new Set<number>();
  for (const n of numbers) {
    if (seen.has(n)) problems.push(`font number ${n} is defined more than once`);
    seen.add(n);
  }
  if (!seen.has(caps.defaultFont)) {
    problems.push(`defaultFont ${caps.defaultFont} is not one of the fonts (${[...seen].join(', ')})`);
  }
  for (const f of caps.fonts) {
    if (f.heightPx > caps.heightPx) {
      problems.push(`font ${f.number} is ${f.heightPx} px high, sign is ${caps.heightPx} px high`);
    }
    const widest = Math.max(f.latinWidthPx, f.cjkWidthPx);
    if (widest > caps.widthPx) {
      problems.push(`font ${f.number} has ${widest} px wide characters, sign is ${caps.widthPx} px wide`);
    }
  }
  for (const [field, value] of [['defaultColour', caps.defaultColour], ['monochromeColour', caps.monochromeColour]] as const) {
    if (value !== undefined && !isHexColour(value)) problems.push(`${field} '${value}' is not '#rrggbb'`);
  }
  if (caps.colourScheme === 'monochrome1bit') {
    if (caps.monochromeColour === undefined) {
      problems.push('monochromeColour is required for a monochrome1bit sign');
    } else if (caps.defaultColour.toLowerCase() !== caps.monochromeColour.toLowerCase()) {
      problems.push(`defaultColour ${caps.defaultColour} must be the monochromeColour ${caps.monochromeColour} on a monochrome1bit sign`);
    }
  } else if (caps.monochromeColour !== undefined) {
    problems.push(`monochromeColour only applies to a monochrome1bit sign, this one is ${caps.colourScheme}`);
  }
  if (caps.colourScheme === 'colorClassic' && isHexColour(caps.defaultColour) && classicIndex(caps.defaultColour) === undefined) {
    problems.push(`defaultColour ${caps.defaultColour} is not one of the classic colours on a colorClassic sign`);
  }
  if (isHexColour(caps.defaultColour) && caps.defaultColour.toLowerCase() === '#000000') {
    problems.push('defaultColour #000000 is black: nothing would light up');
  }
  return problems;
}
