/** GB/T 33171-2016 traffic state grades by road class, and the hysteresis that keeps them from flapping. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideGrade, GRADES, gradeOfSpeed, HYSTERESIS_MARGIN_KMH, isRoadClass, type GradeCode, type RoadClass } from '../../src/traffic/grades.js';

/** Folds decideGrade over a series of speeds, as the store does period after period. */
function series(roadClass: RoadClass, speeds: (number | null)[]): GradeCode[] {
  let previous: GradeCode | null = null;
  return speeds.map((speed) => (previous = decideGrade(roadClass, speed, previous).grade));
}

describe('gradeOfSpeed (GB/T 33171-2016 table of grades by road class)', () => {
  // [speed km/h, expected grade]: each boundary belongs to the worse grade ("50 < v <= 65" is 基本畅通).
  const table: Record<RoadClass, [number, GradeCode][]> = {
    expressway: [[120, 1], [65.01, 1], [65, 2], [50.01, 2], [50, 3], [35.01, 3], [35, 4], [20.01, 4], [20, 5], [0, 5]],
    arterial: [[80, 1], [40.01, 1], [40, 2], [30.01, 2], [30, 3], [20.01, 3], [20, 4], [15.01, 4], [15, 5], [0, 5]],
    secondary: [[60, 1], [35.01, 1], [35, 2], [25.01, 2], [25, 3], [15.01, 3], [15, 4], [10.01, 4], [10, 5], [0, 5]],
  };
  for (const [roadClass, cases] of Object.entries(table) as [RoadClass, [number, GradeCode][]][]) {
    test(`GB/T 33171 ${roadClass}: every boundary on both sides`, () => {
      for (const [speed, grade] of cases) assert.equal(gradeOfSpeed(roadClass, speed), grade, `${roadClass} at ${speed} km/h`);
    });
  }

  test('grades have stable codes and the standard names', () => {
    assert.deepEqual(
      Object.values(GRADES).map((g) => `${g.code} ${g.name} ${g.nameZh}`),
      ['1 free_flow 畅通', '2 basically_free 基本畅通', '3 light 轻度拥堵', '4 moderate 中度拥堵', '5 severe 严重拥堵'],
    );
    assert.ok(isRoadClass('arterial') && !isRoadClass('highway') && !isRoadClass('toString'));
  });
});

describe('decideGrade: hysteresis', () => {
  test('the first period takes the plain grade of its speed', () => {
    assert.deepEqual(decideGrade('arterial', 18, null), { grade: 4, basis: 'speed' });
    assert.deepEqual(decideGrade('expressway', 70, null), { grade: 1, basis: 'speed' });
  });

  test('a worse grade is immediate, even by a hair', () => {
    assert.deepEqual(decideGrade('arterial', 40, 1), { grade: 2, basis: 'speed' });
    assert.deepEqual(decideGrade('arterial', 5, 1), { grade: 5, basis: 'speed' }, 'several grades at once');
  });

  test(`a better grade needs the speed past the boundary by ${HYSTERESIS_MARGIN_KMH} km/h`, () => {
    // arterial 畅通 is v > 40: from 基本畅通 it takes v > 43.
    assert.deepEqual(decideGrade('arterial', 41, 2), { grade: 2, basis: 'hysteresis' });
    assert.deepEqual(decideGrade('arterial', 43, 2), { grade: 2, basis: 'hysteresis' }, 'exactly the margin is not past it');
    assert.deepEqual(decideGrade('arterial', 43.01, 2), { grade: 1, basis: 'speed' });
    // From 严重拥堵 a speed of 33 is plainly 基本畅通 (> 30) but clears only 轻度 (> 20 + 3, not > 30 + 3).
    assert.deepEqual(decideGrade('arterial', 33, 5), { grade: 3, basis: 'hysteresis' });
    assert.deepEqual(decideGrade('arterial', 34, 5), { grade: 2, basis: 'speed' });
    // Staying in the same grade is not hysteresis.
    assert.deepEqual(decideGrade('arterial', 35, 2), { grade: 2, basis: 'speed' });
  });

  test('free -> congested -> free without flapping while the speed oscillates within the margin', () => {
    const speeds = [
      45, // 畅通
      39, // down to 基本畅通 at once
      42, 39.5, 42.9, 40.5, 43, // hovering over the 40 boundary within the margin: stays 基本畅通
      28, // 轻度拥堵 at once
      31, 29, 32.5, 30.2, // hovering over 30 within the margin: stays 轻度
      14, // 严重拥堵
      16, 17.9, 15.5, 18, // over 15 but not past 18: stays 严重
      18.5, // 中度
      44, // straight back to 畅通 (past 43)
      41, 40.5, // still 畅通: over 40
    ];
    assert.deepEqual(series('arterial', speeds), [1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5, 4, 1, 1, 1]);
    // Without hysteresis the same speeds change grade 11 times instead of 5.
    const plain = speeds.map((s) => gradeOfSpeed('arterial', s));
    const flips = (grades: number[]) => grades.filter((g, i) => i > 0 && g !== grades[i - 1]).length;
    assert.equal(flips(series('arterial', speeds)), 5);
    assert.equal(flips(plain), 11);
  });

  test('a custom margin of 0 reduces to the plain table', () => {
    assert.deepEqual(decideGrade('expressway', 65.5, 3, 0), { grade: 1, basis: 'speed' });
  });
});

describe('decideGrade: periods without a speed', () => {
  test('keep the previous grade and say the speed is absent', () => {
    assert.deepEqual(decideGrade('expressway', null, 4), { grade: 4, basis: 'no-speed' });
    assert.deepEqual(series('secondary', [8, null, null, 40]), [5, 5, 5, 1]);
  });

  test('are free flow when there is no previous grade', () => {
    assert.deepEqual(decideGrade('arterial', null, null), { grade: 1, basis: 'no-speed' });
  });
});
