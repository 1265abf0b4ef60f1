/**
 * Single-loop speed estimation, v = q * g / occupancy (q flow in veh/h, occupancy as a fraction,
 * g the effective vehicle length: vehicle plus loop). g is configured per lane and re-fitted from
 * low-occupancy periods, where traffic is assumed to run at the lane's free-flow speed (as PeMS does).
 */
export interface SpeedModel {
  /** Effective vehicle length, metres. */
  gMetres: number;
  /** Speed assumed when occupancy is low, km/h. */
  freeFlowKmh: number;
}

/** Below this occupancy (percent) traffic is taken as free flowing, for re-fitting g. */
export const FREE_FLOW_OCCUPANCY = 12;
/** How far one period moves g (exponential smoothing). */
const REFIT_WEIGHT = 0.1;
const G_LIMITS: [number, number] = [3, 20];

export function estimateSpeed(model: SpeedModel, flowVehH: number, occupancyPct: number | undefined): number | undefined {
  if (occupancyPct === undefined || occupancyPct <= 0 || flowVehH <= 0) return undefined;
  return Math.min(250, (flowVehH * (model.gMetres / 1000)) / (occupancyPct / 100));
}

/** g after one period; unchanged unless the period was free flowing and had traffic. */
export function refitG(model: SpeedModel, flowVehH: number, occupancyPct: number | undefined): number {
  if (occupancyPct === undefined || occupancyPct <= 0 || occupancyPct >= FREE_FLOW_OCCUPANCY || flowVehH <= 0) return model.gMetres;
  const observed = (model.freeFlowKmh * 1000 * (occupancyPct / 100)) / flowVehH;
  const next = model.gMetres + REFIT_WEIGHT * (observed - model.gMetres);
  return Math.min(G_LIMITS[1], Math.max(G_LIMITS[0], next));
}
