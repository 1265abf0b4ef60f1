/**
 * What a healthy card should show, recomputed from a traffic model of the same seed outside the
 * card: the last complete aggregation window of a lane (lane-stats.test.ts checks laneStats by hand).
 */
import { laneStats, type LaneStats } from '../../src/loop-card/lane-stats.js';
import type { TrafficModel } from '../../src/loop-card/traffic.js';

export function lastWindowOf(model: TrafficModel, lane: number, windowS = 1): LaneStats & { speedKmh: number } {
  const k = Math.floor(model.simTimeS / windowS) - 1;
  const from = Math.max(0, k) * windowS;
  const stats = k < 0 ? laneStats([], 0, windowS) : laneStats(model.vehiclesDuring(lane, from, from + windowS), from, from + windowS);
  return { ...stats, speedKmh: stats.timeMeanSpeedKmh ?? 0 };
}
