/**
 * Lane statistics over a stretch of time, worked out by hand: what the road did and what a loop
 * channel with faults measured (NTCIP 1209 volume / occupancy / speed; PeMS fault classes).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { laneStats, pulsesBefore, type LaneFaultSpan } from '../../src/loop-card/lane-stats.js';
import type { LengthClass, Vehicle } from '../../src/loop-card/traffic.js';

const vehicle = (arrivalS: number, clearS: number, speedKmh = 50, lengthClass: LengthClass = 'short'): Vehicle => ({
  lane: 1,
  arrivalS,
  clearS,
  lengthM: 4.5,
  speedKmh,
  lengthClass,
  platoon: false,
});

const span = (kind: LaneFaultSpan['kind'], fromS: number, toS: number, pulsesPerS = 0, pulseS = 0): LaneFaultSpan => ({ kind, fromS, toS, flagged: false, pulsesPerS, pulseS });

describe('laneStats: the road', () => {
  it('occupancy is the share of the stretch the loop was occupied, clipped at its edges; volume and speeds count arrivals inside', () => {
    // 0.1 s of the first (straddling the start), 0.2 s, and 0.25 s of the last (straddling the end) of [10, 11)
    const vs = [vehicle(9.8, 10.1, 40), vehicle(10.3, 10.5, 40, 'medium'), vehicle(10.75, 11.2, 60, 'long')];
    const s = laneStats(vs, 10, 11);
    assert.ok(Math.abs(s.occupancyPct - 55) < 1e-9, `occupancy ${s.occupancyPct}`);
    assert.equal(s.volume, 2, 'the vehicle that arrived before the stretch is not in it');
    assert.deepEqual(s.classes, { short: 0, medium: 1, long: 1 });
    assert.equal(s.timeMeanSpeedKmh, 50, 'time-mean: arithmetic mean of spot speeds');
    assert.ok(Math.abs(s.spaceMeanSpeedKmh! - 48) < 1e-9, 'space-mean: harmonic mean, 2 / (1/40 + 1/60) = 48');
  });

  it('space-mean speed is never above time-mean speed', () => {
    const vs = [vehicle(1, 1.2, 20), vehicle(2, 2.1, 90), vehicle(3, 3.1, 55), vehicle(4, 4.3, 33)];
    const s = laneStats(vs, 0, 10);
    assert.ok(s.spaceMeanSpeedKmh! < s.timeMeanSpeedKmh!);
  });

  it('a stretch without arrivals has no speed (null) and may still be occupied', () => {
    const s = laneStats([vehicle(4.5, 6.5)], 5, 6);
    assert.equal(s.occupancyPct, 100);
    assert.equal(s.volume, 0);
    assert.equal(s.timeMeanSpeedKmh, null);
    assert.equal(s.spaceMeanSpeedKmh, null);
  });
});

describe('laneStats: what a faulty channel measured', () => {
  const vs = [vehicle(1, 1.5), vehicle(3, 3.5), vehicle(5, 5.5), vehicle(7, 7.5)];

  it('locked-on: occupied throughout the fault, and the vehicles arriving under it are not counted', () => {
    const s = laneStats(vs, 0, 10, [span('locked-on', 2, 6)]);
    assert.equal(s.volume, 2, 'the vehicles at 3 and 5 are missed');
    assert.ok(Math.abs(s.occupancyPct - (0.5 + 4 + 0.5) * 10) < 1e-9, `occupancy ${s.occupancyPct}`);
    assert.equal(laneStats(vs, 3, 4, [span('locked-on', 2, 6)]).occupancyPct, 100);
  });

  it('dead: no counts and nothing occupied while it lasts', () => {
    const s = laneStats(vs, 0, 10, [span('dead', 2, Infinity)]);
    assert.equal(s.volume, 1);
    assert.ok(Math.abs(s.occupancyPct - 5) < 1e-9);
    const blindStretch = laneStats(vs, 2, 10, [span('dead', 2, Infinity)]);
    assert.deepEqual([blindStretch.volume, blindStretch.occupancyPct, blindStretch.timeMeanSpeedKmh], [0, 0, null]);
  });

  it('a fault set at time f applies to vehicles arriving after f; one cleared at t still applies at t', () => {
    assert.equal(laneStats(vs, 0, 10, [span('dead', 3, 5)]).volume, 3, 'arrival at 3 is before, arrival at 5 under the fault');
  });

  it('chatter: pulses at (j - 0.5) / rate after onset, counted as short vehicles with no speed, adding their time', () => {
    const chatter = span('chatter', 2, 4, 25, 0.02);
    assert.equal(pulsesBefore(chatter, 2), 0);
    assert.equal(pulsesBefore(chatter, 2.02), 0, 'the first pulse is at 2.02, not before');
    assert.equal(pulsesBefore(chatter, 2.0201), 1);
    assert.equal(pulsesBefore(chatter, 100), 50, 'two seconds of 25 pulses/s');
    const s = laneStats(vs, 0, 10, [chatter]);
    assert.equal(s.volume, 4 + 50, 'the real vehicles are still counted');
    assert.deepEqual(s.classes, { short: 54, medium: 0, long: 0 });
    assert.equal(s.timeMeanSpeedKmh, 50, 'pulses carry no speed');
    assert.ok(Math.abs(s.occupancyPct - (2 + 50 * 0.02) * 10) < 1e-9, `occupancy ${s.occupancyPct}`);
    const half = laneStats(vs, 0, 3, [chatter]).volume + laneStats(vs, 3, 10, [chatter]).volume;
    assert.equal(half, s.volume, 'pulses split between adjacent stretches add up');
  });

  it('occupancy is capped at 100 %', () => {
    const s = laneStats([vehicle(0, 10)], 0, 10, [span('chatter', 0, 10, 40, 0.02)]);
    assert.equal(s.occupancyPct, 100);
  });
});
