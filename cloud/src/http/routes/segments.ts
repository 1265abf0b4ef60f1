/** Road segments: their definition (admin), current GB/T 33171 traffic state, history and grade changes. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GRADES } from '../../traffic/grades.js';
import {
  InvalidSegmentError,
  SegmentLaneConflictError,
  UnknownGatewayError,
  UnknownSegmentError,
  type CloudStore,
  type GradeChange,
  type SegmentPeriod,
  type SegmentState,
} from '../../store/types.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { errorResponses } from '../schemas.js';
import { parseTimeRange } from '../time-param.js';
import {
  GradeChangeView,
  PeriodRangeQuery,
  SegmentBody,
  SegmentParams,
  SegmentPeriodView,
  SegmentView,
} from '../traffic-schemas.js';
import type { AccessControl } from '../access.js';

function periodView(period: SegmentPeriod) {
  const { segmentId: _segmentId, grade, ...rest } = period;
  return { ...rest, grade: GRADES[grade] };
}

function segmentView({ segment, current }: SegmentState) {
  return { ...segment, state: current === null ? null : periodView(current) };
}

function changeView(change: GradeChange) {
  return {
    periodStart: change.periodStart,
    periodS: change.periodS,
    from: GRADES[change.fromGrade],
    to: GRADES[change.toGrade],
    speed: change.speed,
    at: change.at,
  };
}

/** Turns UnknownSegmentError into the 404 naming the segment. */
async function orNotFound<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (err) {
    if (err instanceof UnknownSegmentError) throw notFound(err.message);
    throw err;
  }
}

export function segmentRoutes(app: FastifyInstance, store: CloudStore, access: AccessControl): void {
  app.put<{ Params: SegmentParams; Body: SegmentBody }>(
    '/api/v1/segments/:segmentId',
    {
      preHandler: access.require('admin', 'technician'),
      schema: {
        tags: ['traffic'],
        summary: 'Create a road segment, or replace its name, road class and lanes',
        security: [{ bearer: [] }],
        params: SegmentParams,
        body: SegmentBody,
        response: { 200: SegmentView, 201: SegmentView, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const id = request.params.segmentId;
      const { name, roadClass, lanes } = request.body;
      try {
        const { created } = await store.putSegment({ id, name, roadClass, lanes });
        request.log.info({ segment: id, roadClass, lanes: lanes.length, created, operation: 'put segment' }, 'road segment saved');
        return reply.code(created ? 201 : 200).send(segmentView((await store.segmentState(id))!));
      } catch (err) {
        if (err instanceof UnknownGatewayError) {
          const index = lanes.findIndex((lane) => lane.gatewayId === err.gatewayId);
          throw badRequest(`body field 'lanes[${index}].gatewayId': gateway '${err.gatewayId}' is not registered`);
        }
        if (err instanceof SegmentLaneConflictError) throw new ApiError(409, 'Conflict', err.message);
        if (err instanceof InvalidSegmentError) throw badRequest(err.message);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/segments',
    {
      schema: {
        tags: ['traffic'],
        summary: 'Every road segment with its current traffic state (latest period, GB/T 33171 grade)',
        response: { 200: Type.Object({ segments: Type.Array(SegmentView) }) },
      },
    },
    async () => ({ segments: (await store.segmentStates()).map(segmentView) }),
  );

  app.get<{ Params: SegmentParams }>(
    '/api/v1/segments/:segmentId',
    {
      schema: {
        tags: ['traffic'],
        summary: 'One road segment with its current traffic state',
        params: SegmentParams,
        response: { 200: SegmentView, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const state = await store.segmentState(request.params.segmentId);
      if (!state) throw notFound(`segment '${request.params.segmentId}' not found`);
      return segmentView(state);
    },
  );

  app.get<{ Params: SegmentParams; Querystring: PeriodRangeQuery }>(
    '/api/v1/segments/:segmentId/history',
    {
      schema: {
        tags: ['traffic'],
        summary: "A segment's periods, newest first; from/to bound the period start",
        params: SegmentParams,
        querystring: PeriodRangeQuery,
        response: { 200: Type.Object({ periods: Type.Array(SegmentPeriodView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const range = parseTimeRange(request.query);
      const periods = await orNotFound(store.segmentHistory(request.params.segmentId, { ...range, limit: request.query.limit }));
      return { periods: periods.map(periodView) };
    },
  );

  app.get<{ Params: SegmentParams; Querystring: PeriodRangeQuery }>(
    '/api/v1/segments/:segmentId/grade-changes',
    {
      schema: {
        tags: ['traffic'],
        summary: "A segment's traffic state grade changes, newest first; from/to bound the period start",
        params: SegmentParams,
        querystring: PeriodRangeQuery,
        response: { 200: Type.Object({ changes: Type.Array(GradeChangeView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const range = parseTimeRange(request.query);
      const changes = await orNotFound(store.gradeChanges(request.params.segmentId, { ...range, limit: request.query.limit }));
      return { changes: changes.map(changeView) };
    },
  );
}
