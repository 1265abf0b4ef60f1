/** A road segment's traffic in one period, from the periods of the lanes that reported. Pure. */

export interface LaneSample {
  volume: number;
  /** Percent, or null when the detector did not measure it. */
  occupancy: number | null;
  /** km/h, or null when the detector has no speed for the lane. */
  speed: number | null;
  /** Percent of the detector's expected polls in the period. */
  completeness: number;
}

export interface SegmentAggregate {
  /** Vehicles, summed over reporting lanes. */
  volume: number;
  /** Percent, mean over reporting lanes that have it; null when none has. */
  occupancy: number | null;
  /** Space-mean speed, km/h; null when no lane with vehicles has a speed. */
  speed: number | null;
  lanesReporting: number;
  lanesTotal: number;
  /** Percent: mean completeness of reporting lanes, scaled by the share of the segment's lanes that reported. */
  completeness: number;
}

/**
 * Space-mean speed of the lanes: the harmonic mean of lane speeds weighted by volume,
 * Σq_i / Σ(q_i / v_i), over lanes with vehicles and a speed. (Each lane's speed is a time mean over
 * its vehicles; weighting the harmonic mean by volume turns them into the speed of the whole flow.)
 */
export function spaceMeanSpeed(lanes: readonly LaneSample[]): number | null {
  let vehicles = 0;
  let hoursPerKm = 0;
  for (const lane of lanes) {
    if (lane.speed === null || lane.volume <= 0) continue;
    // A lane with vehicles at speed 0 is stopped traffic: the whole flow's space-mean speed is 0.
    if (lane.speed === 0) return 0;
    vehicles += lane.volume;
    hoursPerKm += lane.volume / lane.speed;
  }
  return vehicles === 0 ? null : vehicles / hoursPerKm;
}

export function aggregateLanes(lanes: readonly LaneSample[], lanesTotal: number): SegmentAggregate {
  let volume = 0;
  let occupancySum = 0;
  let occupancyLanes = 0;
  let completenessSum = 0;
  for (const lane of lanes) {
    volume += lane.volume;
    completenessSum += lane.completeness;
    if (lane.occupancy !== null) {
      occupancySum += lane.occupancy;
      occupancyLanes++;
    }
  }
  const reporting = lanes.length;
  const total = Math.max(lanesTotal, reporting);
  return {
    volume,
    occupancy: occupancyLanes === 0 ? null : occupancySum / occupancyLanes,
    speed: spaceMeanSpeed(lanes),
    lanesReporting: reporting,
    lanesTotal: total,
    completeness: reporting === 0 ? 0 : (completenessSum / reporting) * (reporting / total),
  };
}
