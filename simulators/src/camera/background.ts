/**
 * The empty road, drawn once as raw RGB24: paved verges, asphalt with a little seeded noise (a
 * flat grey is not what a camera sees, and the detector was checked on noisy asphalt), solid
 * edge lines, dashed lines between lanes of one direction, a double yellow line between
 * opposite directions, and the stop bars of queue scenarios.
 */
import { createRandom, deriveSeed } from '../random.js';
import type { RoadGeometry } from './road-geometry.js';

type Rgb = readonly [number, number, number];

const VERGE: Rgb = [138, 136, 128];
const ASPHALT: Rgb = [96, 96, 98];
const WHITE: Rgb = [228, 228, 222];
const YELLOW: Rgb = [222, 186, 40];

export function drawRoad(road: RoadGeometry, seed: number, stopBars: { lane: number; y: number }[]): Buffer {
  const { width: W, height: H } = road;
  const out = Buffer.alloc(W * H * 3);
  const random = createRandom(deriveSeed(seed, 2000));
  const put = (x: number, y: number, c: Rgb, noise = 0): void => {
    if (x < 0 || x >= W || y < 0 || y >= H) return;
    const i = (y * W + x) * 3;
    out[i] = clamp(c[0] + noise);
    out[i + 1] = clamp(c[1] + noise);
    out[i + 2] = clamp(c[2] + noise);
  };
  for (let y = 0; y < H; y++) {
    const left = road.roadLeft(y + 0.5);
    const right = road.roadRight(y + 0.5);
    for (let x = 0; x < W; x++) {
      const onRoad = x + 0.5 >= left && x + 0.5 < right;
      put(x, y, onRoad ? ASPHALT : VERGE, Math.round(random.uniform(-12, 12)));
    }
  }
  // Near-vertical markings: fill a few px around the marking's x on every row.
  const stripe = (xAt: (y: number) => number, halfWidth: (y: number) => number, c: Rgb, dashed: boolean): void => {
    for (let y = 0; y < H; y++) {
      // Dashes: 3 m painted, 6 m gap, in road metres (perspective makes far dashes shorter).
      if (dashed && Math.floor(roadMetres(road, y) / 3) % 3 !== 0) continue;
      const x = xAt(y + 0.5);
      const hw = halfWidth(y + 0.5);
      for (let px = Math.round(x - hw); px < Math.round(x + hw); px++) put(px, y, c);
    }
  };
  const lineWidth = (y: number): number => Math.max(1, road.laneWidth(y) * 0.012);
  stripe((y) => road.roadLeft(y) + 2 * lineWidth(y), lineWidth, WHITE, false);
  stripe((y) => road.roadRight(y) - 2 * lineWidth(y), lineWidth, WHITE, false);
  for (let lane = 2; lane <= road.laneCount; lane++) {
    if (road.directions[lane - 2] === road.directions[lane - 1]) stripe((y) => road.laneEdge(lane, y), lineWidth, WHITE, true);
    else {
      stripe((y) => road.laneEdge(lane, y) - 1.6 * lineWidth(y), lineWidth, YELLOW, false);
      stripe((y) => road.laneEdge(lane, y) + 1.6 * lineWidth(y), lineWidth, YELLOW, false);
    }
  }
  for (const bar of stopBars) {
    const yPx = bar.y * H;
    const thick = Math.max(2, Math.round(road.alongPxPerM(yPx) * 0.4));
    for (let y = Math.round(yPx - thick / 2); y < Math.round(yPx + thick / 2); y++) {
      for (let x = Math.round(road.laneEdge(bar.lane, y)); x < Math.round(road.laneEdge(bar.lane + 1, y)); x++) put(x, y, WHITE);
    }
  }
  return out;
}

/** Metres along the road from the top of the image to row y (integral of 1 / px-per-metre). */
function roadMetres(road: RoadGeometry, y: number): number {
  let m = 0;
  for (let r = 0; r < y; r++) m += 1 / road.alongPxPerM(r + 0.5);
  return m;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
