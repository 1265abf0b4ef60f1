/**
 * FastestDet (../shared/models/FastestDet.onnx) for the simulator's own tests: a real detector
 * that checks the composed scene is one it sees. Decoding follows the models README: input
 * 'input.1' [1,3,352,352] BGR / 255 stretched; output [1,85,22,22], score = obj^0.6 * cls^0.4,
 * class-agnostic NMS at IoU 0.45.
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { FASTESTDET_MODEL_PATH } from '../../../src/shared-models.js';

export const MODEL_PATH = FASTESTDET_MODEL_PATH;
const SIZE = 352;
const GRID = 22;
export const VEHICLE_CLASSES = new Set([2, 3, 5, 7]);

export interface Detection {
  cls: number;
  score: number;
  box: [number, number, number, number];
}

export async function loadDetector(): Promise<(rgb: Buffer, width: number, height: number) => Promise<Detection[]>> {
  const session = await ort.InferenceSession.create(MODEL_PATH, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const input = new Float32Array(3 * SIZE * SIZE);
  return async (rgb, width, height) => {
    const resized = await sharp(rgb, { raw: { width, height, channels: 3 } }).resize(SIZE, SIZE, { fit: 'fill' }).raw().toBuffer();
    const plane = SIZE * SIZE;
    for (let i = 0; i < plane; i++) {
      input[i] = resized[i * 3 + 2]! / 255; // B
      input[plane + i] = resized[i * 3 + 1]! / 255; // G
      input[2 * plane + i] = resized[i * 3]! / 255; // R
    }
    const out = await session.run({ 'input.1': new ort.Tensor('float32', input, [1, 3, SIZE, SIZE]) });
    const p = out[session.outputNames[0]!]!.data as Float32Array;
    const cell = GRID * GRID;
    const found: Detection[] = [];
    for (let h = 0; h < GRID; h++) {
      for (let w = 0; w < GRID; w++) {
        const at = (c: number): number => p[c * cell + h * GRID + w]!;
        let cls = 0;
        let clsP = 0;
        for (let c = 0; c < 80; c++) if (at(5 + c) > clsP) [cls, clsP] = [c, at(5 + c)];
        const score = Math.pow(at(0), 0.6) * Math.pow(clsP, 0.4);
        if (score < 0.5) continue;
        const cx = (w + Math.tanh(at(1))) / GRID;
        const cy = (h + Math.tanh(at(2))) / GRID;
        const bw = 1 / (1 + Math.exp(-at(3)));
        const bh = 1 / (1 + Math.exp(-at(4)));
        found.push({ cls, score, box: [(cx - bw / 2) * width, (cy - bh / 2) * height, (cx + bw / 2) * width, (cy + bh / 2) * height] });
      }
    }
    found.sort((a, b) => b.score - a.score);
    const kept: Detection[] = [];
    for (const d of found) if (kept.every((k) => iou(k.box, d.box) < 0.45)) kept.push(d);
    return kept;
  };
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union > 0 ? inter / union : 0;
}
