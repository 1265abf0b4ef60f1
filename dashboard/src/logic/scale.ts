/** Chart scales, DOM-free: round steps and a value axis from zero. */

/** A round step (1, 2 or 5 times a power of ten) that cuts `span` into about `count` parts. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** The value axis from 0 up to a round top at or above `vMax`, in about five round steps. */
export function valueAxis(vMax: number): { step: number; top: number; ticks: number[] } {
  const step = niceStep(vMax || 1, 5);
  const top = Math.max(step, Math.ceil((vMax || 1) / step) * step);
  const ticks: number[] = [];
  // Counted, not summed: adding 0.1 five times is not 0.5.
  for (let i = 0; i * step <= top + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { step, top, ticks };
}

/** Evenly spaced times from t0 to t1 inclusive (the time axis labels). */
export function timeTicks(t0: number, t1: number, count: number): number[] {
  return Array.from({ length: count + 1 }, (_, i) => t0 + ((t1 - t0) * i) / count);
}
