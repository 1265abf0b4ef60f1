import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficModel, type TrafficOptions, type Vehicle } from '../../src/loop-card/traffic.js';
import { DemandCurve, formatClock } from '../../src/loop-card/time-of-day.js';

function run(params: TrafficOptions, untilS: number, stepS = untilS) {
  const vehicles: Vehicle[] = [];
  const model = new TrafficModel({ ...params, onVehicle: (v) => vehicles.push(v) });
  for (let t = stepS; t < untilS; t += stepS) model.advanceTo(t);
  model.advanceTo(untilS);
  return { model, vehicles };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const byLaneThenTime = (a: Vehicle, b: Vehicle): number => a.lane - b.lane || a.arrivalS - b.arrivalS;

/** Every feature on: time of day, platoons, an incident. */
const busy: TrafficOptions = {
  lanes: 4,
  seed: 11,
  ratePerLane: 0.5,
  timeOfDay: 'weekday',
  startHour: 7.5,
  platoonShare: 0.4,
  scenario: [{ kind: 'incident', atS: 300, durationS: 200, lanes: [2], speedKmh: 15 }],
};

describe('TrafficModel: vehicles', () => {
  it('same seed gives the same vehicles, another seed other vehicles', () => {
    const a = run(busy, 900).vehicles;
    const b = run(busy, 900).vehicles;
    const c = run({ ...busy, seed: 12 }, 900).vehicles;
    assert.ok(a.length > 1000, `only ${a.length} vehicles`);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((v) => v.arrivalS),
      c.map((v) => v.arrivalS),
    );
  });

  it('vehicles do not depend on how often the model is advanced (event-driven, exact at any time scale)', () => {
    const oneStep = run(busy, 900);
    const manySteps = run(busy, 900, 0.037);
    assert.deepEqual(manySteps.vehicles.slice().sort(byLaneThenTime), oneStep.vehicles.slice().sort(byLaneThenTime));
    for (let lane = 1; lane <= 4; lane++) {
      assert.equal(manySteps.model.counted(lane), oneStep.model.counted(lane));
      assert.deepEqual(manySteps.model.countedByClass(lane), oneStep.model.countedByClass(lane));
    }
  });

  it('a vehicle is counted exactly when its front reaches the loop', () => {
    const { vehicles } = run({ lanes: 1, seed: 5 }, 100);
    const first = vehicles[0]!;
    const model = new TrafficModel({ lanes: 1, seed: 5 });
    model.advanceTo(first.arrivalS - 1e-9);
    assert.equal(model.counted(1), 0);
    model.advanceTo(first.arrivalS);
    assert.equal(model.counted(1), 1);
    assert.equal(model.present(1), true);
    model.advanceTo(first.clearS + 1e-9);
    assert.equal(model.present(1), false);
  });

  it('flat demand: arrivals are Poisson at about ratePerLane (a little thinned by the minimum gap)', () => {
    const untilS = 20_000;
    const { model, vehicles } = run({ lanes: 8, seed: 1, ratePerLane: 0.3 }, untilS);
    const rate = model.totalCounted / 8 / untilS;
    assert.equal(vehicles.length, model.totalCounted);
    assert.ok(rate > 0.285 && rate < 0.305, `rate ${rate} veh/s per lane`);
    // Headways of a Poisson stream: standard deviation about equal to the mean.
    const lane1 = vehicles.filter((v) => v.lane === 1).map((v) => v.arrivalS);
    const gaps = lane1.slice(1).map((t, i) => t - lane1[i]!);
    const m = mean(gaps);
    const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - m) ** 2, 0) / gaps.length);
    assert.ok(sd / m > 0.85 && sd / m < 1.1, `headway cv ${sd / m}`);
    assert.ok(vehicles.every((v) => !v.platoon));
  });

  it('length classes: short 4-5 m, medium 6-9 m, long 10-18 m, in their shares; occupancy time = (length + loop) / speed', () => {
    const { vehicles, model } = run({ lanes: 8, seed: 2, ratePerLane: 1 }, 3000);
    const share = (c: string) => vehicles.filter((v) => v.lengthClass === c).length / vehicles.length;
    assert.ok(Math.abs(share('short') - 0.85) < 0.01, `short ${share('short')}`);
    assert.ok(Math.abs(share('medium') - 0.1) < 0.01, `medium ${share('medium')}`);
    assert.ok(Math.abs(share('long') - 0.05) < 0.01, `long ${share('long')}`);
    const ranges = { short: [4, 5], medium: [6, 9], long: [10, 18] } as const;
    for (const v of vehicles) {
      const [min, max] = ranges[v.lengthClass];
      assert.ok(v.lengthM >= min && v.lengthM <= max, `${v.lengthClass} ${v.lengthM} m`);
      assert.ok(Math.abs(v.clearS - v.arrivalS - (v.lengthM + 2) / (v.speedKmh / 3.6)) < 1e-9);
    }
    let total = 0;
    for (let lane = 1; lane <= 8; lane++) {
      const c = model.countedByClass(lane);
      assert.equal(c.short + c.medium + c.long, model.counted(lane));
      total += model.counted(lane);
    }
    assert.equal(total, vehicles.length);
  });

  it('a lane never has two vehicles on its loop: each waits the minimum gap after the previous one left', () => {
    const { vehicles } = run({ ...busy, ratePerLane: 1.2 }, 1200);
    for (let lane = 1; lane <= 4; lane++) {
      const inLane = vehicles.filter((v) => v.lane === lane);
      for (let i = 1; i < inLane.length; i++) assert.ok(inLane[i]!.arrivalS >= inLane[i - 1]!.clearS + 0.3 - 1e-9, `lane ${lane}: vehicle ${i}`);
    }
  });

  it('per-lane speeds: lane 1 fastest by default, stepping down around the mean; explicit laneSpeeds are followed', () => {
    const { vehicles } = run({ lanes: 4, seed: 3, ratePerLane: 1 }, 4000);
    const laneMean = (lane: number, vs: readonly Vehicle[]) => mean(vs.filter((v) => v.lane === lane).map((v) => v.speedKmh));
    // 60 km/h over the lanes, 3 km/h apart: 64.5, 61.5, 58.5, 55.5
    [64.5, 61.5, 58.5, 55.5].forEach((expected, i) => assert.ok(Math.abs(laneMean(i + 1, vehicles) - expected) < 0.6, `lane ${i + 1} ${laneMean(i + 1, vehicles)}`));
    const laneSpeeds = [
      { meanKmh: 100, sdKmh: 5 },
      { meanKmh: 80, sdKmh: 1 },
      { meanKmh: 40, sdKmh: 10 },
    ];
    const explicit = run({ lanes: 3, seed: 3, ratePerLane: 1, laneSpeeds }, 4000).vehicles;
    laneSpeeds.forEach((s, i) => {
      const speeds = explicit.filter((v) => v.lane === i + 1).map((v) => v.speedKmh);
      const m = mean(speeds);
      const sd = Math.sqrt(speeds.reduce((a, b) => a + (b - m) ** 2, 0) / speeds.length);
      assert.ok(Math.abs(m - s.meanKmh) < 0.6, `lane ${i + 1} mean ${m}`);
      assert.ok(Math.abs(sd - s.sdKmh) < s.sdKmh * 0.1 + 0.05, `lane ${i + 1} sd ${sd}`);
      assert.ok(speeds.every((v) => v >= s.meanKmh - 3 * s.sdKmh - 1e-9 && v <= s.meanKmh + 3 * s.sdKmh + 1e-9), 'clamped at 3 sd');
    });
  });

  it('time of day: the weekday curve averages 1, peaks at 07-09 and 16-19; an hour from 07:30 carries many times the night', () => {
    const curve = new DemandCurve('weekday');
    const daily = mean(Array.from({ length: 24 * 60 }, (_, m) => curve.factorAt(m * 60)));
    assert.ok(Math.abs(daily - 1) < 0.01, `daily mean ${daily}`);
    assert.ok(curve.factorAt(8 * 3600) > 1.6 && curve.factorAt(17.5 * 3600) > 1.6, 'AM and PM peaks');
    assert.ok(curve.factorAt(3 * 3600) < 0.15, 'night');
    assert.equal(curve.factorAt(8.5 * 3600), curve.factorAt((24 + 8.5) * 3600), 'the next day repeats');

    const peak = run({ lanes: 4, seed: 4, ratePerLane: 0.3, timeOfDay: 'weekday', startHour: 7.5 }, 3600).model.totalCounted;
    const night = run({ lanes: 4, seed: 4, ratePerLane: 0.3, timeOfDay: 'weekday', startHour: 2.5 }, 3600).model.totalCounted;
    const expectedPeak = 4 * 0.3 * 3600 * mean(Array.from({ length: 60 }, (_, m) => curve.factorAt(7.5 * 3600 + m * 60)));
    assert.ok(Math.abs(peak - expectedPeak) / expectedPeak < 0.06, `peak hour ${peak} vehicles, expected about ${expectedPeak}`);
    assert.ok(peak > 10 * night, `peak ${peak} vs night ${night}`);
    assert.throws(() => new DemandCurve([1, 2, 3]), /24 hourly factors/);
  });

  it('platoons: a share of the vehicles come in groups released once per signal cycle, at the saturation headway', () => {
    const cycleS = 90;
    const { vehicles } = run({ lanes: 2, seed: 5, ratePerLane: 0.3, platoonShare: 0.7, signalCycleS: cycleS }, 9000);
    const platoonShare = vehicles.filter((v) => v.platoon).length / vehicles.length;
    assert.ok(Math.abs(platoonShare - 0.7) < 0.04, `platoon share ${platoonShare}`);
    // Arrivals bunch at one phase of the cycle: the busiest 30 s of the cycle carry far more than a third.
    const phaseBins = new Array<number>(9).fill(0);
    for (const v of vehicles) phaseBins[Math.floor((v.arrivalS % cycleS) / 10)]!++;
    const sorted = [...phaseBins].sort((a, b) => b - a);
    const busiest30s = (sorted[0]! + sorted[1]! + sorted[2]!) / vehicles.length;
    assert.ok(busiest30s > 0.55, `busiest 30 s of the cycle hold ${busiest30s}`);
    const members = vehicles.filter((v) => v.platoon && v.lane === 1);
    const headways = members.slice(1).map((v, i) => v.arrivalS - members[i]!.arrivalS);
    const withinPlatoon = headways.filter((h) => h >= 1.2 && h <= 2.9).length / headways.length;
    assert.ok(withinPlatoon > 0.7, `headways inside platoons near 2 s: ${withinPlatoon}`);

    const random = run({ lanes: 2, seed: 5, ratePerLane: 0.3 }, 9000).vehicles;
    const flatBins = new Array<number>(9).fill(0);
    for (const v of random) flatBins[Math.floor((v.arrivalS % cycleS) / 10)]!++;
    const flatSorted = [...flatBins].sort((a, b) => b - a);
    assert.ok((flatSorted[0]! + flatSorted[1]! + flatSorted[2]!) / random.length < 0.4, 'without platoons the cycle shows no bunching');
  });

  it('incident: speeds on the affected lanes crawl for the duration, recover, and the queue fills the loop', () => {
    const scenario = [{ kind: 'incident' as const, atS: 600, durationS: 600, lanes: [1], speedKmh: 15, recoveryS: 120 }];
    const { vehicles } = run({ lanes: 2, seed: 6, ratePerLane: 0.4, scenario }, 2400);
    const speedsIn = (lane: number, from: number, to: number) =>
      vehicles.filter((v) => v.lane === lane && v.arrivalS >= from && v.arrivalS < to).map((v) => v.speedKmh);
    const during = speedsIn(1, 600, 1200);
    assert.ok(Math.abs(mean(during) - 15) < 1, `lane 1 during ${mean(during)}`);
    assert.ok(during.every((s) => s >= 6 - 1e-9 && s <= 24 + 1e-9), 'incident speeds clamped at 3 sd of 3 km/h');
    assert.ok(mean(speedsIn(1, 0, 600)) > 55 && mean(speedsIn(1, 1500, 2400)) > 55, 'free flow before and after');
    const recovering = speedsIn(1, 1200, 1320);
    assert.ok(mean(recovering) > 15 && mean(recovering) < 64, `recovery ramp ${mean(recovering)}`);
    assert.ok(Math.abs(mean(speedsIn(2, 600, 1200)) - 61.5) < 3, 'lane 2 is not affected');
    // Occupied time share of the loop: free flow about 0.4 * 0.45 s; at 15 km/h and queueing far more.
    const occupied = (lane: number, from: number, to: number) =>
      vehicles.filter((v) => v.lane === lane).reduce((s, v) => s + Math.max(0, Math.min(v.clearS, to) - Math.max(v.arrivalS, from)), 0) / (to - from);
    assert.ok(occupied(1, 0, 600) < 0.25, `before ${occupied(1, 0, 600)}`);
    assert.ok(occupied(1, 700, 1200) > 0.6, `during ${occupied(1, 700, 1200)}`);
  });

  it('stopArrivals ends arrivals at once; counts stay put and generating turns false', () => {
    const model = new TrafficModel({ lanes: 8, seed: 3, ratePerLane: 2, platoonShare: 0.5 });
    model.advanceTo(50);
    assert.equal(model.generating, true);
    const before = model.totalCounted;
    model.stopArrivals();
    model.advanceTo(500);
    assert.equal(model.totalCounted, before);
    assert.equal(model.generating, false);
  });

  it('durationS: no vehicle arrives after it, and generating turns false once passed', () => {
    const { model, vehicles } = run({ lanes: 8, seed: 4, ratePerLane: 1, durationS: 40, platoonShare: 0.5 }, 100, 1);
    assert.ok(vehicles.length > 100);
    assert.ok(vehicles.every((v) => v.arrivalS <= 40));
    assert.equal(model.generating, false);
    const early = new TrafficModel({ lanes: 1, seed: 4, durationS: 40 });
    early.advanceTo(39);
    assert.equal(early.generating, true);
  });

  it('rate 0 gives no vehicles and is not generating', () => {
    const { model } = run({ lanes: 2, seed: 1, ratePerLane: 0, platoonShare: 0.5, timeOfDay: 'weekday' }, 1000);
    assert.equal(model.totalCounted, 0);
    assert.equal(model.generating, false);
  });

  it('keeps vehicles for retentionS only; vehiclesDuring finds those over the loop in a stretch', () => {
    const { model, vehicles } = run({ lanes: 1, seed: 8, ratePerLane: 1, retentionS: 100 }, 1000, 10);
    assert.equal(model.keptFromS, 900);
    const kept = model.vehiclesDuring(1, 0, 1000);
    assert.ok(kept.length < vehicles.length / 5 && kept.every((v) => v.clearS >= 900));
    const stretch = model.vehiclesDuring(1, 950, 960);
    assert.deepEqual(
      stretch,
      vehicles.filter((v) => v.clearS > 950 && v.arrivalS < 960),
    );
    assert.equal(model.counted(1), vehicles.length, 'cumulative counts are kept whatever the retention');
  });

  it('clock of day from startHour', () => {
    const model = new TrafficModel({ lanes: 1, seed: 1, startHour: 23.5 });
    model.advanceTo(3600);
    assert.equal(formatClock(model.clockS()), '00:30:00');
    assert.equal(formatClock(model.clockS(61.9)), '23:31:01');
  });

  it('rejects bad parameters, naming them', () => {
    const bad: Array<[Partial<TrafficOptions>, RegExp]> = [
      [{ lanes: 0 }, /lanes must be a positive integer, got 0/],
      [{ ratePerLane: -1 }, /ratePerLane must be >= 0, got -1/],
      [{ durationS: -5 }, /durationS must be >= 0/],
      [{ startHour: 24 }, /startHour must be a number 0\.\.24 \(exclusive\), got 24/],
      [{ platoonShare: 1.5 }, /platoonShare must be 0\.\.1, got 1\.5/],
      [{ laneSpeeds: [{ meanKmh: 50, sdKmh: 5 }] }, /laneSpeeds must give \{meanKmh >= 5, sdKmh >= 0\} for each of the 2 lanes/],
      [{ laneRateFactors: [1, -1] }, /laneRateFactors must give a factor >= 0 for each of the 2 lanes/],
      [{ timeOfDay: 'rush' as never }, /timeOfDay must be 'flat', 'weekday' or 24 hourly factors/],
      [{ scenario: [{ kind: 'flood' }] as never }, /scenario\[0\]\.kind must be 'incident', got "flood"/],
      [{ scenario: [{ kind: 'incident', atS: 10, durationS: 0, speedKmh: 10 }] }, /scenario\[0\]\.durationS must be a number > 0, got 0/],
      [{ scenario: [{ kind: 'incident', atS: 10, durationS: 5, speedKmh: 10, lanes: [3] }] }, /scenario\[0\]\.lanes must be a non-empty list of lanes 1\.\.2, got \[3\]/],
      [{ scenario: [{ kind: 'incident', atS: 10, durationS: 5, speedKmh: 10, colour: 'red' }] as never }, /scenario\[0\]: unknown field colour/],
    ];
    for (const [params, message] of bad) assert.throws(() => new TrafficModel({ lanes: 2, seed: 1, ...params }), message);
    assert.throws(() => new TrafficModel({ lanes: 2, seed: 1 }).counted(3), /lane 3 outside 1\.\.2/);
  });
});
