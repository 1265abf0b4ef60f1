import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { EVENT_DATA_SCHEMAS } from '@quanlink/contracts';
import {
  SceneAnalytics,
  Tracker,
  type AnalyticsConfig,
  type AnalyticsEvent,
  type Detection,
  type ZoneConfig,
} from '../../../src/video/analytics/index.js';
import { T0, det } from './helpers.js';

const FRAME = { width: 400, height: 300 };

/** Runs detections through a tracker and the analytics at `fps`, returning every event (checked against the contracts). */
function run(cfg: AnalyticsConfig, frames: number, detections: (i: number) => Detection[], opts: { fps?: number; start?: number; tracker?: Tracker; scene?: SceneAnalytics } = {}): { events: AnalyticsEvent[]; scene: SceneAnalytics; end: number } {
  const fps = opts.fps ?? 10;
  const start = opts.start ?? T0;
  const tracker = opts.tracker ?? new Tracker();
  const scene = opts.scene ?? new SceneAnalytics(cfg, FRAME);
  const events: AnalyticsEvent[] = [];
  for (let i = 0; i < frames; i++) {
    const ts = start + Math.round((i * 1000) / fps);
    events.push(...scene.update(tracker.update(detections(i), ts), ts));
  }
  for (const e of events) assert.ok(Value.Check(EVENT_DATA_SCHEMAS[e.type], e.data), `${e.type} matches its contract: ${JSON.stringify(e.data)}`);
  return { events, scene, end: start + Math.round((frames * 1000) / fps) };
}

const crossings = (events: AnalyticsEvent[]) => events.flatMap((e) => (e.type === 'video.crossing' ? [e.data] : []));
const alerts = (events: AnalyticsEvent[]) => events.flatMap((e) => (e.type === 'video.alert' ? [e] : []));

const horizontalLine: AnalyticsConfig = {
  lines: [{ id: 'l1', lane: 1, from: { x: 0, y: 0.5 }, to: { x: 0.5, y: 0.5 } }],
  zones: [],
  periodS: 60,
};

describe('counting lines', () => {
  it('issue 5: a vehicle moving down through a line drawn left to right counts once, forward; moving up counts reverse', () => {
    const down = crossings(run(horizontalLine, 30, (i) => [det(100, 20 + i * 10)]).events);
    assert.deepEqual(down.map((c) => [c.line, c.lane, c.direction, c.trackId, c.kind, c.label]), [['l1', 1, 'forward', 1, 'vehicle', 'car']]);
    const up = crossings(run(horizontalLine, 30, (i) => [det(100, 280 - i * 10)]).events);
    assert.deepEqual(up.map((c) => c.direction), ['reverse']);
  });

  it('issue 5: passing beside the segment (outside its extent) is not a crossing; kinds filter', () => {
    assert.deepEqual(crossings(run(horizontalLine, 30, (i) => [det(300, 20 + i * 10)]).events), [], 'x=300 is right of the segment end at x=200');
    assert.deepEqual(crossings(run(horizontalLine, 30, (i) => [det(100, 20 + i * 10, 20, 40, 'person')]).events), [], 'lines count vehicles by default');
    const people: AnalyticsConfig = { ...horizontalLine, lines: [{ ...horizontalLine.lines[0]!, kinds: ['person'] }] };
    assert.equal(crossings(run(people, 30, (i) => [det(100, 20 + i * 10, 20, 40, 'person')]).events).length, 1);
  });

  it('issue 5: counted once even when the detection blinks out at the line, or the box jitters across it', () => {
    // Centre y: 20, 30, ... ; the frame where it would be at y=150 (on the line) and y=160 are missing.
    const blink = run(horizontalLine, 30, (i) => (i === 13 || i === 14 ? [] : [det(100, 20 + i * 10)])).events;
    assert.equal(crossings(blink).length, 1);
    // A vehicle that stops on the line and jitters +-3 px across it for 3 s.
    const jitter = run(horizontalLine, 60, (i) => [det(100, i < 13 ? 20 + i * 10 : 150 + (i % 2 ? 3 : -3))]).events;
    assert.equal(crossings(jitter).length, 1);
  });

  it('issue 5: a part boxed sticking out of a whole vehicle becomes a track, but crosses silently: the vehicle counts once', () => {
    // A truck 80x80 moving down; the detector also boxes a car-like part at its lower left that sticks out of it
    // (a third of it below the truck box, so the tracker's nested rule lets it become a track), centre inside the truck.
    const tracker = new Tracker();
    const ids = new Set<number>();
    const scene = new SceneAnalytics(horizontalLine, FRAME);
    const events: AnalyticsEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const ts = T0 + i * 100;
      const y = 20 + i * 10;
      const tracks = tracker.update([det(100, y, 80, 80, 'truck'), det(78, y + 35, 30, 30, 'car')], ts);
      for (const t of tracks) ids.add(t.id);
      events.push(...scene.update(tracks, ts));
    }
    assert.equal(ids.size, 2, 'two tracks: the nested rule of the tracker does not catch this part');
    assert.deepEqual(crossings(events).map((c) => [c.trackId, c.label]), [[1, 'truck']]);
  });

  it('issue 5: a box that jumps to cover two following vehicles for a frame does not swallow the one behind', () => {
    // Two cars 60x40 down the lane 56 px apart. When the second reaches the line, the first one's detection is a box
    // over both for one frame (the detector merged them); the second still counts.
    const events = run(horizontalLine, 40, (i) => {
      const front = 76 + i * 8;
      const rear = front - 56;
      const merged = rear >= 150 && rear - 8 < 150; // the frame in which the rear car is first past the line
      return [merged ? det(100, (front + rear) / 2, 64, 100) : det(100, front, 60, 40), det(100, rear, 60, 40)];
    }).events;
    assert.deepEqual(crossings(events).map((c) => c.trackId), [1, 2]);
  });

  it('issue 5: a crossing between the first detection and confirmation is still counted (track history replay)', () => {
    const tracker = new Tracker({ minHits: 3 });
    const events = run(horizontalLine, 10, (i) => [det(100, 140 + i * 15)], { tracker }).events;
    assert.equal(crossings(events).length, 1);
    assert.equal(events[0]!.ts, T0 + 100, 'the crossing time is when the centre was first seen past the line');
  });
});

describe('sample periods: traffic.period per lane and completeness', () => {
  const twoLanes: AnalyticsConfig = {
    lines: [
      { id: 'north', lane: 1, from: { x: 0, y: 0.5 }, to: { x: 0.5, y: 0.5 } },
      { id: 'south', lane: 2, from: { x: 0.5, y: 0.5 }, to: { x: 1, y: 0.5 } },
      { id: 'north-b', lane: 1, from: { x: 0, y: 0.7 }, to: { x: 0.5, y: 0.7 } },
    ],
    zones: [],
    periodS: 60,
  };

  it('issue 5: clock-aligned periods with per-lane volume (each vehicle once per lane) and flow; completeness from frames seen', () => {
    // 3 vehicles down lane 1 (crossing both of its lines), 1 up lane 2, frames for the first 30 s of the period.
    const dets = (i: number): Detection[] => {
      const out: Detection[] = [];
      for (const k of [0, 1, 2]) { const y = 20 + (i - k * 80) * 10; if (y >= 20 && y <= 290) out.push(det(100, y)); }
      const y2 = 290 - (i - 100) * 10;
      if (y2 >= 10 && y2 <= 290) out.push(det(300, y2));
      return out;
    };
    const { events, scene } = run(twoLanes, 300, dets, { start: T0 + 5_000 });
    assert.equal(crossings(events).length, 7, '3 vehicles x 2 lines + 1');
    assert.deepEqual(events.filter((e) => e.type === 'traffic.period'), [], 'nothing closes inside the period');
    assert.deepEqual(scene.tick(T0 + 59_999), []);
    const closed = scene.tick(T0 + 60_000);
    assert.deepEqual(closed, [{
      type: 'traffic.period',
      ts: T0 + 60_000,
      data: {
        periodStart: T0,
        periodS: 60,
        completeness: 50,
        lanes: { '1': { volume: 3, flow: 180, speedSource: 'none' }, '2': { volume: 1, flow: 60, speedSource: 'none' } },
      },
    }]);
    assert.ok(Value.Check(EVENT_DATA_SCHEMAS['traffic.period'], closed[0]!.data));
  });

  it('issue 5: frames skipped by the motion gate count as seen; a gap without frames or ticks gives empty periods', () => {
    const scene = new SceneAnalytics(twoLanes, FRAME);
    scene.update([], T0);
    for (let s = 1; s < 60; s++) scene.skippedFrame(T0 + s * 1000 + 500);
    const [first] = scene.tick(T0 + 60_000);
    assert.equal(first!.type === 'traffic.period' && first!.data.completeness, 100);
    const gap = scene.tick(T0 + 4 * 60_000 + 1);
    assert.deepEqual(gap.map((e) => e.type === 'traffic.period' && [e.data.periodStart, e.data.completeness, e.data.lanes['1']!.volume]), [
      [T0 + 60_000, 0, 0], [T0 + 120_000, 0, 0], [T0 + 180_000, 0, 0],
    ]);
    assert.deepEqual(scene.tick(T0 + 1000), [], 'a clock step back closes nothing');
  });
});

const zone = (z: Partial<ZoneConfig> & Pick<ZoneConfig, 'purpose'>): AnalyticsConfig => ({
  lines: [],
  zones: [{ id: 'z', polygon: [{ x: 0, y: 0 }, { x: 0.5, y: 0 }, { x: 0.5, y: 1 }, { x: 0, y: 1 }], ...z }],
  periodS: 60,
});

describe('zone alerts (onset and clear)', () => {
  const downward = { from: { x: 0.25, y: 0 }, to: { x: 0.25, y: 1 } };

  it('issue 5: wrong-way: onset once after 1.5 s against the lane, clear when the vehicle leaves the zone', () => {
    const cfg = zone({ purpose: ['wrong-way'], direction: downward });
    // Up the lane at 50 px/s inside the zone for 6 s, then it turns right and leaves the zone at x >= 200.
    const path = (i: number): Detection[] => [i < 60 ? det(100, 280 - i * 5) : det(100 + (i - 60) * 20, 280 - 60 * 5)];
    const got = alerts(run(cfg, 80, path).events);
    assert.deepEqual(got.map((a) => [a.data.alert, a.data.state, a.data.where, a.data.trackId]), [
      ['wrong-way', 'onset', 'z', 1],
      ['wrong-way', 'clear', 'z', 1],
    ]);
    const onset = got[0]!;
    assert.ok(onset.ts - onset.data.since >= 1500 && onset.ts - T0 <= 2500, `onset ${onset.ts - T0} ms, against since ${onset.data.since - T0}`);
    assert.equal(got[1]!.data.since, onset.data.since, 'the clear names the onset it ends');
    assert.deepEqual(alerts(run(cfg, 60, (i) => [det(100, 10 + i * 5)]).events), [], 'the right way raises nothing');
    assert.deepEqual(alerts(run(cfg, 12, (i) => [det(100, 280 - i * 5)]).events), [], 'under 1.5 s against raises nothing');
  });

  it('issue 5: stopped-vehicle: onset after stoppedAfterS without moving (box jitter ignored), clear when it moves on', () => {
    const cfg = zone({ purpose: ['stopped-vehicle'], stoppedAfterS: 5 });
    // Drives down to y=150 in 1.3 s, stands for 8 s (jitter +-2 px), then drives on.
    const y = (i: number): number => (i < 13 ? 20 + i * 10 : i < 93 ? 150 + (i % 3) - 1 : 150 + (i - 93) * 10);
    const got = alerts(run(cfg, 110, (i) => [det(100 + (i % 2 ? 2 : -2), y(i))]).events);
    assert.deepEqual(got.map((a) => [a.data.alert, a.data.state, a.data.kind]), [['stopped-vehicle', 'onset', 'vehicle'], ['stopped-vehicle', 'clear', 'vehicle']]);
    assert.ok(Math.abs(got[0]!.ts - (T0 + 1300 + 5000)) <= 300, `onset at ${got[0]!.ts - T0}`);
    assert.ok(got[1]!.ts > T0 + 9300 && got[1]!.ts < T0 + 10_000, `clear at ${got[1]!.ts - T0}`);
  });

  it('issue 5: stopped-vehicle clears when the track is lost; default 10 s', () => {
    const cfg = zone({ purpose: ['stopped-vehicle'] });
    const got = alerts(run(cfg, 140, (i) => (i < 120 ? [det(100, 150)] : [])).events);
    // Confirmed (minHits 2) at 0.1 s, so stopped from then; last seen at 11.9 s, dropped 1.5 s later.
    assert.deepEqual(got.map((a) => [a.data.state, a.ts - T0]), [['onset', 10_100], ['clear', 13_500]]);
  });

  it("issue 5: restricted: a person inside raises an onset; it clears 2 s after the zone is empty; vehicles don't count", () => {
    const cfg = zone({ purpose: ['restricted'] });
    // A person walks in from the right (x=300 -> 100) over 4 s and back out; a car sits in the zone all along.
    const x = (i: number): number => (i < 40 ? 300 - i * 5 : 100 + (i - 40) * 10);
    const got = alerts(run(cfg, 100, (i) => [det(50, 200), det(x(i), 100, 20, 50, 'person')]).events);
    assert.deepEqual(got.map((a) => [a.data.alert, a.data.state, a.data.kind ?? '-']), [['restricted-zone', 'onset', 'person'], ['restricted-zone', 'clear', '-']]);
    const enteredAt = T0 + 2000; // x = 200 at i = 20
    const leftAt = T0 + 4900; // last inside at x = 190, i = 49
    assert.ok(Math.abs(got[0]!.ts - enteredAt) <= 200, `onset at ${got[0]!.ts - T0}`);
    assert.ok(got[1]!.ts - leftAt >= 2000 && got[1]!.ts - leftAt <= 2200, `clear at ${got[1]!.ts - T0}`);
    assert.deepEqual(alerts(run(cfg, 50, () => [det(50, 200)]).events), []);
  });

  it('issue 5: queue alert when queueAlertVehicles queue, clear 2 s after the queue shrinks', () => {
    const cfg = zone({ purpose: ['queue'], queueAlertVehicles: 2 });
    const got = alerts(run(cfg, 80, (i) => (i < 40 ? [det(100, 100), det(100, 150)] : [det(100, 100)])).events);
    assert.deepEqual(got.map((a) => [a.data.alert, a.data.state]), [['queue', 'onset'], ['queue', 'clear']]);
    assert.ok(got[1]!.ts >= T0 + 6000);
  });
});

describe('zone periods (video.zone)', () => {
  it('issue 5: occupancy, mean and max objects, longest queue in vehicles and metres, per clock-aligned period', () => {
    const cfg: AnalyticsConfig = {
      lines: [],
      zones: [{
        id: 'stopline',
        polygon: [{ x: 0, y: 0 }, { x: 0.5, y: 0 }, { x: 0.5, y: 1 }, { x: 0, y: 1 }],
        purpose: ['occupancy', 'queue'],
        direction: { from: { x: 0.25, y: 0 }, to: { x: 0.25, y: 1 } },
        metresPerPx: 0.1,
      }],
      periodS: 10,
    };
    // 0-4 s: empty. 4-10 s: two cars stand queued at y=100 and y=140 (24 px high boxes; detected from 3.9 s,
    // confirmed at 4 s, last detected at 9.4 s and counted while they coast for 0.5 s). 10-15 s: one car drives through.
    const dets = (i: number): Detection[] => (i < 39 ? [] : i < 95 ? [det(100, 100), det(100, 140)] : i < 100 ? [] : [det(100, (i - 100) * 6)]);
    const { events, scene } = run(cfg, 150, dets);
    const zones = events.filter((e) => e.type === 'video.zone');
    assert.equal(zones.length, 1);
    assert.deepEqual(zones[0], {
      type: 'video.zone',
      ts: T0 + 10_000,
      data: { zone: 'stopline', periodStart: T0, periodS: 10, occupancy: 60, meanObjects: 1.2, maxObjects: 2, maxQueueVehicles: 2, maxQueueMetres: 6.4 },
    });
    const [second] = scene.tick(T0 + 20_000);
    assert.ok(second?.type === 'video.zone');
    assert.equal(second.data.maxQueueVehicles, 0, 'a moving car is not a queue');
    assert.ok(second.data.occupancy > 0 && second.data.occupancy < 100);
  });
});

describe('analytics construction', () => {
  it('issue 5: a bad config is refused with its problems', () => {
    assert.throws(() => new SceneAnalytics({ lines: [{ id: 'a', from: { x: 0, y: 0 }, to: { x: 2, y: 0 } }], zones: [], periodS: 60 }, FRAME), /analytics config: lines\[0\]\.to\.x: must be 0\.\.1/);
    assert.throws(() => new SceneAnalytics(horizontalLine, { width: 0, height: 10 }), /frame size 0x10/);
  });
});
