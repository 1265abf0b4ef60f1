import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tracker, type Track } from '../../../src/video/analytics/index.js';
import { T0, det } from './helpers.js';

const ids = (tracks: readonly Track[]): number[] => tracks.map((t) => t.id).sort((a, b) => a - b);

describe('tracker (SORT-style, greedy IoU with constant-velocity prediction)', () => {
  it('issue 5: a moving vehicle keeps one id; it is confirmed after minHits and its velocity is measured', () => {
    const tracker = new Tracker({ minHits: 3 });
    const seen: number[][] = [];
    let last: Track | undefined;
    for (let i = 0; i < 20; i++) {
      const tracks = tracker.update([det(20 + i * 10, 100)], T0 + i * 100); // 100 px/s at 10 fps
      seen.push(ids(tracks));
      last = tracks[0];
    }
    assert.deepEqual(seen.slice(0, 3), [[], [], [1]], 'confirmed on the third hit');
    assert.ok(seen.slice(2).every((s) => s.length === 1 && s[0] === 1));
    assert.ok(Math.abs(last!.velocity.x - 100) < 1 && Math.abs(last!.velocity.y) < 1, JSON.stringify(last!.velocity));
    assert.equal(last!.hits, 20);
    assert.equal(last!.firstSeen, T0);
    assert.equal(last!.history.length, 20);
  });

  it('issue 5: a detection that blinks out for a frame keeps its id; the track coasts on its prediction', () => {
    const tracker = new Tracker();
    for (let i = 0; i < 5; i++) tracker.update([det(20 + i * 10, 100)], T0 + i * 100);
    const [coasting] = tracker.update([], T0 + 500);
    assert.equal(coasting!.id, 1);
    assert.equal(coasting!.missed, 1);
    assert.deepEqual(coasting!.box.map(Math.round), [50, 88, 90, 112], 'predicted one step ahead');
    const [back] = tracker.update([det(80, 100)], T0 + 600);
    assert.equal(back!.id, 1);
    assert.equal(back!.missed, 0);
  });

  it('issue 5: a track unseen for longer than maxMissedMs is dropped; the next object gets a new id', () => {
    const tracker = new Tracker({ maxMissedMs: 300 });
    for (let i = 0; i < 3; i++) tracker.update([det(100, 100)], T0 + i * 100);
    assert.equal(tracker.update([], T0 + 400).length, 1);
    assert.equal(tracker.update([], T0 + 600).length, 0);
    tracker.update([det(100, 100)], T0 + 700);
    assert.deepEqual(ids(tracker.update([det(100, 100)], T0 + 800)), [2]);
  });

  it('issue 5: one-frame false positives never get an id', () => {
    const tracker = new Tracker();
    tracker.update([det(100, 100)], T0);
    tracker.update([det(300, 300)], T0 + 100);
    tracker.update([det(200, 50)], T0 + 200);
    tracker.update([det(50, 250)], T0 + 300);
    tracker.update([det(50, 250)], T0 + 400);
    assert.deepEqual(ids(tracker.update([det(50, 250)], T0 + 500)), [1], 'the first confirmed track is id 1');
  });

  it('issue 5: two vehicles side by side in adjacent lanes keep their ids, also when they pass each other', () => {
    const tracker = new Tracker();
    // Lanes at y=100 and y=122 (boxes 24 px high overlap by 2 px). A and B abreast to the right; C the other way.
    let firstIds: Map<string, number> | undefined;
    for (let i = 0; i < 30; i++) {
      const a = det(20 + i * 8, 100);
      const b = det(22 + i * 8, 122);
      const c = det(330 - i * 9, 144);
      const tracks = tracker.update([c, b, a], T0 + i * 100);
      const byLane = new Map(tracks.map((t) => [String(Math.round((t.box[1] + t.box[3]) / 2)), t.id]));
      if (i === 1) firstIds = byLane;
      if (i >= 1) assert.deepEqual(byLane, firstIds, `frame ${i}`);
    }
    assert.deepEqual([...firstIds!.values()].sort(), [1, 2, 3]);
  });

  it('issue 5: a fast vehicle at a low frame rate (no overlap between frames) is followed by distance', () => {
    const tracker = new Tracker();
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) for (const t of tracker.update([det(20 + i * 30, 100, 40, 24)], T0 + i * 200)) seen.add(t.id);
    assert.deepEqual([...seen], [1]);
  });

  it('issue 5: a person next to a car is a separate track (kinds do not mix)', () => {
    const tracker = new Tracker();
    for (let i = 0; i < 5; i++) {
      const tracks = tracker.update([det(100 + i * 5, 100), det(104 + i * 5, 102, 30, 50, 'person')], T0 + i * 100);
      if (i >= 1) assert.deepEqual(tracks.map((t) => `${t.id}:${t.kind}`).sort(), ['1:vehicle', '2:person'].sort());
    }
  });

  it('issue 5: a part of a vehicle boxed beside the whole of it (low IoU, so NMS keeps both) starts no track of its own', () => {
    // A truck 80x60 moving down; from the third frame the detector also boxes its cab (24x20, inside it): IoU 0.1.
    const frames = (tracker: Tracker) => {
      const seen = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const y = 40 + i * 10;
        const dets = [det(100, y, 80, 60, 'truck')];
        if (i >= 2) dets.push(det(80, y + 15, 24, 20, 'car'));
        for (const t of tracker.update(dets, T0 + i * 100)) seen.add(t.id);
      }
      return [...seen];
    };
    assert.deepEqual(frames(new Tracker()), [1], 'one vehicle, one track');
    assert.deepEqual(frames(new Tracker({ nestedOverlap: 0 })), [1, 2], 'without the rule the cab is a second vehicle');
  });

  it('issue 5: a box merging two vehicles that follow closely starts no track; the vehicles keep theirs', () => {
    const frames = (tracker: Tracker) => {
      const seen = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const dets = [det(100, 140 + i * 8, 60, 40), det(100, 84 + i * 8, 56, 38)];
        // For half a second the detector adds one tall box over both.
        if (i >= 4 && i < 9) dets.push(det(100, 112 + i * 8, 66, 104, 'bus'));
        for (const t of tracker.update(dets, T0 + i * 100)) seen.add(t.id);
      }
      return [...seen].sort();
    };
    assert.deepEqual(frames(new Tracker()), [1, 2]);
    assert.deepEqual(frames(new Tracker({ nestedOverlap: 0 })), [1, 2, 3], 'without the rule the merge is a third vehicle');
  });

  it('issue 5: bad options are refused', () => {
    assert.throws(() => new Tracker({ iouThreshold: 0 }), /iouThreshold 0/);
    assert.throws(() => new Tracker({ minHits: 0 }), /minHits 0/);
    assert.throws(() => new Tracker({ maxMissedMs: -1 }), /maxMissedMs -1/);
    assert.throws(() => new Tracker({ nestedOverlap: 1.5 }), /nestedOverlap 1.5/);
  });
});
