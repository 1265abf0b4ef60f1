/**
 * The snapshot overlay drawn straight into rgb24 pixels: box and line strokes, a zone's tinted
 * polygon, and labels blitted from a glyph atlas. Rasterising a full-frame SVG and compositing it
 * with sharp cost more than the JPEG encode itself on every snapshot; strokes are cheap in JS. The
 * glyphs are still drawn by librsvg (the system's monospace font, like the old SVG text), but only
 * once per font size, into an alpha atlas that every label afterwards is copied from.
 */
import sharp from 'sharp';

export type BoxXYXY = [number, number, number, number];
export interface PixelPoint {
  x: number;
  y: number;
}

/** What to draw: boxes with labels, and the line or polygon the event is about (frame pixels). */
export interface SnapshotOverlay {
  boxes: { box: BoxXYXY; label?: string }[];
  line?: [PixelPoint, PixelPoint];
  polygon?: PixelPoint[];
}

type Rgb = readonly [number, number, number];
const BOX: Rgb = [0xff, 0x30, 0x30];
const LINE: Rgb = [0x00, 0xe0, 0xff];
const ZONE: Rgb = [0xff, 0xc8, 0x00];
const ZONE_FILL_ALPHA = 0.18;
/** Labels sit on a darkened band so they read on bright and dark road alike. */
const LABEL_BACKDROP_ALPHA = 0.55;
const MAX_LABEL_CHARS = 64;

/** Printable ASCII; anything else in a label is drawn as '?'. */
const FIRST_CHAR = 32;
const LAST_CHAR = 126;

export interface GlyphAtlas {
  /** Pixel size of one character cell (monospace). */
  cellWidth: number;
  cellHeight: number;
  /** Coverage 0..255, (LAST_CHAR - FIRST_CHAR + 1) cells side by side, row-major. */
  alpha: Uint8Array;
  stride: number;
}

const atlases = new Map<number, Promise<GlyphAtlas>>();

/** The glyph atlas for a font size (px), rendered once per process and size. */
export function glyphAtlas(fontPx: number): Promise<GlyphAtlas> {
  let atlas = atlases.get(fontPx);
  if (!atlas) {
    atlas = renderAtlas(fontPx);
    atlases.set(fontPx, atlas);
    atlas.catch(() => atlases.delete(fontPx));
  }
  return atlas;
}

async function renderAtlas(fontPx: number): Promise<GlyphAtlas> {
  const cellWidth = Math.ceil(fontPx * 0.62);
  const cellHeight = Math.ceil(fontPx * 1.2);
  const count = LAST_CHAR - FIRST_CHAR + 1;
  const baseline = Math.round(fontPx * 0.92);
  const texts: string[] = [];
  for (let c = FIRST_CHAR + 1; c <= LAST_CHAR; c++) {
    texts.push(`<text x="${(c - FIRST_CHAR) * cellWidth}" y="${baseline}">&#${c};</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${count * cellWidth}" height="${cellHeight}"><g font-family="monospace" font-size="${fontPx}" fill="#fff">${texts.join('')}</g></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().extractChannel(3).raw().toBuffer({ resolveWithObject: true });
  return { cellWidth, cellHeight, alpha: new Uint8Array(data.buffer, data.byteOffset, data.length), stride: info.width };
}

/** Sizes used for a frame: the stroke width and the label font (as the SVG overlay had them). */
export function overlayMetrics(width: number, height: number): { stroke: number; fontPx: number } {
  return { stroke: Math.max(2, Math.round(Math.min(width, height) / 160)), fontPx: Math.max(10, Math.round(height / 28)) };
}

/** A drawing surface over rgb24 pixels; everything clips to the frame. */
class Canvas {
  constructor(
    readonly data: Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {}

  /** Blends `color` at `alpha` (0..1) over the pixels of [x1,x2) x [y1,y2). */
  fillRect(x1: number, y1: number, x2: number, y2: number, color: Rgb, alpha = 1): void {
    const xa = Math.max(0, Math.round(x1));
    const xb = Math.min(this.width, Math.round(x2));
    const ya = Math.max(0, Math.round(y1));
    const yb = Math.min(this.height, Math.round(y2));
    if (xa >= xb || ya >= yb) return;
    const [r, g, b] = color;
    const keep = 1 - alpha;
    const d = this.data;
    for (let y = ya; y < yb; y++) {
      const start = (y * this.width + xa) * 3;
      const end = (y * this.width + xb) * 3;
      if (alpha >= 1) {
        for (let s = start; s < end; s += 3) {
          d[s] = r;
          d[s + 1] = g;
          d[s + 2] = b;
        }
      } else {
        for (let s = start; s < end; s += 3) {
          d[s] = d[s]! * keep + r * alpha;
          d[s + 1] = d[s + 1]! * keep + g * alpha;
          d[s + 2] = d[s + 2]! * keep + b * alpha;
        }
      }
    }
  }

  /** A line `stroke` px wide (square brush stepped one pixel at a time along the longer axis). */
  line(a: PixelPoint, b: PixelPoint, stroke: number, color: Rgb): void {
    // Capped: a line from far outside the frame must not cost millions of steps.
    const steps = Math.min(4 * (this.width + this.height), Math.max(1, Math.ceil(Math.max(Math.abs(b.x - a.x), Math.abs(b.y - a.y)))));
    const half = stroke / 2;
    for (let i = 0; i <= steps; i++) {
      const x = a.x + ((b.x - a.x) * i) / steps;
      const y = a.y + ((b.y - a.y) * i) / steps;
      this.fillRect(x - half, y - half, x + half, y + half, color);
    }
  }

  /** A rectangle's outline, the stroke centred on its edges (as SVG strokes are). */
  strokeRect(x1: number, y1: number, x2: number, y2: number, stroke: number, color: Rgb): void {
    const half = stroke / 2;
    this.fillRect(x1 - half, y1 - half, x2 + half, y1 + half, color);
    this.fillRect(x1 - half, y2 - half, x2 + half, y2 + half, color);
    this.fillRect(x1 - half, y1 - half, x1 + half, y2 + half, color);
    this.fillRect(x2 - half, y1 - half, x2 + half, y2 + half, color);
  }

  /** Tints the inside of a polygon (even-odd rule, sampled at pixel centres). */
  fillPolygon(points: readonly PixelPoint[], color: Rgb, alpha: number): void {
    const ys = points.map((p) => p.y);
    const ya = Math.max(0, Math.floor(Math.min(...ys)));
    const yb = Math.min(this.height - 1, Math.ceil(Math.max(...ys)));
    const crossings: number[] = [];
    for (let y = ya; y <= yb; y++) {
      const cy = y + 0.5;
      crossings.length = 0;
      for (let i = 0; i < points.length; i++) {
        const p = points[i]!;
        const q = points[(i + 1) % points.length]!;
        if (p.y <= cy !== q.y <= cy) crossings.push(p.x + ((cy - p.y) / (q.y - p.y)) * (q.x - p.x));
      }
      crossings.sort((m, n) => m - n);
      for (let k = 0; k + 1 < crossings.length; k += 2) this.fillRect(crossings[k]! + 0.5, y, crossings[k + 1]! + 0.5, y + 1, color, alpha);
    }
  }

  /** Text with its top-left corner at (x, y) on a darkened band. */
  text(x: number, y: number, label: string, atlas: GlyphAtlas, color: Rgb): void {
    const { cellWidth, cellHeight, alpha, stride } = atlas;
    const x0 = Math.round(x);
    const y0 = Math.round(y);
    this.fillRect(x0 - 1, y0, x0 + label.length * cellWidth + 1, y0 + cellHeight, [0, 0, 0], LABEL_BACKDROP_ALPHA);
    const [r, g, b] = color;
    const d = this.data;
    for (let i = 0; i < label.length; i++) {
      const code = label.charCodeAt(i);
      const glyph = (code >= FIRST_CHAR && code <= LAST_CHAR ? code : 63) - FIRST_CHAR;
      const gx = x0 + i * cellWidth;
      for (let row = 0; row < cellHeight; row++) {
        const py = y0 + row;
        if (py < 0 || py >= this.height) continue;
        let a = row * stride + glyph * cellWidth;
        for (let col = 0; col < cellWidth; col++, a++) {
          const px = gx + col;
          const cover = alpha[a]!;
          if (cover === 0 || px < 0 || px >= this.width) continue;
          const s = (py * this.width + px) * 3;
          const k = cover / 255;
          d[s] = d[s]! * (1 - k) + r * k;
          d[s + 1] = d[s + 1]! * (1 - k) + g * k;
          d[s + 2] = d[s + 2]! * (1 - k) + b * k;
        }
      }
    }
  }
}

/** Draws the overlay into `rgb` (rgb24, width x height), in place. */
export async function drawOverlay(rgb: Uint8Array, width: number, height: number, overlay: SnapshotOverlay): Promise<void> {
  if (rgb.length < width * height * 3) throw new RangeError(`overlay: ${width}x${height} rgb24 needs ${width * height * 3} bytes, got ${rgb.length}`);
  const canvas = new Canvas(rgb, width, height);
  const { stroke, fontPx } = overlayMetrics(width, height);
  const polygon = overlay.polygon;
  if (polygon && polygon.length >= 3) {
    canvas.fillPolygon(polygon, ZONE, ZONE_FILL_ALPHA);
    for (let i = 0; i < polygon.length; i++) canvas.line(polygon[i]!, polygon[(i + 1) % polygon.length]!, stroke, ZONE);
  }
  if (overlay.line) canvas.line(overlay.line[0], overlay.line[1], stroke, LINE);
  const labelled = overlay.boxes.some((b) => b.label);
  const atlas = labelled ? await glyphAtlas(fontPx) : undefined;
  for (const { box, label } of overlay.boxes) {
    const [x1, y1, x2, y2] = box.map((v, i) => Math.max(0, Math.min(i % 2 === 0 ? width : height, v))) as BoxXYXY;
    canvas.strokeRect(x1, y1, Math.max(x1 + 1, x2), Math.max(y1 + 1, y2), stroke, BOX);
    if (label && atlas) {
      const text = label.slice(0, MAX_LABEL_CHARS);
      // Above the box when there is room, else just below it.
      const top = y1 - stroke / 2 - atlas.cellHeight - 1 >= 0 ? y1 - stroke / 2 - atlas.cellHeight - 1 : y2 + stroke / 2 + 1;
      canvas.text(Math.max(0, Math.min(x1, width - text.length * atlas.cellWidth)), top, text, atlas, BOX);
    }
  }
}
