import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAnalyticsConfig } from '../../../src/video/analytics/index.js';

const good = {
  lines: [
    { id: 'lane1', lane: 1, from: { x: 0.1, y: 0.6 }, to: { x: 0.5, y: 0.6 } },
    { id: 'lane2', lane: 2, from: { x: 0.5, y: 0.6 }, to: { x: 0.9, y: 0.6 }, kinds: ['vehicle', 'bicycle'] },
  ],
  zones: [
    { id: 'stop-line', polygon: [{ x: 0.1, y: 0.5 }, { x: 0.9, y: 0.5 }, { x: 0.9, y: 0.9 }, { x: 0.1, y: 0.9 }], purpose: ['occupancy', 'queue', 'stopped-vehicle'], metresPerPx: 0.05, stoppedAfterS: 20 },
    { id: 'contraflow', polygon: [{ x: 0, y: 0 }, { x: 0.5, y: 0 }, { x: 0.5, y: 0.5 }], purpose: ['wrong-way'], direction: { from: { x: 0.2, y: 0 }, to: { x: 0.2, y: 0.5 } } },
    { id: 'tracks', polygon: [{ x: 0.6, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 0.3 }], purpose: ['restricted'], kinds: ['person'], anchor: 'bottom' },
  ],
  periodS: 60,
};

describe('analytics config check', () => {
  it('issue 5: a good config has no problems', () => {
    assert.deepEqual(checkAnalyticsConfig(good), []);
  });

  it('issue 5: every problem is reported with its path', () => {
    const bad = {
      lines: [
        { id: 'a', from: { x: 0, y: 0 }, to: { x: 1, y: 0 } },
        { id: 'a', lane: 0, from: { x: 0.2, y: 0.2 }, to: { x: 0.2, y: 0.2 } },
        { id: 'c', from: { x: 1.5, y: 0 }, to: { y: 0 }, kinds: ['car'], lanes: 3 },
      ],
      zones: [
        { id: 'a', polygon: [{ x: 0, y: 0 }, { x: 1, y: 1 }], purpose: ['wrong-way', 'parking', 'wrong-way'], stoppedAfterS: 0 },
        { id: 'bad id!', polygon: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: -1 }], purpose: [], anchor: 'top', metresPerPx: 'x' },
      ],
      periodS: 0,
      extra: true,
    };
    assert.deepEqual(checkAnalyticsConfig(bad), [
      'extra: unknown field',
      'periodS: must be an integer 1..3600',
      "lines[1].id: 'a' is already used by lines[0]",
      'lines[1].lane: must be an integer 1..999',
      'lines[1].to: must differ from from (a line needs length)',
      'lines[2].lanes: unknown field',
      'lines[2].from.x: must be 0..1',
      'lines[2].to.x: must be 0..1',
      "lines[2].kinds[0]: 'car' is not one of vehicle, person, bicycle, other",
      "zones[0].id: 'a' is already used by lines[0]",
      'zones[0].polygon: must have at least 3 points',
      "zones[0].purpose[1]: 'parking' is not one of occupancy, queue, stopped-vehicle, restricted, wrong-way",
      "zones[0].purpose[2]: 'wrong-way' is listed twice",
      "zones[0].direction: is required for purpose 'wrong-way'",
      'zones[0].stoppedAfterS: must be a number > 0',
      'zones[1].id: must be 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit',
      'zones[1].polygon[2].y: must be 0..1',
      'zones[1].purpose: must be a non-empty list of occupancy, queue, stopped-vehicle, restricted, wrong-way',
      'zones[1].metresPerPx: must be a number > 0',
      "zones[1].anchor: must be 'centre' or 'bottom'",
    ]);
  });

  it('issue 5: shapes that are not objects or lists', () => {
    assert.deepEqual(checkAnalyticsConfig(null), ['config: must be an object with lines, zones and periodS']);
    assert.deepEqual(checkAnalyticsConfig({ lines: {}, zones: [1], periodS: 60 }), ['lines: must be a list (may be empty)', 'zones[0]: must be an object']);
  });
});
