/**
 * The poller through the real boundary: the Modbus TCP driver against the loop-card simulator,
 * writing into a real SQLite outbox. Counts in the outbox must equal the simulator's ground truth.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { GatewayEvent, TrafficPeriodData } from '@quanlink/contracts';
import { loadBuiltinProfiles, type DeviceProfile } from '@quanlink/device-profiles';
import { createModbusTcpDriver } from '@quanlink/firmware-bridge';
import { startLoopCardSimulator, type LoopCardSimulator } from '@quanlink/simulators';
import { DEFAULT_TRAFFIC, DevicePoller, type TrafficSettings } from '../../src/devices/poller.js';
import { EventBus } from '../../src/events/bus.js';
import { SqliteOutbox } from '../../src/outbox/index.js';
import { LocalReadings } from '../../src/readings/local-readings.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-poller-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });
const profiles = await loadBuiltinProfiles();
const lc8 = profiles.get('quanlink-lc8')!;

function poller(
  sim: LoopCardSimulator,
  outbox: SqliteOutbox,
  traffic?: TrafficSettings,
  profile: DeviceProfile = lc8,
  readings?: { local: LocalReadings; sync: boolean },
): DevicePoller {
  return new DevicePoller({
    ...(traffic ? { traffic } : {}),
    ...(readings ? { localReadings: readings.local, syncReadings: readings.sync } : {}),
    device: 'loop-1',
    profile,
    driver: createModbusTcpDriver({
      host: sim.host,
      port: sim.port,
      timeoutMs: 300,
      device: 'loop-1',
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      ...profile.modbus,
    }),
    outbox,
    bus: new EventBus(),
    logger,
    intervalMs: 50,
  });
}

function stored(outbox: SqliteOutbox): GatewayEvent[] {
  return outbox.readFrom(1, 1_000_000).map((row) => JSON.parse(row.json) as GatewayEvent);
}

function countedLanes(events: GatewayEvent[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const event of events) {
    if (event.type !== 'counts') continue;
    for (const [lane, n] of Object.entries(event.data.lanes)) totals[lane] = (totals[lane] ?? 0) + n;
  }
  return totals;
}

const nonZero = (lanes: Record<string, number>) => Object.fromEntries(Object.entries(lanes).filter(([, n]) => n > 0));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

describe('device poller against the loop-card simulator', () => {
  // The same test on every loop-card layout: different tables, word order, counter width, units.
  for (const [profileId, wrapLane, bits] of [['quanlink-lc8', 3, 32], ['lanxin-ld4', 2, 16]] as const) {
    it(`${profileId}: counts every vehicle exactly, across the ${bits}-bit counter wrap and a poller restart`, async () => {
      const profile = profiles.get(profileId)!;
      // One lane starts 5 vehicles short of the wrap.
      const sim = await startLoopCardSimulator({ profile, seed: 3, ratePerLane: 0.5, timeScale: 20, startPaused: true, initialCounts: { [wrapLane]: 2 ** bits - 5 } });
      const outbox = new SqliteOutbox(join(dir, `wrap-${profileId}.db`));
      const local = new LocalReadings(':memory:');
      try {
        let p = poller(sim, outbox, undefined, profile, { local, sync: false });
        await p.start();
        await until('first poll (baseline)', () => p.currentStatus.health === 'ok');
        sim.resume();
        await sleep(700);
        // A restart of the agent: the new poller takes its counter baselines from the outbox.
        await p.stop();
        await sleep(300);
        p = poller(sim, outbox, undefined, profile, { local, sync: false });
        await p.start();
        await sleep(700);
        sim.stopTraffic();
        const truth = nonZero(sim.truth().lanes);
        assert.ok((truth[String(wrapLane)] ?? 0) > 5, `lane ${wrapLane} wrapped`);
        await until('counts equal ground truth', () => JSON.stringify(countedLanes(stored(outbox))) === JSON.stringify(truth), 5000).catch(() => {
          assert.deepEqual(countedLanes(stored(outbox)), truth);
        });
        await p.stop();
        assert.equal(stored(outbox).filter((e) => e.type === 'reading').length, 0, 'raw readings are not synced unless asked');
        const readings = local.query('loop-1', { limit: 1000 });
        assert.ok(readings.length > 10, 'raw readings stay on the gateway at the poll rate');
        const values = readings[0]!.values;
        const lanes = profile.lanes!;
        assert.ok(values['lane1.occupancy']! >= 0 && values['lane1.occupancy']! <= 100);
        assert.equal(Object.keys(values).filter((k) => k.endsWith('.count')).length, lanes, 'a count per lane');
      } finally {
        outbox.close();
        local.close();
        await sim.close();
      }
    });
  }

  it('syncs raw readings when the binding asks for it', async () => {
    const sim = await startLoopCardSimulator({ seed: 6 });
    const outbox = new SqliteOutbox(join(dir, 'sync-readings.db'));
    const local = new LocalReadings(':memory:');
    const p = poller(sim, outbox, undefined, lc8, { local, sync: true });
    try {
      await p.start();
      await until('readings in the outbox', () => stored(outbox).filter((e) => e.type === 'reading').length >= 3);
      await p.stop();
      const synced = stored(outbox).filter((e) => e.type === 'reading').length;
      assert.equal(synced, local.query('loop-1', { limit: 1000 }).length, 'every kept reading also went to the outbox');
    } finally {
      outbox.close();
      local.close();
      await sim.close();
    }
  });

  it('sample periods: clock-aligned, volumes add up to the counts of their polls, complete when every poll answered', async () => {
    const sim = await startLoopCardSimulator({ seed: 5, ratePerLane: 0.5, timeScale: 20 });
    const outbox = new SqliteOutbox(join(dir, 'periods.db'));
    const p = poller(sim, outbox, { ...DEFAULT_TRAFFIC, periodS: 1 });
    try {
      await p.start();
      await sleep(3600);
      await p.stop();
      const events = stored(outbox);
      const periods = events.filter((e) => e.type === 'traffic.period').map((e) => e.data as TrafficPeriodData);
      assert.ok(periods.length >= 2, `${periods.length} periods closed`);
      for (const period of periods) {
        assert.equal(period.periodStart % 1000, 0, 'starts on the second');
        // Counts of the polls whose time falls in the period (the closing poll belongs to the next one).
        const inPeriod = events.filter((e) => e.type === 'counts' && e.ts >= period.periodStart && e.ts < period.periodStart + 1000);
        const expected = countedLanes(inPeriod);
        for (const lane of Object.keys(expected)) assert.equal(period.lanes[lane]?.volume, expected[lane], `lane ${lane} of ${period.periodStart}`);
        assert.equal(period.lanes['1']!.speedSource === 'measured' || period.lanes['1']!.volume === 0, true);
      }
      // The first period is partial (the poller started inside it); the others got every poll.
      assert.ok(periods.slice(1).every((period) => period.completeness >= 80), JSON.stringify(periods.map((x) => x.completeness)));
    } finally {
      outbox.close();
      await sim.close();
    }
  });

  it('period occupancy and speed agree with the simulated road within the stated tolerance', async (t) => {
    // Tolerance: occupancy within 3 points and speed within 5 km/h of the road's truth, as run means.
    // Why: the card publishes occupancy and mean speed of its last 1 s window; the edge samples those
    // registers every poll and weights speeds by the vehicles counted in that poll, so single periods
    // carry sampling noise, while run means must agree with what the road did.
    const sim = await startLoopCardSimulator({ seed: 9, ratePerLane: 0.5, timeScale: 10 });
    const outbox = new SqliteOutbox(join(dir, 'accuracy.db'));
    const p = poller(sim, outbox, { ...DEFAULT_TRAFFIC, periodS: 1 });
    try {
      await p.start();
      await sleep(8000);
      await p.stop();
      const periods = stored(outbox)
        .filter((e) => e.type === 'traffic.period')
        .map((e) => e.data as TrafficPeriodData)
        .slice(1); // the first period is partial
      const truth = sim.periods(10);
      let edgeOcc = 0, edgeOccN = 0, edgeSpeed = 0, edgeVeh = 0, roadOcc = 0, roadOccN = 0, roadSpeed = 0, roadVeh = 0;
      for (const period of periods) for (const lane of Object.values(period.lanes)) {
        if (lane.occupancy !== undefined) { edgeOcc += lane.occupancy; edgeOccN++; }
        // Only measured speeds: under time acceleration wall-clock flows are 10x, so q*g/occ estimates are too.
        if (lane.speed !== undefined && lane.speedSource === 'measured') { edgeSpeed += lane.speed * lane.volume; edgeVeh += lane.volume; }
      }
      for (const period of truth) for (const lane of Object.values(period.lanes)) {
        roadOcc += lane.road.occupancyPct; roadOccN++;
        if (lane.road.timeMeanSpeedKmh !== null) { roadSpeed += lane.road.timeMeanSpeedKmh * lane.road.volume; roadVeh += lane.road.volume; }
      }
      const occ = [edgeOcc / edgeOccN, roadOcc / roadOccN];
      const speed = [edgeSpeed / edgeVeh, roadSpeed / roadVeh];
      t.diagnostic(`occupancy edge ${occ[0]!.toFixed(2)} road ${occ[1]!.toFixed(2)}; speed edge ${speed[0]!.toFixed(1)} road ${speed[1]!.toFixed(1)}; ${periods.length} edge periods, ${truth.length} road periods`);
      assert.ok(periods.length >= 6 && truth.length >= 6);
      assert.ok(Math.abs(occ[0]! - occ[1]!) <= 3, `occupancy ${occ.join(' vs ')}`);
      assert.ok(Math.abs(speed[0]! - speed[1]!) <= 5, `speed ${speed.join(' vs ')}`);
    } finally {
      outbox.close();
      await sim.close();
    }
  });

  it('reports a Modbus exception as a named device error, unreachable when the card is gone, ok again after', async () => {
    const sim = await startLoopCardSimulator({ seed: 4, startPaused: true });
    const outbox = new SqliteOutbox(join(dir, 'faults.db'));
    const statuses = () => stored(outbox).filter((e) => e.type === 'device.status').map((e) => e.data as { state: string; error?: { code: string; message: string } });
    const p = poller(sim, outbox);
    try {
      await p.start();
      await until('ok', () => statuses().at(-1)?.state === 'ok');
      sim.setFault({ kind: 'exception', code: 2 });
      await until('error', () => statuses().at(-1)?.state === 'error');
      const error = statuses().at(-1)!.error!;
      assert.equal(error.code, 'ModbusIllegalDataAddress');
      assert.match(error.message, /loop-1/);
      const before = statuses().length;
      await sleep(300);
      assert.equal(statuses().length, before, 'a lasting fault is reported once, not on every poll');
      sim.setFault(null);
      await until('ok again', () => statuses().at(-1)?.state === 'ok');
      await sim.closePort();
      await until('unreachable', () => statuses().at(-1)?.state === 'unreachable');
      await sim.openPort();
      await until('ok after the card came back', () => statuses().at(-1)?.state === 'ok', 15_000);
    } finally {
      await p.stop();
      outbox.close();
      await sim.close();
    }
  });
});
