/** Synthetic detections for tracker and analytics tests. */
import type { ObjectKind } from '@quanlink/contracts';
import { kindOfLabel, type Detection } from '../../../src/video/analytics/index.js';

export const T0 = 1_800_000_000_000; // a multiple of 60 s: a period boundary

export function det(cx: number, cy: number, w = 40, h = 24, label = 'car', score = 0.8): Detection {
  const kind: ObjectKind = kindOfLabel(label);
  return { box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score, classId: label === 'person' ? 0 : 2, label, kind };
}
