import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrafficPeriodData } from '@quanlink/contracts';
import { DEFAULT_THRESHOLDS, DetectorDiagnostics } from '../../src/traffic/diagnostics.js';

const T = 1_800_000_000_000;
const thresholds = { ...DEFAULT_THRESHOLDS, commLossS: 10, lockedOnS: 60, noActivityS: 90, intermittentPeriods: 2, constantPeriods: 3 };

function period(i: number, lane: Partial<TrafficPeriodData['lanes'][string]>, completeness = 100, flat = false) {
  const data: TrafficPeriodData = {
    periodStart: T + i * 30_000,
    periodS: 30,
    completeness,
    lanes: { '1': { volume: 5, flow: 600, occupancy: 8, speedSource: 'none', ...lane } },
  };
  return { data, occupancyFlat: { '1': flat } };
}

function conditions(events: { condition: string; state: string }[]): string[] {
  return events.map((e) => `${e.condition}:${e.state}`);
}

describe('detector diagnostics (PeMS / IRIS fault classes)', () => {
  it('comm-loss: onset after the threshold of failed polls, clear on the first good one', () => {
    const d = new DetectorDiagnostics(thresholds);
    assert.deepEqual(d.poll(T, false), []);
    assert.deepEqual(d.poll(T + 9_000, false), []);
    const [onset] = d.poll(T + 10_000, false);
    assert.deepEqual(onset, { condition: 'comm-loss', state: 'onset', since: T, detail: 'no good answer for 10 s' });
    assert.deepEqual(d.poll(T + 11_000, false), [], 'reported once');
    assert.deepEqual(conditions(d.poll(T + 12_000, true)), ['comm-loss:clear']);
    assert.deepEqual(d.active(), []);
  });

  it('locked-on: occupancy at 100% for lockedOnS raises it; a normal period clears it', () => {
    const d = new DetectorDiagnostics(thresholds);
    assert.deepEqual(conditions(d.period(period(0, { occupancy: 100, volume: 0, flow: 0 }))), []);
    assert.deepEqual(conditions(d.period(period(1, { occupancy: 100, volume: 0, flow: 0 }))), ['locked-on:onset']);
    assert.deepEqual(d.active(), [{ lane: 1, condition: 'locked-on', since: T }]);
    assert.deepEqual(conditions(d.period(period(2, { occupancy: 100, volume: 0, flow: 0 }))), []);
    assert.deepEqual(conditions(d.period(period(3, {}))), ['locked-on:clear']);
  });

  it('no-activity: no vehicle for noActivityS; not while the loop is locked on', () => {
    const d = new DetectorDiagnostics(thresholds);
    const events = [0, 1, 2].flatMap((i) => d.period(period(i, { volume: 0, flow: 0, occupancy: 0 })));
    assert.deepEqual(conditions(events), ['no-activity:onset']);
    assert.deepEqual(conditions(d.period(period(3, { volume: 1, flow: 120 }))), ['no-activity:clear']);
  });

  it('chatter: implausible flow in one period', () => {
    const d = new DetectorDiagnostics(thresholds);
    assert.deepEqual(conditions(d.period(period(0, { volume: 40, flow: 4800 }))), ['chatter:onset']);
    assert.deepEqual(conditions(d.period(period(1, {}))), ['chatter:clear']);
  });

  it('intermittent: several periods in a row that lost polls; a period with no poll at all judges nothing', () => {
    const d = new DetectorDiagnostics(thresholds);
    assert.deepEqual(conditions(d.period(period(0, {}, 60))), []);
    assert.deepEqual(conditions(d.period(period(1, {}, 0))), [], 'completeness 0 is comm-loss, not evidence about the lane');
    assert.deepEqual(conditions(d.period(period(2, {}, 70))), ['intermittent:onset']);
    assert.deepEqual(conditions(d.period(period(3, {}, 100))), ['intermittent:clear']);
  });

  it('constant: occupancy frozen at one non-zero value through several periods', () => {
    const d = new DetectorDiagnostics(thresholds);
    const events = [0, 1, 2].flatMap((i) => d.period(period(i, { volume: 0, flow: 0, occupancy: 37.5 }, 100, true)));
    // Frozen registers also stop the counts, so no-activity is raised too.
    assert.deepEqual(conditions(events), ['no-activity:onset', 'constant:onset']);
    assert.deepEqual(conditions(d.period(period(3, { occupancy: 12 }, 100, false))), ['no-activity:clear', 'constant:clear']);
  });

  it('state survives a JSON round trip (it is stored in the outbox with each poll)', () => {
    const d = new DetectorDiagnostics(thresholds);
    d.period(period(0, { occupancy: 100, volume: 0, flow: 0 }));
    const restored = new DetectorDiagnostics(thresholds, JSON.parse(JSON.stringify(d.state)));
    assert.deepEqual(conditions(restored.period(period(1, { occupancy: 100, volume: 0, flow: 0 }))), ['locked-on:onset']);
  });
});
