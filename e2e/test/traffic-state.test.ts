/**
 * Traffic state end to end: a loop card on a road with an incident (simulator, accelerated time)
 * -> edge sample periods -> cloud road segment graded by GB/T 33171 (arterial: >40 畅通 ... <=15
 * 严重拥堵). And detector faults (PeMS classes) raised and cleared through the whole chain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startLoopCardSimulator } from '@quanlink/simulators';
import { CloudProcess, EdgeProcess, loopCardBinding, tempDir, waitUntil } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SegmentPeriod {
  periodStart: number;
  speed: number | null;
  grade: { code: number; name: string; nameZh: string };
  volume: number;
}

describe('traffic state: simulator incident -> edge periods -> cloud segment grades', { timeout: 120_000 }, () => {
  it('grades follow the scenario free flow -> congested -> free flow without flapping', async (t) => {
    const dir = tempDir('e2e-traffic');
    const gateway = `gw-traffic-${process.pid}`;
    // 30 sim seconds per wall second; 2 s periods are 60 sim seconds each. The incident slows every lane
    // to 12 km/h from sim 150 s for 240 s, then traffic recovers.
    const sim = await startLoopCardSimulator({
      seed: 71,
      ratePerLane: 0.4,
      timeScale: 30,
      startPaused: true,
      scenario: [{ kind: 'incident', atS: 150, durationS: 240, speedKmh: 12, recoveryS: 30 }],
    });
    const cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud` }).start();
    const edge = new EdgeProcess({
      dir: dir.path,
      gatewayId: gateway,
      cloudUrl: cloud.mqttUrl,
      password: await cloud.addGateway(gateway),
      // Time runs 30x fast, so wall-clock flows look 30x too high: chatter is judged far above them.
      devices: [loopCardBinding('loop-1', sim, 100, { periodS: 2, diagnostics: { chatterFlowVehH: 1e6 } })],
    });
    try {
      await cloud.api(`/api/v1/segments/ring-road-east`, {
        method: 'PUT',
        body: JSON.stringify({
          name: 'Ring road east',
          roadClass: 'arterial',
          lanes: [1, 2, 3, 4, 5, 6, 7, 8].map((lane) => ({ gatewayId: gateway, deviceId: 'loop-1', lane })),
        }),
      });
      await edge.writeConfig();
      await edge.start();
      await waitUntil('the card healthy', () => cloud.device(gateway, 'loop-1'), (d) => d?.state === 'ok');
      sim.resume();
      await sleep(22_000); // about 660 sim seconds
      const history = await waitUntil(
        'ten graded periods',
        () => cloud.api<{ periods: SegmentPeriod[] }>('/api/v1/segments/ring-road-east/history?limit=100'),
        (h) => h.periods.length >= 10,
      );
      const periods = [...history.periods].reverse().slice(1); // oldest first; the first period is partial
      const grades = periods.map((p) => p.grade.code);
      const speeds = periods.map((p) => p.speed);
      const names = periods.map((p) => p.grade.nameZh);
      const story = `grades ${grades.join(',')} (${names.join(' ')}) speeds ${speeds.join(',')}`;
      t.diagnostic(story);
      assert.ok(grades[0]! <= 2, `free flow first: ${story}`);
      assert.ok(Math.max(...grades) >= 4, `the incident congests the road (中度拥堵 or worse): ${story}`);
      assert.ok(grades.at(-1)! <= 2, `free flow again after recovery: ${story}`);
      // No flapping: once worse, grades only get worse until the peak, then only better.
      const peak = grades.indexOf(Math.max(...grades));
      for (let i = 1; i < grades.length; i++) {
        if (i <= peak) assert.ok(grades[i]! >= grades[i - 1]!, `rising to the peak: ${story}`);
        else assert.ok(grades[i]! <= grades[i - 1]!, `falling after the peak: ${story}`);
      }
      const { changes } = await cloud.api<{ changes: unknown[] }>('/api/v1/segments/ring-road-east/grade-changes');
      assert.ok(changes.length >= 2 && changes.length <= 8, `each change is an event, and there are few: ${changes.length}`);
    } finally {
      await edge.stop();
      await cloud.stop();
      await sim.close();
      dir.remove();
    }
  });

  it('a locked-on lane raises the locked-on diagnostic in the registry, and clears when the loop recovers', async () => {
    const dir = tempDir('e2e-diag');
    const gateway = `gw-diag-${process.pid}`;
    const sim = await startLoopCardSimulator({ seed: 81, ratePerLane: 0.3, timeScale: 10 });
    const cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud` }).start();
    const edge = new EdgeProcess({
      dir: dir.path,
      gatewayId: gateway,
      cloudUrl: cloud.mqttUrl,
      password: await cloud.addGateway(gateway),
      devices: [loopCardBinding('loop-1', sim, 100, { periodS: 1, diagnostics: { lockedOnS: 2, chatterFlowVehH: 1e6, intermittentPeriods: 100 } })],
    });
    type Health = { detectors: { deviceId: string; diagnostics: { lane: number | null; condition: string }[] }[] };
    const active = async () => (await cloud.api<Health>(`/api/v1/detector-health?gatewayId=${gateway}`)).detectors.find((d) => d.deviceId === 'loop-1')?.diagnostics ?? [];
    try {
      await edge.writeConfig();
      await edge.start();
      await waitUntil('the card healthy', () => cloud.device(gateway, 'loop-1'), (d) => d?.state === 'ok');
      sim.setFault({ kind: 'locked-on', lanes: [3] });
      const raised = await waitUntil('locked-on on lane 3', active, (list) => list.some((d) => d.condition === 'locked-on' && d.lane === 3), { timeoutMs: 20_000 });
      assert.ok(!raised.some((d) => d.lane === 1), `healthy lanes stay healthy: ${JSON.stringify(raised)}`);
      sim.clearFault('locked-on', [3]);
      await waitUntil('locked-on cleared', active, (list) => !list.some((d) => d.condition === 'locked-on'), { timeoutMs: 20_000 });
    } finally {
      await edge.stop();
      await cloud.stop();
      await sim.close();
      dir.remove();
    }
  });
});
