/**
 * The traffic part of the CloudStore conformance suite (run by storeConformance): lane periods,
 * road segments and their GB/T 33171 graded state, detector diagnostics and health.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DetectorDiagnosticData, GatewayEvent, LanePeriod, NewEvent } from '@quanlink/contracts';
import {
  InvalidSegmentError,
  SegmentLaneConflictError,
  UnknownGatewayError,
  UnknownSegmentError,
  type CloudStore,
  type GradeChange,
  type IngestResult,
  type LaneRef,
} from '../../src/store/types.js';
import type { StoreFactory } from './conformance.js';

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const STREAM = 'stream-traffic-0001';
/** A clock-aligned minute. */
const P0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const MINUTE = 60_000;
const AT = P0 + 3_600_000;

type LaneInput = { volume: number; speed?: number; occupancy?: number; classes?: LanePeriod['classes'] };

/** A traffic.period event of `device`; flow and speedSource follow from volume and speed. */
function period(device: string, periodStart: number, lanes: Record<string, LaneInput>, completeness = 100, periodS = 60): NewEvent {
  const data: Record<string, LanePeriod> = {};
  for (const [lane, input] of Object.entries(lanes)) {
    data[lane] = {
      volume: input.volume,
      flow: (input.volume * 3600) / periodS,
      ...(input.occupancy !== undefined && { occupancy: input.occupancy }),
      ...(input.speed !== undefined && { speed: input.speed }),
      speedSource: input.speed === undefined ? 'none' : 'measured',
      ...(input.classes !== undefined && { classes: input.classes }),
    };
  }
  return { ts: periodStart + periodS * 1000, type: 'traffic.period', device, data: { periodStart, periodS, completeness, lanes: data } };
}

function diagnostic(device: string, ts: number, data: DetectorDiagnosticData): NewEvent {
  return { ts, type: 'detector.diagnostic', device, data };
}

/** Numbers events like an edge outbox and sends them as batches of one stream. */
class Feeder {
  private nextSeq = 1;
  constructor(
    private readonly store: CloudStore,
    private readonly gatewayId: string,
    private readonly stream = STREAM,
  ) {}

  number(events: NewEvent[]): GatewayEvent[] {
    return events.map((event) => ({ ...event, seq: this.nextSeq++ }) as GatewayEvent);
  }

  async send(...events: NewEvent[]): Promise<IngestResult> {
    return this.sendNumbered(this.number(events));
  }

  sendNumbered(batch: GatewayEvent[], at = AT): Promise<IngestResult> {
    return this.store.ingestBatch(this.gatewayId, { stream: this.stream, first: batch[0]!.seq, last: batch[batch.length - 1]!.seq }, batch, [], at);
  }
}

const near = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

const lanesOf = (spec: string[]): LaneRef[] =>
  spec.map((text) => {
    const [gatewayId, deviceId, lane] = text.split('/');
    return { gatewayId: gatewayId!, deviceId: deviceId!, lane: Number(lane) };
  });

const change = (segmentId: string, periodStart: number, fromGrade: number, toGrade: number): Pick<GradeChange, 'segmentId' | 'periodStart' | 'fromGrade' | 'toGrade'> => ({
  segmentId,
  periodStart,
  fromGrade: fromGrade as GradeChange['fromGrade'],
  toGrade: toGrade as GradeChange['toGrade'],
});
const changeKeys = (changes: readonly GradeChange[] | undefined) =>
  (changes ?? []).map(({ segmentId, periodStart, fromGrade, toGrade }) => ({ segmentId, periodStart, fromGrade, toGrade }));

export function trafficConformance(name: string, factory: StoreFactory): void {
  function withStore(title: string, body: (store: CloudStore) => Promise<void>): void {
    test(title, async () => {
      const store = await factory();
      try {
        await store.addGateway({ id: 'gw-a', passwordHash: HASH, createdAt: P0 });
        await store.addGateway({ id: 'gw-b', passwordHash: HASH, createdAt: P0 });
        await body(store);
      } finally {
        await store.close();
      }
    });
  }

  describe(`CloudStore traffic conformance: ${name}`, () => {
    describe('lane periods (NTCIP 1209 volume / occupancy / speed per sample period)', () => {
      withStore('traffic.period is stored per lane exactly once, even when its batch is resent or overlaps', async (store) => {
        await store.putSegment({ id: 'seg-1', name: 'North ring', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-1/2']) }, P0);
        const feed = new Feeder(store, 'gw-a');
        const batch = feed.number([
          period('loop-1', P0, { '1': { volume: 12, speed: 52.5, occupancy: 7.5, classes: { short: 10, medium: 1, long: 1 } }, '2': { volume: 3 } }, 95),
        ]);
        assert.equal((await feed.sendNumbered(batch)).inserted, 1);
        assert.deepEqual(await feed.sendNumbered(batch), { status: 'ok', upTo: 1, inserted: 0, quarantined: 0, duplicates: 1 });
        const both = await store.ingestBatches([
          { gatewayId: 'gw-a', batch: { stream: STREAM, first: 1, last: 1 }, valid: batch, rejected: [] },
          { gatewayId: 'gw-a', batch: { stream: STREAM, first: 1, last: 1 }, valid: batch, rejected: [] },
        ]);
        assert.deepEqual(both.map((r) => !(r instanceof Error) && r.duplicates), [1, 1]);

        const periods = await store.lanePeriods('gw-a', 'loop-1');
        assert.deepEqual(periods, [
          {
            gatewayId: 'gw-a',
            deviceId: 'loop-1',
            lane: 1,
            periodStart: P0,
            periodS: 60,
            volume: 12,
            flow: 720,
            occupancy: 7.5,
            speed: 52.5,
            speedSource: 'measured',
            completeness: 95,
            classes: { short: 10, medium: 1, long: 1 },
            receivedAt: AT,
          },
          {
            gatewayId: 'gw-a',
            deviceId: 'loop-1',
            lane: 2,
            periodStart: P0,
            periodS: 60,
            volume: 3,
            flow: 180,
            occupancy: null,
            speed: null,
            speedSource: 'none',
            completeness: 95,
            classes: null,
            receivedAt: AT,
          },
        ]);
        const [segmentPeriod] = await store.segmentHistory('seg-1');
        assert.equal(segmentPeriod?.volume, 15, 'the segment counts the period once');

        // The same period sent again under a new seq (a reinstalled edge, a new stream) replaces it: no double count.
        const other = new Feeder(store, 'gw-a', 'stream-traffic-0002');
        await other.send(period('loop-1', P0, { '1': { volume: 12, speed: 52.5 }, '2': { volume: 3 } }, 95));
        assert.equal((await store.lanePeriods('gw-a', 'loop-1')).length, 2);
        assert.equal((await store.segmentHistory('seg-1'))[0]?.volume, 15);
        assert.equal((await store.events({ type: 'traffic.period' })).length, 2, 'both events are kept as history');
      });

      withStore('lane periods filter by lane and period start, newest first, with a limit', async (store) => {
        const feed = new Feeder(store, 'gw-a');
        for (let i = 0; i < 3; i++) await feed.send(period('loop-1', P0 + i * MINUTE, { '1': { volume: i }, '2': { volume: 10 + i } }));
        await new Feeder(store, 'gw-b').send(period('loop-1', P0, { '1': { volume: 99 } }));
        const keys = (list: { lane: number; periodStart: number }[]) => list.map((p) => `${(p.periodStart - P0) / MINUTE}:${p.lane}`);
        assert.deepEqual(keys(await store.lanePeriods('gw-a', 'loop-1')), ['2:1', '2:2', '1:1', '1:2', '0:1', '0:2']);
        assert.deepEqual(keys(await store.lanePeriods('gw-a', 'loop-1', { lane: 2 })), ['2:2', '1:2', '0:2']);
        assert.deepEqual(keys(await store.lanePeriods('gw-a', 'loop-1', { from: P0 + MINUTE, to: P0 + MINUTE })), ['1:1', '1:2'], 'inclusive');
        assert.deepEqual(keys(await store.lanePeriods('gw-a', 'loop-1', { lane: 1, limit: 2 })), ['2:1', '1:1']);
        assert.deepEqual((await store.lanePeriods('gw-b', 'loop-1')).map((p) => p.volume), [99]);
        assert.deepEqual(await store.lanePeriods('gw-a', 'loop-9'), []);
      });
    });

    describe('road segments', () => {
      withStore('putSegment creates, then replaces name, class and lanes; lists and gets segments', async (store) => {
        const first = await store.putSegment(
          { id: 'seg-b', name: 'Bridge', roadClass: 'expressway', lanes: lanesOf(['gw-b/loop-1/2', 'gw-a/loop-1/1']) },
          P0,
        );
        assert.equal(first.created, true);
        assert.deepEqual(first.segment, {
          id: 'seg-b',
          name: 'Bridge',
          roadClass: 'expressway',
          lanes: lanesOf(['gw-a/loop-1/1', 'gw-b/loop-1/2']),
          createdAt: P0,
          updatedAt: P0,
        });
        const replaced = await store.putSegment({ id: 'seg-b', name: 'Bridge east', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/3']) }, P0 + 5);
        assert.equal(replaced.created, false);
        assert.deepEqual(replaced.segment, {
          id: 'seg-b',
          name: 'Bridge east',
          roadClass: 'arterial',
          lanes: lanesOf(['gw-a/loop-1/3']),
          createdAt: P0,
          updatedAt: P0 + 5,
        });
        // The lanes it gave up are free for another segment.
        await store.putSegment({ id: 'seg-a', name: 'Avenue', roadClass: 'secondary', lanes: lanesOf(['gw-a/loop-1/1', 'gw-b/loop-1/2']) }, P0);
        assert.deepEqual(
          (await store.listSegments()).map((s) => `${s.id}:${s.lanes.length}`),
          ['seg-a:2', 'seg-b:1'],
        );
        assert.equal((await store.getSegment('seg-a'))?.roadClass, 'secondary');
        assert.equal(await store.getSegment('seg-zzz'), undefined);
        assert.deepEqual(await store.segmentState('seg-a'), { segment: await store.getSegment('seg-a'), current: null }, 'no period yet');
        assert.equal(await store.segmentState('seg-zzz'), undefined);
        assert.deepEqual((await store.segmentStates()).map((s) => [s.segment.id, s.current]), [['seg-a', null], ['seg-b', null]]);
      });

      withStore('putSegment refuses unknown gateways, lanes of another segment and invalid definitions, changing nothing', async (store) => {
        await store.putSegment({ id: 'seg-1', name: 'One', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1']) });
        await assert.rejects(
          store.putSegment({ id: 'seg-2', name: 'Two', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/2', 'gw-nowhere/loop-1/1']) }),
          (err: unknown) => err instanceof UnknownGatewayError && /put segment 'seg-2': gateway 'gw-nowhere' is not registered/.test(err.message),
        );
        await assert.rejects(
          store.putSegment({ id: 'seg-2', name: 'Two', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/2', 'gw-a/loop-1/1']) }),
          (err: unknown) =>
            err instanceof SegmentLaneConflictError && err.ownerSegmentId === 'seg-1' && /lane gw-a\/loop-1\/1 already belongs to segment 'seg-1'/.test(err.message),
        );
        const invalid: [Parameters<CloudStore['putSegment']>[0], RegExp][] = [
          [{ id: 'seg-2', name: 'Two', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/2', 'gw-a/loop-1/2']) }, /lanes\[1\]: lane gw-a\/loop-1\/2 is listed twice/],
          [{ id: 'seg-2', name: 'Two', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/0']) }, /lanes\[0\]\.lane 0 must be an integer 1-999/],
          [{ id: 'seg-2', name: 'Two', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1000']) }, /lane 1000 must be an integer 1-999/],
          [{ id: 'seg-2', name: 'Two', roadClass: 'highway' as 'arterial', lanes: lanesOf(['gw-a/loop-1/2']) }, /roadClass 'highway' must be one of expressway, arterial, secondary/],
          [{ id: 'seg-2', name: ' ', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/2']) }, /name must be 1-200 characters/],
          [{ id: 'seg-2', name: 'Two', roadClass: 'arterial', lanes: [] }, /lanes must list 1-256 lanes/],
          [{ id: 'bad id', name: 'Two', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/2']) }, /segment id 'bad id' must match/],
        ];
        for (const [definition, message] of invalid) {
          await assert.rejects(store.putSegment(definition), (err: unknown) => err instanceof InvalidSegmentError && message.test(err.message), String(message));
        }
        assert.deepEqual((await store.listSegments()).map((s) => s.id), ['seg-1'], 'nothing of the refused definitions was stored');
        assert.deepEqual((await store.getSegment('seg-1'))?.lanes, lanesOf(['gw-a/loop-1/1']));
        await assert.rejects(store.segmentHistory('seg-zzz'), UnknownSegmentError);
        await assert.rejects(store.gradeChanges('seg-zzz'), (err: unknown) => err instanceof UnknownSegmentError && /segment 'seg-zzz' not found/.test(err.message));
      });

      withStore("segment period: volume sum, space-mean speed, mean occupancy, completeness; late lanes update the period and its grade", async (store) => {
        // Three lanes over two detectors; loop-1 lane 3 belongs to no segment and must not count.
        await store.putSegment({ id: 'seg-1', name: 'Ring', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-1/2', 'gw-a/loop-2/1']) });
        const feed = new Feeder(store, 'gw-a');
        await feed.send(
          period('loop-1', P0, { '1': { volume: 10, speed: 60, occupancy: 8 }, '2': { volume: 20, speed: 40, occupancy: 16 }, '3': { volume: 99, speed: 10, occupancy: 90 } }, 90),
        );
        let [state] = await store.segmentHistory('seg-1');
        assert.equal(state?.volume, 30);
        near(state?.speed, 45, 'space-mean speed 30 / (10/60 + 20/40)');
        near(state?.occupancy, 12, 'mean occupancy');
        assert.equal(state?.lanesReporting, 2);
        assert.equal(state?.lanesTotal, 3);
        near(state?.completeness, 60, 'completeness 90 % x 2/3 lanes');
        assert.equal(state?.grade, 1, 'arterial 45 km/h: 畅通');
        assert.equal(state?.gradeBasis, 'speed');

        // loop-2 reports the same period later: the row is recomputed, and its grade with it.
        const late = await feed.send(period('loop-2', P0, { '1': { volume: 15, speed: 30, occupancy: 20 } }, 100));
        [state] = await store.segmentHistory('seg-1');
        assert.equal((await store.segmentHistory('seg-1')).length, 1, 'still one row for the period');
        assert.equal(state?.volume, 45);
        near(state?.speed, 45 / (10 / 60 + 20 / 40 + 15 / 30), 'space-mean speed of three lanes (38.57)');
        near(state?.occupancy, 44 / 3, 'mean occupancy of three lanes');
        assert.equal(state?.lanesReporting, 3);
        near(state?.completeness, (90 + 90 + 100) / 3, 'completeness, all lanes reporting');
        assert.equal(state?.grade, 2, 'arterial 38.6 km/h: 基本畅通');
        assert.equal(late.gradeChanges, undefined, "a segment's first period is no change");
        assert.deepEqual((await store.segmentState('seg-1'))?.current, state);
      });

      withStore('a lane whose detector is locked on during the period is left out of the segment (it says nothing about the road)', async (store) => {
        await store.putSegment({ id: 'seg-f', name: 'Faulty', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-1/2']) });
        const feed = new Feeder(store, 'gw-a');
        await feed.send(diagnostic('loop-1', P0 - MINUTE, { condition: 'locked-on', state: 'onset', lane: 2, since: P0 - 5 * MINUTE, detail: 'occupancy 100%' }));
        await feed.send(period('loop-1', P0, { '1': { volume: 10, speed: 60, occupancy: 8 }, '2': { volume: 0, occupancy: 100 } }));
        let [state] = await store.segmentHistory('seg-f');
        assert.equal(state?.lanesReporting, 1, 'the locked-on lane does not report');
        near(state?.occupancy, 8, 'occupancy of the healthy lane only');
        await feed.send(diagnostic('loop-1', P0 + MINUTE, { condition: 'locked-on', state: 'clear', lane: 2, since: P0 - 5 * MINUTE, detail: 'ended' }));
        await feed.send(period('loop-1', P0 + 2 * MINUTE, { '1': { volume: 10, speed: 60, occupancy: 8 }, '2': { volume: 10, speed: 60, occupancy: 10 } }));
        [state] = await store.segmentHistory('seg-f');
        assert.equal(state?.periodStart, P0 + 2 * MINUTE);
        assert.equal(state?.lanesReporting, 2, 'after the clear the lane counts again');
      });

      withStore('scenario: free flow -> congested -> free flow gives the grades in order and each change once', async (store) => {
        await store.putSegment({ id: 'seg-1', name: 'Ring', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-1/2']) });
        // Both lanes at the same speed, so the segment speed is that speed. null = a period without vehicles.
        const speeds = [50, 45, 38, 28, 18, 12, 16, null, 17, 19, 25, 35, 42, 44, 50];
        const expected = [1, 1, 2, 3, 4, 5, 5, 5, 5, 4, 3, 2, 2, 1, 1];
        const events = speeds.map((speed, i) =>
          period('loop-1', P0 + i * MINUTE, speed === null ? { '1': { volume: 0 }, '2': { volume: 0 } } : { '1': { volume: 8, speed }, '2': { volume: 12, speed } }),
        );
        const feed = new Feeder(store, 'gw-a');
        const batches = [feed.number(events.slice(0, 5)), feed.number(events.slice(5, 6)), feed.number(events.slice(6))];
        const reported: GradeChange[] = [];
        for (const batch of batches) reported.push(...((await feed.sendNumbered(batch)).gradeChanges ?? []));

        const history = await store.segmentHistory('seg-1');
        assert.deepEqual(
          history.map((p) => p.grade).reverse(),
          expected,
        );
        const quiet = history.find((p) => p.periodStart === P0 + 7 * MINUTE)!;
        assert.equal(quiet.speed, null, 'no vehicles: speed absent');
        assert.equal(quiet.gradeBasis, 'no-speed');
        assert.equal(quiet.grade, 5, 'keeps the previous grade');
        assert.equal(history.find((p) => p.periodStart === P0 + 12 * MINUTE)?.gradeBasis, 'hysteresis', '42 km/h is not past 40 + 3');

        const changes = [
          change('seg-1', P0 + 2 * MINUTE, 1, 2),
          change('seg-1', P0 + 3 * MINUTE, 2, 3),
          change('seg-1', P0 + 4 * MINUTE, 3, 4),
          change('seg-1', P0 + 5 * MINUTE, 4, 5),
          change('seg-1', P0 + 9 * MINUTE, 5, 4),
          change('seg-1', P0 + 10 * MINUTE, 4, 3),
          change('seg-1', P0 + 11 * MINUTE, 3, 2),
          change('seg-1', P0 + 13 * MINUTE, 2, 1),
        ];
        assert.deepEqual(changeKeys(reported), changes, 'each change reported once, by the batch that made it');
        const stored = await store.gradeChanges('seg-1');
        assert.deepEqual(changeKeys(stored), [...changes].reverse(), 'stored, newest first');
        const { speed, ...latest } = stored[0]!;
        assert.deepEqual(latest, { segmentId: 'seg-1', periodStart: P0 + 13 * MINUTE, periodS: 60, fromGrade: 2, toGrade: 1, at: AT });
        near(speed, 44, 'speed of the change');

        // Everything again (an edge resending after a lost ack): nothing new is recorded or reported.
        for (const batch of batches) assert.equal((await feed.sendNumbered(batch)).gradeChanges, undefined);
        assert.equal((await store.gradeChanges('seg-1')).length, 8);
        assert.equal((await store.segmentHistory('seg-1', { limit: 1000 })).length, 15);

        const current = (await store.segmentState('seg-1'))?.current;
        assert.equal(current?.periodStart, P0 + 14 * MINUTE);
        assert.equal(current?.grade, 1);
        near(current?.speed, 50, 'current speed');
        assert.equal(current?.volume, 20);

        assert.deepEqual(
          (await store.segmentHistory('seg-1', { from: P0 + 3 * MINUTE, to: P0 + 5 * MINUTE })).map((p) => p.grade),
          [5, 4, 3],
          'history: from/to inclusive, newest first',
        );
        assert.deepEqual((await store.segmentHistory('seg-1', { limit: 2 })).map((p) => p.periodStart), [P0 + 14 * MINUTE, P0 + 13 * MINUTE]);
        assert.deepEqual(
          changeKeys(await store.gradeChanges('seg-1', { from: P0 + 4 * MINUTE, to: P0 + 9 * MINUTE })),
          [change('seg-1', P0 + 9 * MINUTE, 5, 4), change('seg-1', P0 + 5 * MINUTE, 4, 5), change('seg-1', P0 + 4 * MINUTE, 3, 4)],
        );
        assert.equal((await store.gradeChanges('seg-1', { limit: 3 })).length, 3);
      });

      withStore("a late lane that changes a period's grade corrects the following periods and their change events", async (store) => {
        await store.putSegment({ id: 'seg-1', name: 'Ring', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-2/1']) });
        const loop1 = new Feeder(store, 'gw-a');
        // loop-1 alone: 45 (畅通), 42 (畅通), 41 (畅通), 25 (轻度), 42 (from 轻度 only 基本畅通: 39 is not past 40).
        const speeds = [45, 42, 41, 25, 42];
        for (const [i, speed] of speeds.entries()) await loop1.send(period('loop-1', P0 + i * MINUTE, { '1': { volume: 10, speed } }));
        const grades = async () => (await store.segmentHistory('seg-1')).map((p) => p.grade).reverse();
        assert.deepEqual(await grades(), [1, 1, 1, 3, 2]);
        assert.deepEqual(changeKeys(await store.gradeChanges('seg-1')), [change('seg-1', P0 + 4 * MINUTE, 3, 2), change('seg-1', P0 + 3 * MINUTE, 1, 3)]);

        // loop-2 reports period 1 late with slow traffic: 40 / (10/42 + 30/20) = 23 km/h, 轻度拥堵.
        // Period 2 then starts from 轻度: 41 km/h clears only 基本畅通 (38 > 30 + 3), so it becomes 2, and
        // period 3 (25 km/h, 轻度) becomes a change 2 -> 3; periods after an unchanged grade stay as they were.
        const loop2 = new Feeder(store, 'gw-a', 'stream-traffic-0002');
        const result = await loop2.send(period('loop-2', P0 + MINUTE, { '1': { volume: 30, speed: 20 } }));
        near((await store.segmentHistory('seg-1', { from: P0 + MINUTE, to: P0 + MINUTE }))[0]?.speed, 40 / (10 / 42 + 30 / 20), 'period 1 speed');
        assert.deepEqual(await grades(), [1, 3, 2, 3, 2]);
        const expected = [
          change('seg-1', P0 + 1 * MINUTE, 1, 3),
          change('seg-1', P0 + 2 * MINUTE, 3, 2),
          change('seg-1', P0 + 3 * MINUTE, 2, 3),
        ];
        assert.deepEqual(changeKeys(result.gradeChanges), expected, 'new and altered changes are reported');
        assert.deepEqual(changeKeys(await store.gradeChanges('seg-1')), [change('seg-1', P0 + 4 * MINUTE, 3, 2), ...expected.reverse()]);

        // A late lane that leaves the grade as it was changes no other period.
        const quiet = await loop2.send(period('loop-2', P0 + 3 * MINUTE, { '1': { volume: 10, speed: 24 } }));
        assert.equal(quiet.gradeChanges, undefined);
        assert.deepEqual(await grades(), [1, 3, 2, 3, 2]);
      });

      withStore('a change that late data makes no longer a change is removed', async (store) => {
        await store.putSegment({ id: 'seg-1', name: 'Ring', roadClass: 'arterial', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-2/1']) });
        const loop1 = new Feeder(store, 'gw-a');
        for (const [i, speed] of [45, 45, 25].entries()) await loop1.send(period('loop-1', P0 + i * MINUTE, { '1': { volume: 10, speed } }));
        assert.deepEqual(changeKeys(await store.gradeChanges('seg-1')), [change('seg-1', P0 + 2 * MINUTE, 1, 3)]);
        // Period 1 turns out 轻度拥堵 as well: the change happened at period 1, and period 2 is no change any more.
        await new Feeder(store, 'gw-a', 'stream-traffic-0002').send(period('loop-2', P0 + MINUTE, { '1': { volume: 30, speed: 20 } }));
        assert.deepEqual(changeKeys(await store.gradeChanges('seg-1')), [change('seg-1', P0 + MINUTE, 1, 3)]);
      });

      withStore('series of different period lengths are graded separately; the current state is the latest period', async (store) => {
        await store.putSegment({ id: 'seg-1', name: 'Ring', roadClass: 'expressway', lanes: lanesOf(['gw-a/loop-1/1', 'gw-a/loop-2/1']) });
        const feed = new Feeder(store, 'gw-a');
        await feed.send(period('loop-1', P0, { '1': { volume: 10, speed: 80 } }, 100, 60), period('loop-2', P0, { '1': { volume: 5, speed: 30 } }, 100, 30));
        const history = await store.segmentHistory('seg-1');
        assert.deepEqual(history.map((p) => [p.periodS, p.grade, p.lanesReporting, p.lanesTotal]), [[30, 4, 1, 2], [60, 1, 1, 2]]);
        assert.equal((await store.gradeChanges('seg-1')).length, 0, 'no change between series');
        await feed.send(period('loop-2', P0 + 30_000, { '1': { volume: 5, speed: 31 } }, 100, 30));
        assert.equal((await store.segmentState('seg-1'))?.current?.periodStart, P0 + 30_000);
      });
    });

    describe('detector diagnostics and health', () => {
      withStore('onset and clear show in the device record and in detector health; history stays in the events', async (store) => {
        await store.applyBirth(
          'gw-a',
          {
            v: 1,
            ts: P0,
            agentVersion: '0.3.0',
            startedAt: P0,
            stream: STREAM,
            devices: [
              { id: 'loop-1', profile: 'loop/quanlink-lc8', kind: 'loop-detector' },
              { id: 'vms-1', profile: 'vms/acme', kind: 'vms' },
            ],
          },
          P0,
        );
        const feed = new Feeder(store, 'gw-a');
        const onsets = feed.number([
          { ts: P0, type: 'device.status', device: 'loop-1', data: { state: 'ok' } },
          diagnostic('loop-1', P0 + 10, { condition: 'locked-on', state: 'onset', lane: 2, since: P0 + 5, detail: 'presence 100 % for 300 s' }),
          diagnostic('loop-1', P0 + 20, { condition: 'comm-loss', state: 'onset', since: P0 + 20, detail: 'no answer for 30 s' }),
          period('loop-1', P0, { '1': { volume: 4 } }),
        ]);
        await feed.sendNumbered(onsets);
        const active = [
          { lane: null, condition: 'comm-loss', since: P0 + 20, detail: 'no answer for 30 s' },
          { lane: 2, condition: 'locked-on', since: P0 + 5, detail: 'presence 100 % for 300 s' },
        ];
        assert.deepEqual((await store.getDevice('gw-a', 'loop-1'))?.diagnostics, active, 'whole-device first, then by lane');
        assert.deepEqual((await store.listDevices({ gatewayId: 'gw-a' })).map((d) => [d.deviceId, d.diagnostics.length]), [['loop-1', 2], ['vms-1', 0]]);

        // A detector no birth has described yet is still a detector once it reports a diagnostic.
        await new Feeder(store, 'gw-b').send(diagnostic('loop-9', P0, { condition: 'chatter', state: 'onset', lane: 1, since: P0, detail: '40 counts in 1 s' }));

        let health = await store.detectorHealth();
        assert.deepEqual(health.map((d) => `${d.gatewayId}/${d.deviceId}`), ['gw-a/loop-1', 'gw-b/loop-9'], 'the VMS is no detector');
        assert.equal(health[0]?.state, 'ok');
        assert.equal(health[0]?.healthy, false, 'ok state, but active diagnostics');
        assert.equal(health[0]?.lastPeriodStart, P0);
        assert.deepEqual(health[0]?.diagnostics, active);
        assert.equal(health[1]?.state, 'unknown');
        assert.equal(health[1]?.lastPeriodStart, null);
        assert.deepEqual((await store.detectorHealth({ gatewayId: 'gw-b' })).map((d) => d.deviceId), ['loop-9']);

        // Resending the onsets changes nothing; clearing comm-loss leaves locked-on.
        await feed.sendNumbered(onsets);
        await feed.send(diagnostic('loop-1', P0 + 90, { condition: 'comm-loss', state: 'clear', since: P0 + 20, detail: 'answering again' }));
        assert.deepEqual((await store.getDevice('gw-a', 'loop-1'))?.diagnostics, [active[1]]);
        await feed.send(diagnostic('loop-1', P0 + 95, { condition: 'locked-on', state: 'clear', lane: 2, since: P0 + 5, detail: 'presence normal' }));
        health = await store.detectorHealth({ gatewayId: 'gw-a' });
        assert.deepEqual(health[0]?.diagnostics, []);
        assert.equal(health[0]?.healthy, true);

        // An old onset arriving late (another stream) does not reopen the episode its clear ended...
        const replay = new Feeder(store, 'gw-a', 'stream-traffic-0009');
        await replay.send(diagnostic('loop-1', P0 + 20, { condition: 'comm-loss', state: 'onset', since: P0 + 20, detail: 'no answer for 30 s' }));
        assert.deepEqual((await store.getDevice('gw-a', 'loop-1'))?.diagnostics, []);
        // ...but a new episode is a new onset, and a stale clear of the old one does not end it.
        await replay.send(diagnostic('loop-1', P0 + 500, { condition: 'comm-loss', state: 'onset', since: P0 + 500, detail: 'no answer again' }));
        await replay.send(diagnostic('loop-1', P0 + 90, { condition: 'comm-loss', state: 'clear', since: P0 + 20, detail: 'answering again' }));
        assert.deepEqual((await store.getDevice('gw-a', 'loop-1'))?.diagnostics, [{ lane: null, condition: 'comm-loss', since: P0 + 500, detail: 'no answer again' }]);

        assert.equal((await store.events({ gatewayId: 'gw-a', type: 'detector.diagnostic' })).length, 7, 'the history is in the event log');
      });
    });
  });
}
