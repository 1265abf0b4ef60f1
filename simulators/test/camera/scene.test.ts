/**
 * Issue 5: the camera simulator's road scene — seeded and deterministic, vehicles drawn where the
 * truth says, every line crossing in the truth once with its lane and direction, scenarios that
 * raise their events. A fake wall clock drives the scene, so these tests take no real time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insidePolygon } from '../../src/camera/road-geometry.js';
import { checkSceneScenario } from '../../src/camera/scenario.js';
import { RoadScene, type RenderedFrame, type RoadSceneOptions } from '../../src/camera/scene.js';
import { SpriteLibrary, type SpriteSpec } from '../../src/camera/sprites.js';

const START = 1_700_000_000_000;

/** A scene on a fake clock, and a way to move that clock. */
async function sceneAt(opts: RoadSceneOptions = {}): Promise<{ scene: RoadScene; to(simS: number): void }> {
  let now = START;
  const scene = new RoadScene({ ...opts, now: () => now });
  await scene.ready();
  const timeScale = opts.timeScale ?? 1;
  return { scene, to: (simS) => void (now = START + (simS * 1000) / timeScale) };
}

const inside = (o: { box: number[] }, w: number, h: number): boolean => o.box[0]! >= 0 && o.box[1]! >= 0 && o.box[2]! <= w && o.box[3]! <= h;
const overlap = (a: number[], b: number[]): boolean => a[0]! < b[2]! && b[0]! < a[2]! && a[1]! < b[3]! && b[1]! < a[3]!;

describe('issue 5: road scene ground truth', () => {
  it('same seed -> same traffic and truth, however often frames are taken; another seed differs', async () => {
    const a = await sceneAt({ seed: 5, timeScale: 4 });
    a.to(90);
    const truthA = a.scene.truth();
    const b = await sceneAt({ seed: 5, timeScale: 4 });
    for (let s = 0.37; s < 90; s += 0.37) {
      b.to(s);
      if (Math.round(s / 0.37) % 20 === 0) await b.scene.render();
    }
    b.to(90);
    assert.ok(truthA.crossings.length > 30, `free flow over 90 s has crossings (${truthA.crossings.length})`);
    assert.deepEqual(b.scene.truth(), truthA);
    const c = await sceneAt({ seed: 6, timeScale: 4 });
    c.to(90);
    assert.notDeepEqual(c.scene.truth().crossings, truthA.crossings);
    // atMs is the sim instant on the wall clock: sim seconds / timeScale after the start.
    for (const x of truthA.crossings) assert.ok(x.atMs > START && x.atMs <= START + (90 * 1000) / 4);
  });

  it('vehicles are pixels where the frame objects say, and nothing else changes', async () => {
    const { scene, to } = await sceneAt({ seed: 2 });
    const empty = await scene.render();
    assert.equal(empty.objects.length, 0, 'vehicles enter from outside the frame');
    let checked = 0;
    for (let s = 2; s <= 40; s += 1.3) {
      to(s);
      const f = await scene.render();
      const changed = (x: number, y: number): number => {
        const i = (y * f.width + x) * 3;
        return Math.abs(f.data[i]! - empty.data[i]!) + Math.abs(f.data[i + 1]! - empty.data[i + 1]!) + Math.abs(f.data[i + 2]! - empty.data[i + 2]!);
      };
      for (const o of f.objects.filter((o) => inside(o, f.width, f.height))) {
        let sum = 0;
        let n = 0;
        for (let y = o.box[1]; y < o.box[3]; y += 2) for (let x = o.box[0]; x < o.box[2]; x += 2) (sum += changed(x, y)), n++;
        assert.ok(sum / n > 30, `object ${o.id} (${o.label}) differs from the road in its box (mean ${(sum / n).toFixed(1)})`);
        checked++;
      }
      // Outside every object's patch (box plus the crop's 10 % padding) the road is untouched.
      const patches = f.objects.map((o) => {
        const [x1, y1, x2, y2] = o.box;
        const px = (x2 - x1) * 0.15 + 2;
        const py = (y2 - y1) * 0.15 + 2;
        return [x1 - px, y1 - py, x2 + px, y2 + py];
      });
      for (let y = 0; y < f.height; y += 3) {
        for (let x = 0; x < f.width; x += 3) {
          if (patches.some((p) => x >= p[0]! && x < p[2]! && y >= p[1]! && y < p[3]!)) continue;
          assert.equal(changed(x, y), 0, `pixel ${x},${y} at ${s.toFixed(1)} s changed with no object there`);
        }
      }
    }
    assert.ok(checked >= 15, `checked ${checked} vehicles`);
  });

  it('every vehicle crossing its lane line is in the truth once, with lane and direction; boxes never overlap in a lane', async () => {
    const { scene, to } = await sceneAt({ seed: 11, flowVph: 1200 });
    const lines = scene.lines();
    assert.deepEqual(lines.map((l) => [l.id, l.lane, l.forward.y]), [['lane-1', 1, 1], ['lane-2', 2, 1], ['lane-3', 3, -1]]);
    const seen = new Map<number, { cy: number; atMs: number }>();
    const oracle: { vehicleId: number; lane: number; direction: string; afterMs: number; beforeMs: number }[] = [];
    let previous: RenderedFrame | undefined;
    for (let s = 0; s <= 60; s += 0.1) {
      to(s);
      const f = await scene.render();
      for (const o of f.objects.filter((o) => o.kind === 'vehicle')) {
        const cx = (o.box[0] + o.box[2]) / 2 / f.width;
        const cy = (o.box[1] + o.box[3]) / 2 / f.height;
        const line = lines.find((l) => l.lane === o.lane)!;
        assert.ok(cx > Math.min(line.from.x, line.to.x) && cx < Math.max(line.from.x, line.to.x), `vehicle ${o.id} drives inside lane ${o.lane}`);
        const before = seen.get(o.id);
        if (before && (before.cy - line.from.y) * (cy - line.from.y) <= 0 && cy !== before.cy) {
          const down = cy > before.cy;
          oracle.push({ vehicleId: o.id, lane: o.lane!, direction: down === (line.forward.y > 0) ? 'forward' : 'reverse', afterMs: before.atMs, beforeMs: f.atMs });
        }
        seen.set(o.id, { cy, atMs: f.atMs });
        for (const other of f.objects) if (other !== o && other.lane === o.lane) assert.ok(!overlap(o.box, other.box), `vehicles ${o.id} and ${other.id} overlap`);
      }
      previous = f;
    }
    assert.ok(previous);
    const truth = scene.truth().crossings;
    assert.ok(oracle.length >= 40, `seen ${oracle.length} crossings`);
    const byVehicle = new Map<number, number>();
    for (const c of truth) byVehicle.set(c.vehicleId, (byVehicle.get(c.vehicleId) ?? 0) + 1);
    assert.ok([...byVehicle.values()].every((n) => n === 1), 'each vehicle crosses its line once');
    for (const o of oracle) {
      const t = truth.find((c) => c.vehicleId === o.vehicleId);
      assert.ok(t, `crossing of vehicle ${o.vehicleId} is in the truth`);
      assert.deepEqual([t.lane, t.line, t.direction, t.kind], [o.lane, `lane-${o.lane}`, o.direction, 'vehicle']);
      assert.ok(t.atMs >= o.afterMs - 25 && t.atMs <= o.beforeMs + 25, `truth time ${t.atMs - START} within the frames around it (${o.afterMs - START}..${o.beforeMs - START})`);
    }
    // Truth crossings up to the last frame that the frames did not show: only ones at the very end.
    const unseen = truth.filter((c) => !oracle.some((o) => o.vehicleId === c.vehicleId));
    assert.ok(unseen.every((c) => c.atMs > START + 59_800), JSON.stringify(unseen));
    assert.ok(new Set(truth.map((c) => c.lane)).size === 3, 'all lanes carry traffic');
  });
});

describe('issue 5: road scene scenarios raise their events', () => {
  it('queue: lane 1 stops behind its stop line, events onset then clear, then everyone drives on', async () => {
    const { scene, to } = await sceneAt({ seed: 3, flowVph: 1200, scenario: [{ kind: 'queue', lane: 1, atS: 4, durationS: 30 }] });
    to(28);
    const a = await scene.render();
    to(30);
    const b = await scene.render();
    const still = a.objects.filter((o) => o.lane === 1 && b.objects.some((p) => p.id === o.id && p.box.join() === o.box.join()));
    assert.ok(still.length >= 2, `at least 2 vehicles stand in lane 1 (${still.length})`);
    const stopLine = scene.zones().find((z) => z.id === 'queue-lane-1')!;
    assert.ok(stopLine, 'the queue zone is exported');
    for (const o of still) assert.ok(o.box[3] <= 0.9 * 360 + 1, `vehicle ${o.id} stands behind the stop line`);
    to(70);
    const truth = scene.truth();
    const events = truth.events.filter((e) => e.kind === 'queue');
    assert.deepEqual(events.map((e) => [e.state, e.lane]), [['onset', 1], ['clear', 1]]);
    assert.ok(events[0]!.atMs > START + 4000 && events[0]!.atMs < START + 28_000);
    assert.ok(events[1]!.atMs >= START + 34_000 && events[1]!.atMs < START + 45_000);
    assert.match(events[1]!.detail, /longest [2-9] vehicles/);
    const lane1 = truth.vehicles.filter((v) => v.lane === 1 && v.enteredAtMs < START + 50_000);
    assert.ok(lane1.every((v) => v.exitedAtMs !== undefined), 'the queue discharges');
  });

  it('stopped vehicle: one vehicle stands still for its duration; its crossing is still counted once', async () => {
    const { scene, to } = await sceneAt({ seed: 4, scenario: [{ kind: 'stopped-vehicle', lane: 2, atS: 3, durationS: 15 }] });
    to(60);
    const truth = scene.truth();
    const events = truth.events.filter((e) => e.kind === 'stopped-vehicle');
    assert.deepEqual(events.map((e) => e.state), ['onset', 'clear']);
    const [onset, clear] = events as [(typeof events)[0], (typeof events)[0]];
    assert.equal(onset.objectId, clear.objectId);
    assert.equal(onset.lane, 2);
    assert.ok(Math.abs(clear.atMs - onset.atMs - 15_000) <= 40, `stopped for ${clear.atMs - onset.atMs} ms`);
    assert.equal(truth.crossings.filter((c) => c.vehicleId === onset.objectId).length, 1);
    // Replay and look at it standing.
    const again = await sceneAt({ seed: 4, scenario: [{ kind: 'stopped-vehicle', lane: 2, atS: 3, durationS: 15 }] });
    const mid = (onset.atMs - START + 5000) / 1000;
    again.to(mid);
    const a = (await again.scene.render()).objects.find((o) => o.id === onset.objectId)!;
    again.to(mid + 3);
    const b = (await again.scene.render()).objects.find((o) => o.id === onset.objectId)!;
    assert.deepEqual(a.box, b.box);
    assert.ok(inside(a, 640, 360));
  });

  it('wrong-way: one vehicle drives against lane 1, alone in its lane, crossing the line in reverse', async () => {
    const { scene, to } = await sceneAt({ seed: 8, scenario: 'wrong-way' });
    to(60);
    const truth = scene.truth();
    const events = truth.events.filter((e) => e.kind === 'wrong-way');
    assert.deepEqual(events.map((e) => [e.state, e.lane]), [['onset', 1], ['clear', 1]]);
    const id = events[0]!.objectId!;
    const vehicle = truth.vehicles.find((v) => v.id === id)!;
    assert.equal(vehicle.direction, 'reverse');
    assert.deepEqual(truth.crossings.filter((c) => c.vehicleId === id).map((c) => [c.lane, c.direction]), [[1, 'reverse']]);
    assert.ok(truth.crossings.filter((c) => c.direction === 'reverse').length === 1, 'only the wrong-way vehicle crosses in reverse');
    for (const other of truth.vehicles.filter((v) => v.lane === 1 && v.id !== id)) {
      assert.ok(other.exitedAtMs! <= vehicle.enteredAtMs || other.enteredAtMs >= vehicle.exitedAtMs!, `vehicle ${other.id} is not in lane 1 at the same time`);
    }
  });

  it('pedestrian: a person walks into the restricted zone, stands, leaves; events onset and clear', async () => {
    const { scene, to } = await sceneAt({ seed: 9, scenario: [{ kind: 'pedestrian', atS: 2, dwellS: 6 }] });
    to(30);
    const events = scene.truth().events.filter((e) => e.kind === 'restricted-zone');
    assert.deepEqual(events.map((e) => [e.state, e.zone]), [['onset', 'restricted-verge'], ['clear', 'restricted-verge']]);
    assert.ok(events[1]!.atMs - events[0]!.atMs >= 6000);
    const zone = scene.zones().find((z) => z.kind === 'restricted')!;
    const again = await sceneAt({ seed: 9, scenario: [{ kind: 'pedestrian', atS: 2, dwellS: 6 }] });
    again.to((events[0]!.atMs - START) / 1000 + 2);
    const f = await again.scene.render();
    const person = f.objects.find((o) => o.kind === 'person')!;
    assert.ok(person && inside(person, f.width, f.height), 'the person is in the frame');
    assert.ok(insidePolygon({ x: (person.box[0] + person.box[2]) / 2 / f.width, y: person.box[3] / f.height }, zone.polygon), 'feet in the zone');
    assert.equal(scene.truth().crossings.filter((c) => c.kind === 'person').length, 0, 'the verge is not a counted lane');
  });

  it('bad scenarios and options are refused with the field named', () => {
    assert.throws(() => checkSceneScenario('jam', 3), /scenario must be one of free-flow, queue/);
    assert.throws(() => checkSceneScenario([{ kind: 'queue', lane: 4, atS: 1, durationS: 5 }], 3), /scenario\[0\]\.lane must be a lane 1\.\.3, got 4/);
    assert.throws(() => checkSceneScenario([{ kind: 'wrong-way', lane: 1, atS: -1 }], 3), /scenario\[0\]\.atS must be a number >= 0/);
    assert.throws(() => checkSceneScenario([{ kind: 'pedestrian', atS: 1, lane: 2 }], 3), /unknown field lane/);
    assert.throws(() => new RoadScene({ lineY: [0.5, 0.5] }), /lineY needs one value per lane \(3\), got 2/);
    assert.throws(() => new RoadScene({ width: 641 }), /width must be an even integer/);
    assert.throws(() => new RoadScene({ lanes: ['towards', 'sideways' as 'away'] }), /lanes must be/);
  });

  it('a missing imagery folder is a clear error', async () => {
    const scene = new RoadScene({ imageryDir: '/nonexistent/samples' });
    await assert.rejects(scene.ready(), /camera imagery: cannot read \/nonexistent\/samples\/crops\/scenetext01_car0\.png \(ENOENT\)/);
    await assert.rejects(scene.frame(), /ENOENT/);
  });

  it('issue 5: a sprite marked cropToObject is drawn as its object box only, at the asked width (a 4 px bucket)', async () => {
    const spec: SpriteSpec = { file: 'crops/camshift_result_truck1.png', kind: 'vehicle', label: 'truck', object: [16, 11, 57, 49], weight: 1 };
    const [padded, cropped] = await Promise.all([SpriteLibrary.load(undefined, [spec]), SpriteLibrary.load(undefined, [{ ...spec, cropToObject: true }])]);
    const wide = await padded.scaled(0, 84, false);
    const tight = await cropped.scaled(0, 84, true);
    assert.deepEqual(wide.object, [33, 23, 117, 100], 'the padded patch keeps its margin around the object');
    assert.ok(wide.width > 117 && wide.height > 100);
    assert.deepEqual([tight.width, tight.height, tight.object], [84, 78, [0, 0, 84, 78]], 'the cropped one is the object, mirrored or not');
    assert.equal(cropped.aspect(0), padded.aspect(0));
    await assert.rejects(SpriteLibrary.load(undefined, [{ ...spec, object: [16, 11, 70, 49], cropToObject: true }]), /is 63x57, its object box \[16,11,70,49\] does not fit/);
  });
});
