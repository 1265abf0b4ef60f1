/** The video benchmark's precision/recall: how counted crossings are matched to the scene's truth. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreCrossings, type ScoredCrossing } from '../../src/camera/crossing-score.js';

const c = (lane: number, at: number, direction: ScoredCrossing['direction'] = 'forward'): ScoredCrossing => ({ lane, direction, at });

test('issue 5: a counted crossing matches a true one of the same lane and direction within the tolerance, one to one', () => {
  const truth = [c(1, 10_000), c(1, 11_000), c(2, 10_000), c(3, 20_000, 'reverse')];
  const counted = [
    // Lane 1: three counted near two true crossings, all within 1.5 s of both: two match (closest pairs), one is a double count.
    c(1, 10_400),
    c(1, 10_600),
    c(1, 10_700),
    c(2, 12_000), // 2 s late: outside ±1.5 s
    c(3, 20_100, 'forward'), // wrong direction
  ];
  const score = scoreCrossings(counted, truth, 1500);
  assert.equal(score.matched, 2);
  assert.equal(score.precision, 2 / 5);
  assert.equal(score.recall, 2 / 4);
  assert.deepEqual(score.lanes, {
    '1': { counted: 3, truth: 2, matched: 2 },
    '2': { counted: 1, truth: 1, matched: 0 },
    '3': { counted: 1, truth: 1, matched: 0 },
  });
});

test('issue 5: nothing counted and nothing crossed score 1; a bad tolerance is refused', () => {
  assert.deepEqual([scoreCrossings([], [], 1500).precision, scoreCrossings([], [], 1500).recall], [1, 1]);
  assert.equal(scoreCrossings([], [c(1, 0)], 1500).recall, 0);
  assert.throws(() => scoreCrossings([], [], -1), /tolerance must be >= 0 ms, got -1/);
});
