/**
 * Precision and recall of counted crossings against the camera simulator's ground truth (the e2e
 * tests and the video benchmark score with it): a counted crossing matches a
 * true one of the same lane and direction within ±toleranceMs, each used once (closest pairs first).
 */

export interface ScoredCrossing {
  lane: number;
  direction: 'forward' | 'reverse';
  /** Epoch ms. */
  at: number;
}

export interface LaneScore {
  counted: number;
  truth: number;
  matched: number;
}

export interface CrossingScore {
  counted: number;
  truth: number;
  matched: number;
  /** matched / counted (1 when nothing was counted). */
  precision: number;
  /** matched / truth (1 when nothing crossed). */
  recall: number;
  lanes: Record<string, LaneScore>;
}

export function scoreCrossings(counted: readonly ScoredCrossing[], truth: readonly ScoredCrossing[], toleranceMs: number): CrossingScore {
  if (!(toleranceMs >= 0)) throw new RangeError(`tolerance must be >= 0 ms, got ${toleranceMs}`);
  const pairs: { c: number; t: number; dt: number }[] = [];
  counted.forEach((c, ci) =>
    truth.forEach((t, ti) => {
      const dt = Math.abs(c.at - t.at);
      if (c.lane === t.lane && c.direction === t.direction && dt <= toleranceMs) pairs.push({ c: ci, t: ti, dt });
    }),
  );
  pairs.sort((a, b) => a.dt - b.dt || a.c - b.c || a.t - b.t);
  const usedC = new Set<number>();
  const usedT = new Set<number>();
  const lanes: Record<string, LaneScore> = {};
  const lane = (n: number) => (lanes[String(n)] ??= { counted: 0, truth: 0, matched: 0 });
  for (const c of counted) lane(c.lane).counted++;
  for (const t of truth) lane(t.lane).truth++;
  for (const p of pairs) {
    if (usedC.has(p.c) || usedT.has(p.t)) continue;
    usedC.add(p.c);
    usedT.add(p.t);
    lane(truth[p.t]!.lane).matched++;
  }
  const matched = usedC.size;
  return {
    counted: counted.length,
    truth: truth.length,
    matched,
    precision: counted.length === 0 ? 1 : matched / counted.length,
    recall: truth.length === 0 ? 1 : matched / truth.length,
    lanes,
  };
}
