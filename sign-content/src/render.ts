/**
 * The LED renderer: what the matrix shows, one PNG per page. Each character is drawn centred in
 * its cell (clipped to it, like a sign's bitmap font) from an SVG at the sign's native resolution,
 * then every pixel is thresholded to on (the character's colour) or off (black), so no
 * anti-aliasing survives. Scaling up is nearest-neighbour; with dotGap every LED becomes a dot
 * with a dark gap around it and unlit LEDs show as dim dots, like a real sign up close.
 */
import sharp from 'sharp';
import { hexToRgb } from './colours.js';
import type { MultiDefaults } from './content.js';
import { layoutContent, type GlyphCell, type PageLayout } from './layout.js';
import { fontByNumber } from './measure.js';
import { defaultsFor, parseMulti } from './multi.js';
import type { SignCapabilities, SignContent } from './types.js';

/**
 * The half-width Latin face of WenQuanYi Zen Hei: its Latin letters fit a half-width cell as on an
 * LED sign (the proportional face's 'M' and 'W' are wider than half the height and get clipped).
 */
export const DEFAULT_FONT_FAMILY = 'WenQuanYi Zen Hei Mono';
/** Unlit LEDs in dotGap mode. */
export const UNLIT_DOT_COLOUR = '#1c1c1c';

export interface RenderOptions {
  /** Output pixels per LED (nearest-neighbour); default 1. */
  scale?: number;
  /** Draw each LED as a dot with a dark gap (needs scale >= 2). */
  dotGap?: boolean;
  /** LEDs that never light (drawn off). */
  deadPixels?: { x: number; y: number }[];
  /** Flashing text is lit in 'on' (default) and dark in 'off'. */
  flashPhase?: 'on' | 'off';
}

/**
 * Coverage from about a third of a pixel lights the LED: at 16 px the outline font's one-pixel
 * strokes straddle two pixels, and a half-pixel threshold breaks them up.
 */
const ON_THRESHOLD = 80;

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function glyphSvg(g: GlyphCell, family: string): string {
  // A nested <svg> is a viewport: it clips the glyph to its cell.
  return `<svg x="${g.x}" y="${g.y}" width="${g.width}" height="${g.height}" overflow="hidden">`
    + `<text x="${g.width / 2}" y="${g.height / 2}" font-family="${escapeXml(family)}" font-size="${g.height}" `
    + `fill="#fff" text-anchor="middle" dominant-baseline="central">${escapeXml(g.char)}</text></svg>`;
}

/** Lit pixels (R >= threshold) of the glyphs drawn white on black at native resolution. */
async function coverageMask(glyphs: GlyphCell[], caps: SignCapabilities): Promise<Uint8Array> {
  const { widthPx: w, heightPx: h } = caps;
  const body = glyphs.map((g) => glyphSvg(g, fontByNumber(caps, g.font)?.family ?? DEFAULT_FONT_FAMILY)).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`
    + `<rect width="${w}" height="${h}" fill="#000"/>${body}</svg>`;
  const raw = await sharp(Buffer.from(svg), { density: 72 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (raw.info.width !== w || raw.info.height !== h) throw new Error(`renderer: SVG rasterised to ${raw.info.width}x${raw.info.height}, expected ${w}x${h}`);
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) mask[i] = raw.data[i * raw.info.channels]! >= ON_THRESHOLD ? 1 : 0;
  return mask;
}

/** RGB of every LED of one page (black = off). */
async function ledMatrix(layout: PageLayout, caps: SignCapabilities, opts: RenderOptions): Promise<Uint8Array> {
  const { widthPx: w, heightPx: h } = caps;
  const leds = new Uint8Array(w * h * 3);
  const visible = layout.glyphs.filter((g) => g.char.trim() !== '' && !(opts.flashPhase === 'off' && g.flash));
  // One mask per colour, so that every lit pixel gets exactly its character's colour.
  const byColour = new Map<string, GlyphCell[]>();
  for (const g of visible) byColour.set(g.colour, [...(byColour.get(g.colour) ?? []), g]);
  for (const [colour, glyphs] of byColour) {
    const mask = await coverageMask(glyphs, caps);
    const rgb = hexToRgb(colour);
    for (let i = 0; i < w * h; i++) if (mask[i]) leds.set(rgb, i * 3);
  }
  for (const { x, y } of opts.deadPixels ?? []) {
    if (x >= 0 && x < w && y >= 0 && y < h) leds.fill(0, (y * w + x) * 3, (y * w + x) * 3 + 3);
  }
  return leds;
}

/** Which pixels of an s x s block belong to the LED's dot: a disc in the block less a 1 px gap. */
function dotShape(scale: number): boolean[] {
  const inner = scale - 1;
  const centre = inner / 2;
  const r2 = (inner / 2 + 0.15) ** 2;
  const shape: boolean[] = [];
  for (let dy = 0; dy < scale; dy++) {
    for (let dx = 0; dx < scale; dx++) {
      shape.push(dx < inner && dy < inner && (dx + 0.5 - centre) ** 2 + (dy + 0.5 - centre) ** 2 <= r2);
    }
  }
  return shape;
}

function upscale(leds: Uint8Array, w: number, h: number, scale: number, dotGap: boolean): Uint8Array {
  if (scale === 1) return leds;
  const out = new Uint8Array(w * scale * h * scale * 3);
  const shape = dotGap ? dotShape(scale) : undefined;
  const unlit = hexToRgb(UNLIT_DOT_COLOUR);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const led = leds.subarray((y * w + x) * 3, (y * w + x) * 3 + 3);
      const lit = led[0]! | led[1]! | led[2]!;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const at = ((y * scale + dy) * w * scale + x * scale + dx) * 3;
          if (!shape) out.set(led, at);
          else if (shape[dy * scale + dx]) out.set(lit ? led : unlit, at);
        }
      }
    }
  }
  return out;
}

async function renderLayout(layout: PageLayout, caps: SignCapabilities, opts: RenderOptions): Promise<Buffer> {
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 32) throw new Error(`renderer: scale ${scale} is not a whole number 1-32`);
  const leds = await ledMatrix(layout, caps, opts);
  const pixels = upscale(leds, caps.widthPx, caps.heightPx, scale, opts.dotGap === true && scale >= 2);
  return sharp(pixels, { raw: { width: caps.widthPx * scale, height: caps.heightPx * scale, channels: 3 } }).png().toBuffer();
}

/** One PNG per page; blank content gives one all-black page. Deterministic: same input, same bytes. */
export async function renderPages(content: SignContent, caps: SignCapabilities, opts: RenderOptions = {}): Promise<Buffer[]> {
  const layouts = layoutContent(content, caps);
  const pages = layouts.length === 0 ? [{ glyphs: [], lines: [] }] : layouts;
  return Promise.all(pages.map((layout) => renderLayout(layout, caps, opts)));
}

/** What a sign shows for a MULTI (used by the simulator). Throws MultiSyntaxError for bad MULTI. */
export async function renderDisplayed(
  multi: string,
  caps: SignCapabilities,
  defaults: MultiDefaults = defaultsFor(caps),
  opts: RenderOptions = {},
): Promise<Buffer[]> {
  return renderPages(parseMulti(multi, defaults), caps, opts);
}
