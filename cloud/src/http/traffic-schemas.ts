/** Schemas of the traffic routes: road segments and their GB/T 33171 state, lane periods, detector health. */
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN, GATEWAY_ID_PATTERN, LanePeriod } from '@quanlink/contracts';
import { GRADE_CODES, GRADES, ROAD_CLASSES, type RoadClass } from '../traffic/grades.js';
import { MAX_LANE, MAX_SEGMENT_LANES, MAX_SEGMENT_NAME_LENGTH, MIN_LANE, SEGMENT_ID_PATTERN } from '../traffic/segment-definition.js';
import { Device, GatewayIdParam, Limit, Nullable, TimeParam } from './schemas.js';

/** An enum (not a union of literals) so that a wrong value is answered with the allowed ones. */
export const RoadClassSchema = Type.Unsafe<RoadClass>({
  type: 'string',
  enum: [...ROAD_CLASSES],
  description: 'GB/T 33171 road class: expressway 快速路, arterial 主干路, secondary 次干路/支路',
});

export const GradeSchema = Type.Object(
  {
    code: Type.Union(GRADE_CODES.map((code) => Type.Literal(code)), { description: '1 best .. 5 worst' }),
    name: Type.Union(GRADE_CODES.map((code) => Type.Literal(GRADES[code].name))),
    nameZh: Type.Union(GRADE_CODES.map((code) => Type.Literal(GRADES[code].nameZh))),
  },
  { description: 'GB/T 33171 traffic state grade: 1 畅通 free_flow, 2 基本畅通 basically_free, 3 轻度拥堵 light, 4 中度拥堵 moderate, 5 严重拥堵 severe' },
);

const Lane = Type.Integer({ minimum: MIN_LANE, maximum: MAX_LANE, description: 'lane number' });

export const LaneRefSchema = Type.Object(
  {
    gatewayId: Type.String({ pattern: GATEWAY_ID_PATTERN }),
    deviceId: Type.String({ pattern: DEVICE_ID_PATTERN }),
    lane: Lane,
  },
  { additionalProperties: false },
);

export const SegmentIdParam = Type.String({ pattern: SEGMENT_ID_PATTERN, description: 'road segment id' });
export const SegmentParams = Type.Object({ segmentId: SegmentIdParam });
export type SegmentParams = Static<typeof SegmentParams>;

export const SegmentBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_SEGMENT_NAME_LENGTH }),
    roadClass: RoadClassSchema,
    lanes: Type.Array(LaneRefSchema, {
      minItems: 1,
      maxItems: MAX_SEGMENT_LANES,
      description: 'detector lanes that make up the segment; a lane belongs to at most one segment',
    }),
  },
  { additionalProperties: false },
);
export type SegmentBody = Static<typeof SegmentBody>;

export const SegmentPeriodView = Type.Object({
  periodStart: Type.Integer({ description: 'epoch ms, clock-aligned' }),
  periodS: Type.Integer(),
  volume: Type.Integer({ description: 'vehicles, all reporting lanes' }),
  occupancy: Nullable(Type.Number({ description: 'percent, mean over reporting lanes' })),
  speed: Nullable(Type.Number({ description: 'space-mean speed km/h; null when absent (no vehicles or no speed)' })),
  grade: GradeSchema,
  gradeBasis: Type.Union([Type.Literal('speed'), Type.Literal('hysteresis'), Type.Literal('no-speed')], {
    description:
      'speed: the grade of this speed; hysteresis: the previous grade holds until the speed clears the better boundary by the margin; ' +
      'no-speed: no speed this period, the previous grade holds (free flow when none)',
  }),
  lanesReporting: Type.Integer(),
  lanesTotal: Type.Integer(),
  completeness: Type.Number({ description: 'percent: mean lane completeness x lanesReporting / lanesTotal' }),
  updatedAt: Type.Integer(),
});

export const SegmentView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  roadClass: RoadClassSchema,
  lanes: Type.Array(LaneRefSchema),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  state: Nullable(SegmentPeriodView),
});

export const GradeChangeView = Type.Object({
  periodStart: Type.Integer({ description: 'the first period with the new grade' }),
  periodS: Type.Integer(),
  from: GradeSchema,
  to: GradeSchema,
  speed: Nullable(Type.Number()),
  at: Type.Integer({ description: 'when the cloud recorded the change' }),
});

export const PeriodRangeQuery = Type.Object({
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  limit: Type.Optional(Limit),
});
export type PeriodRangeQuery = Static<typeof PeriodRangeQuery>;

export const LanePeriodQuery = Type.Composite([Type.Object({ lane: Type.Optional(Lane) }), PeriodRangeQuery]);
export type LanePeriodQuery = Static<typeof LanePeriodQuery>;

export const LanePeriodView = Type.Object({
  lane: Type.Integer(),
  periodStart: Type.Integer(),
  periodS: Type.Integer(),
  volume: Type.Integer(),
  flow: Type.Number({ description: 'vehicles per hour' }),
  occupancy: Nullable(Type.Number({ description: 'percent' })),
  speed: Nullable(Type.Number({ description: 'km/h' })),
  speedSource: LanePeriod.properties.speedSource,
  completeness: Type.Number({ description: "percent of the period's expected polls that succeeded" }),
  classes: Nullable(Type.Object({ short: Type.Integer(), medium: Type.Integer(), long: Type.Integer() })),
  receivedAt: Type.Integer(),
});

export const DetectorHealthQuery = Type.Object({ gatewayId: Type.Optional(GatewayIdParam) });
export type DetectorHealthQuery = Static<typeof DetectorHealthQuery>;

export const DetectorHealthView = Type.Composite([
  Device,
  Type.Object({
    lastPeriodStart: Nullable(Type.Integer({ description: 'start of the latest traffic period reported' })),
    healthy: Type.Boolean({ description: "state 'ok' and no active diagnostic" }),
  }),
]);
