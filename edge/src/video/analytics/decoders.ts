/**
 * Output decoders: a model's raw output tensor -> scored boxes in the frame's pixels, then NMS.
 * Each decoder states the output shape it understands, so a mismatched model is refused at load.
 */
import { iou } from './geometry.js';
import type { BoxXYXY, OutputDecoder } from './types.js';

export interface RawDetection {
  box: BoxXYXY;
  score: number;
  classId: number;
}

export interface DecodeContext {
  /** Model input size. */
  inputWidth: number;
  inputHeight: number;
  /** Frame size the boxes are scaled to. */
  frameWidth: number;
  frameHeight: number;
  scoreThreshold: number;
  classes: number;
}

export type Decode = (out: Float32Array, dims: readonly number[], ctx: DecodeContext) => RawDetection[];

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function clampBox(x1: number, y1: number, x2: number, y2: number, w: number, h: number): BoxXYXY {
  return [Math.max(0, Math.min(w, x1)), Math.max(0, Math.min(h, y1)), Math.max(0, Math.min(w, x2)), Math.max(0, Math.min(h, y2))];
}

/**
 * FastestDet: [1, 5+C, G, G], one box per cell. Channel 0 objectness (sigmoid applied), 1-2 centre
 * offsets (tanh), 3-4 size as a share of the image (sigmoid), then C softmaxed class scores.
 * score = obj^0.6 * cls^0.4.
 */
export const decodeFastestDet: Decode = (out, dims, ctx) => {
  const gh = dims[2]!;
  const gw = dims[3]!;
  const plane = gh * gw;
  const found: RawDetection[] = [];
  // cls <= 1, so score <= obj^0.6: cells below this objectness cannot pass and skip the argmax.
  const minObj = Math.pow(ctx.scoreThreshold, 1 / 0.6);
  for (let h = 0; h < gh; h++) {
    for (let w = 0; w < gw; w++) {
      const cell = h * gw + w;
      const obj = out[cell]!;
      if (obj < minObj) continue;
      let best = 0;
      let bestP = -1;
      for (let c = 0; c < ctx.classes; c++) {
        const p = out[(5 + c) * plane + cell]!;
        if (p > bestP) { bestP = p; best = c; }
      }
      const score = Math.pow(obj, 0.6) * Math.pow(Math.max(bestP, 0), 0.4);
      if (score < ctx.scoreThreshold) continue;
      const cx = (w + Math.tanh(out[plane + cell]!)) / gw;
      const cy = (h + Math.tanh(out[2 * plane + cell]!)) / gh;
      const bw = sigmoid(out[3 * plane + cell]!);
      const bh = sigmoid(out[4 * plane + cell]!);
      const W = ctx.frameWidth;
      const H = ctx.frameHeight;
      found.push({ box: clampBox((cx - bw / 2) * W, (cy - bh / 2) * H, (cx + bw / 2) * W, (cy + bh / 2) * H, W, H), score, classId: best });
    }
  }
  return found;
};

/** A YOLO box (centre, size in input pixels) scaled to the frame. */
function yoloBox(cx: number, cy: number, w: number, h: number, ctx: DecodeContext): BoxXYXY {
  const sx = ctx.frameWidth / ctx.inputWidth;
  const sy = ctx.frameHeight / ctx.inputHeight;
  return clampBox((cx - w / 2) * sx, (cy - h / 2) * sy, (cx + w / 2) * sx, (cy + h / 2) * sy, ctx.frameWidth, ctx.frameHeight);
}

/** YOLOv5-style: [1, N, 5+C] rows of cx, cy, w, h, objectness, C class scores (sigmoid applied); score = obj * cls. */
export const decodeYolov5: Decode = (out, dims, ctx) => {
  const n = dims[1]!;
  const stride = dims[2]!;
  const found: RawDetection[] = [];
  for (let i = 0; i < n; i++) {
    const row = i * stride;
    const obj = out[row + 4]!;
    if (obj < ctx.scoreThreshold) continue;
    let best = 0;
    let bestP = -1;
    for (let c = 0; c < ctx.classes; c++) {
      const p = out[row + 5 + c]!;
      if (p > bestP) { bestP = p; best = c; }
    }
    const score = obj * bestP;
    if (score < ctx.scoreThreshold) continue;
    found.push({ box: yoloBox(out[row]!, out[row + 1]!, out[row + 2]!, out[row + 3]!, ctx), score, classId: best });
  }
  return found;
};

/** YOLOv8-style: [1, 4+C, N] (column per candidate) of cx, cy, w, h, C class scores; no objectness. */
export const decodeYolov8: Decode = (out, dims, ctx) => {
  const n = dims[2]!;
  const found: RawDetection[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestP = -1;
    for (let c = 0; c < ctx.classes; c++) {
      const p = out[(4 + c) * n + i]!;
      if (p > bestP) { bestP = p; best = c; }
    }
    if (bestP < ctx.scoreThreshold) continue;
    found.push({ box: yoloBox(out[i]!, out[n + i]!, out[2 * n + i]!, out[3 * n + i]!, ctx), score: bestP, classId: best });
  }
  return found;
};

export interface DecoderSpec {
  decode: Decode;
  defaultOrder: 'bgr' | 'rgb';
  /**
   * The output shape this decoder needs for an input of width x height, or a reason it cannot
   * use the given output dims. Returns the class count on success.
   */
  classesFromOutput(dims: readonly (number | string)[], inputWidth: number, inputHeight: number): number | string;
  /** Input shape the decoder requires, when fixed. */
  fixedInput?: readonly [number, number, number, number];
}

const fmt = (dims: readonly (number | string)[]): string => `[${dims.join(',')}]`;

export const DECODERS: Record<OutputDecoder, DecoderSpec> = {
  fastestdet: {
    decode: decodeFastestDet,
    defaultOrder: 'bgr',
    fixedInput: [1, 3, 352, 352],
    classesFromOutput(dims, w, h) {
      const g = [h / 16, w / 16];
      if (dims.length !== 4 || dims[0] !== 1 || dims[2] !== g[0] || dims[3] !== g[1] || typeof dims[1] !== 'number' || dims[1] < 6) {
        return `output is ${fmt(dims)}, the fastestdet decoder expects [1,5+classes,${g[0]},${g[1]}]`;
      }
      return dims[1] - 5;
    },
  },
  yolov5: {
    decode: decodeYolov5,
    defaultOrder: 'rgb',
    classesFromOutput(dims) {
      if (dims.length !== 3 || dims[0] !== 1 || typeof dims[1] !== 'number' || typeof dims[2] !== 'number' || dims[2] < 6) {
        return `output is ${fmt(dims)}, the yolov5 decoder expects [1,candidates,5+classes]`;
      }
      return dims[2] - 5;
    },
  },
  yolov8: {
    decode: decodeYolov8,
    defaultOrder: 'rgb',
    classesFromOutput(dims) {
      if (dims.length !== 3 || dims[0] !== 1 || typeof dims[1] !== 'number' || typeof dims[2] !== 'number' || dims[1] < 5) {
        return `output is ${fmt(dims)}, the yolov8 decoder expects [1,4+classes,candidates]`;
      }
      return dims[1] - 4;
    },
  },
};

/** Greedy non-maximum suppression, best score first; per class unless class-agnostic. */
export function nms(dets: RawDetection[], iouThreshold: number, classAgnostic: boolean): RawDetection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  for (const d of sorted) {
    if (kept.some((k) => (classAgnostic || k.classId === d.classId) && iou(k.box, d.box) > iouThreshold)) continue;
    kept.push(d);
  }
  return kept;
}

export { fmt as formatDims };
