/**
 * Colours. The content model carries every colour as lower-case '#rrggbb'; MULTI's classic palette
 * (NTCIP 1203 [cfN], N 0-9) is mapped to RGB by the one table below, which the parser, the writer,
 * the checks and the sample signs all use.
 */

/** NTCIP 1203 classic colours, index = [cfN]. The standard names them; the RGB values are ours. */
export const CLASSIC_COLOURS = [
  { index: 0, name: 'black', hex: '#000000' },
  { index: 1, name: 'red', hex: '#ff0000' },
  { index: 2, name: 'yellow', hex: '#ffff00' },
  { index: 3, name: 'green', hex: '#00ff00' },
  { index: 4, name: 'cyan', hex: '#00ffff' },
  { index: 5, name: 'blue', hex: '#0000ff' },
  { index: 6, name: 'magenta', hex: '#ff00ff' },
  { index: 7, name: 'white', hex: '#ffffff' },
  { index: 8, name: 'orange', hex: '#ff8000' },
  { index: 9, name: 'amber', hex: '#ffbf00' },
] as const;

export type ClassicColourName = (typeof CLASSIC_COLOURS)[number]['name'];

/** Hex of a classic colour by name, e.g. CLASSIC.amber === '#ffbf00'. */
export const CLASSIC = Object.fromEntries(CLASSIC_COLOURS.map((c) => [c.name, c.hex])) as Record<ClassicColourName, string>;

const HEX_COLOUR = /^#[0-9a-fA-F]{6}$/;

export function isHexColour(value: unknown): value is string {
  return typeof value === 'string' && HEX_COLOUR.test(value);
}

/** The classic index (0-9) of a '#rrggbb' colour, or undefined when it is not one of them. */
export function classicIndex(hex: string): number | undefined {
  const lower = hex.toLowerCase();
  return CLASSIC_COLOURS.find((c) => c.hex === lower)?.index;
}

export function rgbToHex(r: number, g: number, b: number): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/**
 * '#RRGGBB' or a classic colour name ('amber') -> lower-case '#rrggbb'; undefined for anything else.
 * Names are accepted where people type colours (the structured form); MULTI has its own syntax.
 */
export function normaliseColour(value: string): string | undefined {
  if (HEX_COLOUR.test(value)) return value.toLowerCase();
  return (CLASSIC as Record<string, string | undefined>)[value.toLowerCase()];
}
