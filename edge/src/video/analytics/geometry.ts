/** Small plane geometry in pixel coordinates (y grows downwards, as in images). */
import type { BoxXYXY } from './types.js';

export interface Vec { x: number; y: number }

export function iou(a: BoxXYXY, b: BoxXYXY): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export function boxArea(b: BoxXYXY): number {
  return (b[2] - b[0]) * (b[3] - b[1]);
}

/** Share of box a's area that lies inside box b (0 when a has no area). */
export function insideShare(a: BoxXYXY, b: BoxXYXY): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const area = boxArea(a);
  return iw <= 0 || ih <= 0 || area <= 0 ? 0 : (iw * ih) / area;
}

/** Whether p lies strictly inside the box. */
export function boxHolds(box: BoxXYXY, p: Vec): boolean {
  return p.x > box[0] && p.x < box[2] && p.y > box[1] && p.y < box[3];
}

export function centreOf(box: BoxXYXY): Vec {
  return { x: (box[0] + box[2]) / 2, y: (box[1] + box[3]) / 2 };
}

export function shiftBox(box: BoxXYXY, dx: number, dy: number): BoxXYXY {
  return [box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy];
}

/**
 * Which side of the directed line a->b point p lies on: +1 right, -1 left, 0 on it. "Right" is
 * as seen walking from a to b in image coordinates (y down): for a line drawn left to right, the
 * right side is below it.
 */
export function sideOf(a: Vec, b: Vec, p: Vec): -1 | 0 | 1 {
  const cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
  return cross > 0 ? 1 : cross < 0 ? -1 : 0;
}

/** Whether segment p->q meets segment a->b (touching counts). */
export function segmentsMeet(p: Vec, q: Vec, a: Vec, b: Vec): boolean {
  const d1 = sideOf(a, b, p);
  const d2 = sideOf(a, b, q);
  const d3 = sideOf(p, q, a);
  const d4 = sideOf(p, q, b);
  if (d1 !== d2 && d3 !== d4) return true;
  // Collinear cases: a shared point on both segments.
  return (
    (d1 === 0 && onSegment(a, b, p)) || (d2 === 0 && onSegment(a, b, q)) ||
    (d3 === 0 && onSegment(p, q, a)) || (d4 === 0 && onSegment(p, q, b))
  );
}

function onSegment(a: Vec, b: Vec, p: Vec): boolean {
  return p.x >= Math.min(a.x, b.x) && p.x <= Math.max(a.x, b.x) && p.y >= Math.min(a.y, b.y) && p.y <= Math.max(a.y, b.y);
}

/** Even-odd ray casting; points on an edge may fall either way. */
export function insidePolygon(poly: readonly Vec[], p: Vec): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const pi = poly[i]!;
    const pj = poly[j]!;
    if (pi.y > p.y !== pj.y > p.y && p.x < ((pj.x - pi.x) * (p.y - pi.y)) / (pj.y - pi.y) + pi.x) inside = !inside;
  }
  return inside;
}

export function distance(a: Vec, b: Vec): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}
