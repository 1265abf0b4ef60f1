/**
 * Motion gate: skip inference when nothing in the scene changed. Each frame is shrunk to a small
 * grey thumbnail (block means over a GRID x GRID grid, which also averages sensor and encoder noise
 * away) and compared with the thumbnail of the last frame that was analysed: the mean absolute
 * difference over the cells, each cell's difference first reduced by a small noise floor. Comparing
 * with the last analysed frame, not the previous one, lets slow movement add up until it counts.
 *
 * Skipped frames mean "the scene is as it was": the pipeline should not feed the tracker an empty
 * detection list for them. A still scene is still analysed every `everyNthFrameAnyway` frames, so
 * stopped vehicles keep their tracks (keep the tracker's maxMissedMs above that interval).
 */
import type { RgbFrame } from './types.js';

const GRID = 32;
/** Per-cell difference treated as noise, grey levels. */
const NOISE_FLOOR = 2;

export interface MotionGateOptions {
  /** Mean abs difference, 0..255, over the thumbnail's cells above which a frame is analysed. Default 0.25 (a 48x28 px vehicle moving 12 px in a 352x352 frame reads about 0.4; a still scene with pixel noise 0). */
  threshold?: number;
  /** Analyse at least every Nth frame even on a still scene. Default 5; 0 = never force. */
  everyNthFrameAnyway?: number;
}

export class MotionGate {
  readonly stats = { frames: 0, analysed: 0, skipped: 0 };
  private readonly threshold: number;
  private readonly everyNth: number;
  private reference: Float32Array | undefined;
  private referenceSize = '';
  private sinceAnalysed = 0;
  private readonly current = new Float32Array(GRID * GRID);
  /** The difference measured on the last frame (for diagnostics and tuning). */
  lastDifference = 0;

  constructor(opts: MotionGateOptions = {}) {
    this.threshold = opts.threshold ?? 0.25;
    this.everyNth = opts.everyNthFrameAnyway ?? 5;
    if (!(this.threshold >= 0)) throw new RangeError(`motion gate threshold ${opts.threshold} must be >= 0`);
    if (!Number.isInteger(this.everyNth) || this.everyNth < 0) throw new RangeError(`everyNthFrameAnyway ${opts.everyNthFrameAnyway} must be an integer >= 0`);
  }

  shouldAnalyse(frame: RgbFrame): boolean {
    this.stats.frames++;
    greyThumbnail(frame, this.current);
    const size = `${frame.width}x${frame.height}`;
    let analyse: boolean;
    if (!this.reference || size !== this.referenceSize) {
      analyse = true;
      this.lastDifference = Infinity;
    } else {
      this.lastDifference = meanAbsDiff(this.reference, this.current);
      analyse = this.lastDifference > this.threshold || (this.everyNth > 0 && this.sinceAnalysed + 1 >= this.everyNth);
    }
    if (analyse) {
      this.reference = Float32Array.from(this.current);
      this.referenceSize = size;
      this.sinceAnalysed = 0;
      this.stats.analysed++;
    } else {
      this.sinceAnalysed++;
      this.stats.skipped++;
    }
    return analyse;
  }
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) - NOISE_FLOOR;
    if (d > 0) sum += d;
  }
  return sum / a.length;
}

/** Block-mean grey (BT.601 luma weights) of the frame into a GRID x GRID thumbnail. */
function greyThumbnail(frame: RgbFrame, out: Float32Array): void {
  const { width, height, data } = frame;
  if (data.length < width * height * 3) throw new RangeError(`frame of ${width}x${height} rgb24 needs ${width * height * 3} bytes, got ${data.length}`);
  out.fill(0);
  const counts = new Uint32Array(GRID * GRID);
  const columnCells = columnCellsOf(width);
  // Every second row and column is plenty for a block mean and halves the cost.
  for (let y = 0; y < height; y += 2) {
    const row = Math.min(GRID - 1, Math.floor((y * GRID) / height)) * GRID;
    let s = y * width * 3;
    for (let x = 0; x < width; x += 2, s += 6) {
      const cell = row + columnCells[x >> 1]!;
      out[cell]! += 0.299 * data[s]! + 0.587 * data[s + 1]! + 0.114 * data[s + 2]!;
      counts[cell]!++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = counts[i]! > 0 ? out[i]! / counts[i]! : 0;
}

/** Grid column of every sampled (even) x, cached for the last width seen: no division per pixel. */
let cachedColumns: { width: number; cells: Uint8Array } | undefined;
function columnCellsOf(width: number): Uint8Array {
  if (cachedColumns?.width !== width) {
    const cells = new Uint8Array(Math.ceil(width / 2));
    for (let i = 0; i < cells.length; i++) cells[i] = Math.min(GRID - 1, Math.floor((2 * i * GRID) / width));
    cachedColumns = { width, cells };
  }
  return cachedColumns.cells;
}
