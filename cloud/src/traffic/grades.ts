/**
 * GB/T 33171-2016 road traffic state grades (城市交通运行状况评价规范, 道路交通运行状态等级), from the
 * mean speed of a road segment and its road class, with hysteresis so that a grade does not flap
 * when the speed hovers around a boundary. Pure: no I/O, no clock.
 */

export const ROAD_CLASSES = ['expressway', 'arterial', 'secondary'] as const;
/** 快速路, 主干路, 次干路 (the standard puts 支路, local streets, with 次干路). */
export type RoadClass = (typeof ROAD_CLASSES)[number];

/** 1 = best (畅通) .. 5 = worst (严重拥堵): a larger code is a worse grade. */
export type GradeCode = 1 | 2 | 3 | 4 | 5;
export const GRADE_CODES: readonly GradeCode[] = [1, 2, 3, 4, 5];

export interface Grade {
  code: GradeCode;
  /** Stable English identifier. */
  name: 'free_flow' | 'basically_free' | 'light' | 'moderate' | 'severe';
  /** The standard's term. */
  nameZh: '畅通' | '基本畅通' | '轻度拥堵' | '中度拥堵' | '严重拥堵';
}

export const GRADES: Readonly<Record<GradeCode, Grade>> = {
  1: { code: 1, name: 'free_flow', nameZh: '畅通' },
  2: { code: 2, name: 'basically_free', nameZh: '基本畅通' },
  3: { code: 3, name: 'light', nameZh: '轻度拥堵' },
  4: { code: 4, name: 'moderate', nameZh: '中度拥堵' },
  5: { code: 5, name: 'severe', nameZh: '严重拥堵' },
};

/**
 * Per road class, the exclusive lower speed bound (km/h) of grades 1..4; grade 5 is at or below the
 * last one. E.g. arterial: 畅通 v > 40, 基本畅通 30 < v <= 40, 轻度 20 < v <= 30, 中度 15 < v <= 20, 严重 v <= 15.
 * The secondary-road values are those of the standard's 次干路/支路 row.
 */
export const SPEED_BOUNDS_KMH: Readonly<Record<RoadClass, readonly [number, number, number, number]>> = {
  expressway: [65, 50, 35, 20],
  arterial: [40, 30, 20, 15],
  secondary: [35, 25, 15, 10],
};

/** How far past a boundary the speed must be before the grade improves (worsening is immediate). */
export const HYSTERESIS_MARGIN_KMH = 3;

export function isRoadClass(value: string): value is RoadClass {
  return (ROAD_CLASSES as readonly string[]).includes(value);
}

/** The grade of a mean speed by the standard's table alone, without hysteresis. */
export function gradeOfSpeed(roadClass: RoadClass, speedKmh: number): GradeCode {
  const bounds = SPEED_BOUNDS_KMH[roadClass];
  for (let i = 0; i < bounds.length; i++) if (speedKmh > bounds[i]!) return (i + 1) as GradeCode;
  return 5;
}

/**
 * Why a period has its grade:
 * - speed: the standard's grade of this period's speed;
 * - hysteresis: the speed alone would give a better grade, but not by the margin, so the previous grade holds;
 * - no-speed: the period has no speed (no vehicles, or no lane measures speed): the previous grade holds,
 *   free flow when there is none.
 */
export type GradeBasis = 'speed' | 'hysteresis' | 'no-speed';

export interface GradeDecision {
  grade: GradeCode;
  basis: GradeBasis;
}

/**
 * The grade of a period given its mean speed (null when absent) and the previous period's grade
 * (null for a segment's first period). Moving to a worse grade is immediate; moving to a better one
 * needs the speed to exceed that grade's boundary by `marginKmh`.
 */
export function decideGrade(
  roadClass: RoadClass,
  speedKmh: number | null,
  previous: GradeCode | null,
  marginKmh: number = HYSTERESIS_MARGIN_KMH,
): GradeDecision {
  if (speedKmh === null) return { grade: previous ?? 1, basis: 'no-speed' };
  const plain = gradeOfSpeed(roadClass, speedKmh);
  if (previous === null || plain >= previous) return { grade: plain, basis: 'speed' };
  // Better than before: go only as far up as the speed clears with the margin, never below the previous grade.
  const withMargin = gradeOfSpeed(roadClass, speedKmh - marginKmh);
  if (withMargin >= previous) return { grade: previous, basis: 'hysteresis' };
  return { grade: withMargin, basis: withMargin === plain ? 'speed' : 'hysteresis' };
}

export type GradeName = Grade['name'];
export const GRADE_NAMES: readonly GradeName[] = GRADE_CODES.map((code) => GRADES[code].name);

/** The code of a grade's stable English name, or undefined when it is not one. */
export function gradeCodeOfName(name: string): GradeCode | undefined {
  return GRADE_CODES.find((code) => GRADES[code].name === name);
}
