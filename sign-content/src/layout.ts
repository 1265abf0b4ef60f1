/**
 * Where every character goes on the matrix: a cell per character (its font's cell height and its
 * width), lines placed by line justification (left/center/right/full) and stacked by page
 * justification (top/middle/bottom). Characters of a shorter font sit on the line's bottom.
 * Pixel positions are whole numbers; centring rounds down.
 */
import { measureLine, spacingAbovePx, type MeasuredLine } from './measure.js';
import type { SignCapabilities, SignContent, TextRun } from './types.js';

export interface GlyphCell {
  x: number;
  y: number;
  width: number;
  height: number;
  char: string;
  colour: string;
  font: number;
  flash?: TextRun['flash'];
  /** 1-based line of the page. */
  line: number;
}

export interface LineBox { x: number; y: number; width: number; height: number }

export interface PageLayout {
  glyphs: GlyphCell[];
  lines: LineBox[];
}

function placeLine(m: MeasuredLine, justification: string, y: number, height: number, widthPx: number, lineNo: number): { glyphs: GlyphCell[]; box: LineBox } {
  const free = widthPx - m.widthPx;
  const gaps = m.chars.length - 1;
  // Full justification spreads the free pixels over the gaps between characters, first gaps first.
  const extraAfter = (i: number) => (justification === 'full' && free > 0 && gaps > 0 ? Math.floor(free / gaps) + (i < free % gaps ? 1 : 0) : 0);
  let x = justification === 'center' ? Math.floor(free / 2) : justification === 'right' ? free : 0;
  const start = x;
  const glyphs = m.chars.map((c, i): GlyphCell => {
    const cell: GlyphCell = {
      x, y: y + height - c.font.heightPx, width: c.widthPx, height: c.font.heightPx,
      char: c.char, colour: c.run.colour, font: c.font.number, line: lineNo,
    };
    if (c.run.flash) cell.flash = c.run.flash;
    x += c.widthPx + c.spacingAfterPx + (i < gaps ? extraAfter(i) : 0);
    return cell;
  });
  const width = justification === 'full' && free > 0 && gaps > 0 ? widthPx : m.widthPx;
  return { glyphs, box: { x: start, y, width, height } };
}

/** One layout per page. Throws when a line uses a font the sign does not have (checkContent says so first). */
export function layoutContent(content: SignContent, caps: SignCapabilities): PageLayout[] {
  return content.pages.map((page, p) => {
    const measured = page.lines.map((line, l) => {
      const m = measureLine(line, caps);
      if (m.unknownFonts.length > 0) throw new Error(`page ${p + 1} line ${l + 1}: font ${m.unknownFonts.join(', ')} is not defined on this sign`);
      return m;
    });
    const total = measured.reduce((sum, m, i) => sum + m.heightPx + spacingAbovePx(page.lines[i]!, i, caps), 0);
    const free = caps.heightPx - total;
    let y = page.justification === 'middle' ? Math.floor(free / 2) : page.justification === 'bottom' ? free : 0;
    const layout: PageLayout = { glyphs: [], lines: [] };
    measured.forEach((m, i) => {
      y += spacingAbovePx(page.lines[i]!, i, caps);
      const placed = placeLine(m, page.lines[i]!.justification, y, m.heightPx, caps.widthPx, i + 1);
      layout.glyphs.push(...placed.glyphs);
      layout.lines.push(placed.box);
      y += m.heightPx;
    });
    return layout;
  });
}
