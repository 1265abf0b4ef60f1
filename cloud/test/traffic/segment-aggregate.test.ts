/** A segment period from its lanes: volume sum, mean occupancy, space-mean speed, completeness. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aggregateLanes, spaceMeanSpeed, type LaneSample } from '../../src/traffic/segment-aggregate.js';

const lane = (volume: number, speed: number | null, occupancy: number | null = null, completeness = 100): LaneSample => ({
  volume,
  speed,
  occupancy,
  completeness,
});

describe('segment aggregation', () => {
  test('hand-computed example: 10 veh at 60 km/h and 20 veh at 40 km/h, one empty lane, one lane missing', () => {
    const state = aggregateLanes([lane(10, 60, 8, 100), lane(20, 40, 16, 90), lane(0, null, null, 80)], 4);
    assert.equal(state.volume, 30);
    // Space-mean speed 30 / (10/60 + 20/40) = 45 km/h, not the arithmetic mean 50 nor the volume-weighted 46.7.
    assert.ok(Math.abs(state.speed! - 45) < 1e-9, String(state.speed));
    assert.equal(state.occupancy, 12, 'mean over the lanes that measured it');
    assert.equal(state.lanesReporting, 3);
    assert.equal(state.lanesTotal, 4);
    // mean completeness 90 % x 3 of 4 lanes
    assert.ok(Math.abs(state.completeness - 67.5) < 1e-9, String(state.completeness));
  });

  test('no speed when no lane with vehicles has one', () => {
    assert.equal(spaceMeanSpeed([lane(0, 50), lane(12, null)]), null);
    assert.equal(aggregateLanes([lane(0, null)], 1).speed, null);
  });

  test('lanes without a speed do not weigh on the speed', () => {
    assert.equal(spaceMeanSpeed([lane(5, 30), lane(50, null)]), 30);
  });

  test('a lane with vehicles at 0 km/h makes the space-mean speed 0', () => {
    assert.equal(spaceMeanSpeed([lane(3, 0), lane(10, 50)]), 0);
  });

  test('no lanes reporting: zero volume and completeness, absent occupancy and speed', () => {
    assert.deepEqual(aggregateLanes([], 2), { volume: 0, occupancy: null, speed: null, lanesReporting: 0, lanesTotal: 2, completeness: 0 });
  });
});
