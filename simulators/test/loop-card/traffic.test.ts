import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficModel, windowStats, type TrafficParams, type Vehicle } from '../../src/loop-card/traffic.js';

function run(params: Partial<TrafficParams> & Pick<TrafficParams, 'lanes' | 'seed'>, untilS: number, stepS = untilS) {
  const vehicles: Vehicle[] = [];
  const model = new TrafficModel({ ...params, onVehicle: (v) => vehicles.push(v) });
  for (let t = stepS; t < untilS; t += stepS) model.advanceTo(t);
  model.advanceTo(untilS);
  return { model, vehicles };
}

const vehicle = (arrivalS: number, clearS: number, speedKmh = 50): Vehicle => ({
  lane: 1,
  arrivalS,
  clearS,
  lengthM: 4.5,
  speedKmh,
  truck: false,
});

describe('TrafficModel: vehicles', () => {
  it('same seed gives the same vehicles, another seed other vehicles', () => {
    const a = run({ lanes: 8, seed: 7 }, 300).vehicles;
    const b = run({ lanes: 8, seed: 7 }, 300).vehicles;
    const c = run({ lanes: 8, seed: 8 }, 300).vehicles;
    assert.ok(a.length > 300, `only ${a.length} vehicles`);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((v) => v.arrivalS),
      c.map((v) => v.arrivalS),
    );
  });

  it('vehicles do not depend on how often the model is advanced', () => {
    const oneStep = run({ lanes: 4, seed: 11, ratePerLane: 0.8 }, 200);
    const manySteps = run({ lanes: 4, seed: 11, ratePerLane: 0.8 }, 200, 0.037);
    assert.deepEqual(manySteps.vehicles.slice().sort(byLaneThenTime), oneStep.vehicles.slice().sort(byLaneThenTime));
    for (let lane = 1; lane <= 4; lane++) assert.equal(manySteps.model.counted(lane), oneStep.model.counted(lane));
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

  it('arrivals are Poisson at about ratePerLane (a little thinned by the minimum gap)', () => {
    const untilS = 20_000;
    const { model, vehicles } = run({ lanes: 8, seed: 1, ratePerLane: 0.3 }, untilS);
    const rate = model.totalCounted / 8 / untilS;
    assert.equal(vehicles.length, model.totalCounted);
    assert.ok(rate > 0.285 && rate < 0.305, `rate ${rate} veh/s per lane`);
    // Headways of a Poisson stream: standard deviation about equal to the mean.
    const lane1 = vehicles.filter((v) => v.lane === 1).map((v) => v.arrivalS);
    const gaps = lane1.slice(1).map((t, i) => t - lane1[i]!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
    assert.ok(sd / mean > 0.85 && sd / mean < 1.1, `headway cv ${sd / mean}`);
  });

  it('lengths, speeds and truck share follow the parameters; a lane never has two vehicles on its loop', () => {
    const { vehicles } = run({ lanes: 8, seed: 2, ratePerLane: 1 }, 3000);
    const trucks = vehicles.filter((v) => v.truck);
    const share = trucks.length / vehicles.length;
    assert.ok(share > 0.085 && share < 0.115, `truck share ${share}`);
    for (const v of vehicles) {
      if (v.truck) assert.ok(v.lengthM >= 10 && v.lengthM <= 16, `truck ${v.lengthM} m`);
      else assert.ok(v.lengthM >= 4 && v.lengthM <= 5, `car ${v.lengthM} m`);
      assert.ok(v.speedKmh >= 36 && v.speedKmh <= 84, `speed ${v.speedKmh} clamped to 60 +- 3 sd`);
      const occupiedS = (v.lengthM + 2) / (v.speedKmh / 3.6);
      assert.ok(Math.abs(v.clearS - v.arrivalS - occupiedS) < 1e-9, 'occupancy time = (length + loop) / speed');
    }
    const speeds = vehicles.map((v) => v.speedKmh);
    const meanSpeed = speeds.reduce((a, b) => a + b, 0) / speeds.length;
    assert.ok(Math.abs(meanSpeed - 60) < 0.5, `mean speed ${meanSpeed}`);
    for (let lane = 1; lane <= 8; lane++) {
      const inLane = vehicles.filter((v) => v.lane === lane);
      for (let i = 1; i < inLane.length; i++) {
        assert.ok(inLane[i]!.arrivalS >= inLane[i - 1]!.clearS + 0.3 - 1e-9, `lane ${lane}: vehicle ${i} arrives before the gap`);
      }
    }
  });

  it('stopArrivals ends arrivals at once; counts stay put and generating turns false', () => {
    const model = new TrafficModel({ lanes: 8, seed: 3, ratePerLane: 2 });
    model.advanceTo(50);
    assert.equal(model.generating, true);
    const before = model.totalCounted;
    model.stopArrivals();
    model.advanceTo(500);
    assert.equal(model.totalCounted, before);
    assert.equal(model.generating, false);
  });

  it('durationS: no vehicle arrives after it, and generating turns false once passed', () => {
    const { model, vehicles } = run({ lanes: 8, seed: 4, ratePerLane: 1, durationS: 40 }, 100, 1);
    assert.ok(vehicles.length > 100);
    assert.ok(vehicles.every((v) => v.arrivalS <= 40));
    assert.equal(model.generating, false);
    const early = new TrafficModel({ lanes: 1, seed: 4, durationS: 40 });
    early.advanceTo(39);
    assert.equal(early.generating, true);
  });

  it('rate 0 gives no vehicles and is not generating', () => {
    const { model } = run({ lanes: 2, seed: 1, ratePerLane: 0 }, 1000);
    assert.equal(model.totalCounted, 0);
    assert.equal(model.generating, false);
  });

  it('rejects bad parameters', () => {
    assert.throws(() => new TrafficModel({ lanes: 0, seed: 1 }), /lanes must be a positive integer, got 0/);
    assert.throws(() => new TrafficModel({ lanes: 2, seed: 1, ratePerLane: -1 }), /ratePerLane must be >= 0, got -1/);
    assert.throws(() => new TrafficModel({ lanes: 2, seed: 1, windowS: 0 }), /windowS must be > 0/);
    assert.throws(() => new TrafficModel({ lanes: 2, seed: 1, durationS: -5 }), /durationS must be >= 0/);
    assert.throws(() => new TrafficModel({ lanes: 2, seed: 1 }).counted(3), /lane 3 outside 1\.\.2/);
  });
});

describe('occupancy and speed per aggregation window', () => {
  it('occupancy is the share of the window the loop was occupied, clipped at the window edges', () => {
    // 0.2 s inside, 0.3 s straddling the start, 0.25 s straddling the end of [10, 11)
    const vs = [vehicle(9.8, 10.1, 40), vehicle(10.3, 10.5, 50), vehicle(10.75, 11.2, 70)];
    const s = windowStats(vs, 10, 1);
    assert.ok(Math.abs(s.occupancyPct - 55) < 1e-9, `occupancy ${s.occupancyPct}`);
    assert.equal(s.vehicles, 2, 'the vehicle that arrived before the window is not in its speed');
    assert.equal(s.speedKmh, 60);
  });
  it('a window without arrivals has speed 0 (no data) and may still be occupied', () => {
    const s = windowStats([vehicle(4.5, 6.5)], 5, 1);
    assert.equal(s.occupancyPct, 100);
    assert.equal(s.speedKmh, 0);
    assert.equal(s.vehicles, 0);
    assert.deepEqual(windowStats([], 5, 1), { occupancyPct: 0, speedKmh: 0, vehicles: 0 });
  });
  it('lastWindow is the last complete window, recomputed from the vehicle log at every second', () => {
    const vehicles: Vehicle[] = [];
    const model = new TrafficModel({ lanes: 3, seed: 9, ratePerLane: 1.5, onVehicle: (v) => vehicles.push(v) });
    assert.deepEqual(model.lastWindow(1), { occupancyPct: 0, speedKmh: 0, vehicles: 0 }, 'no complete window yet');
    let nonEmpty = 0;
    for (let t = 1.5; t < 120; t += 1) {
      model.advanceTo(t);
      for (let lane = 1; lane <= 3; lane++) {
        const expected = windowStats(
          vehicles.filter((v) => v.lane === lane),
          Math.floor(t) - 1,
          1,
        );
        assert.deepEqual(model.lastWindow(lane), expected, `lane ${lane} at ${t}`);
        if (expected.vehicles > 0) nonEmpty++;
      }
    }
    assert.ok(nonEmpty > 100, `only ${nonEmpty} windows had vehicles`);
  });
  it('a longer window aggregates over its own length', () => {
    const vehicles: Vehicle[] = [];
    const model = new TrafficModel({ lanes: 1, seed: 9, windowS: 30, onVehicle: (v) => vehicles.push(v) });
    model.advanceTo(75);
    assert.deepEqual(model.lastWindow(1), windowStats(vehicles, 30, 30));
    assert.ok(model.lastWindow(1).vehicles > 0);
  });
});

function byLaneThenTime(a: Vehicle, b: Vehicle): number {
  return a.lane - b.lane || a.arrivalS - b.arrivalS;
}
