/**
 * Ground truth per clock-aligned sample period (NTCIP 1209 sample periods, 20/30/60 s), at high
 * time scales: the road and the card's report per lane, the incident scenario and the time-of-day
 * curve seen in them, and exact counts over a simulated hour through real Modbus reads.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuiltinProfiles, type DeviceProfile, type ResolvedPoint } from '@quanlink/device-profiles';
import { startLoopCardBus, type LoopCardBus } from '../../src/loop-card/bus.js';
import type { LoopCardControls } from '../../src/loop-card/card.js';
import type { TruthPeriod } from '../../src/loop-card/periods.js';
import { startLoopCardSimulator, type LoopCardOptions, type LoopCardSimulator } from '../../src/loop-card/simulator.js';
import { capturingLogger, closeClient, connectClient, readPointRaw, readPointValue, waitFor, type ModbusClient } from '../helpers/modbus-clients.js';
import { connectRtuTcpClient } from '../helpers/rtu-clients.js';

const builtin = await loadBuiltinProfiles();
const lc8 = builtin.get('quanlink-lc8')!;
const ld4 = builtin.get('lanxin-ld4')!;
const lanePoint = (profile: DeviceProfile, quantity: string, lane: number): ResolvedPoint => profile.points.find((p) => p.quantity === quantity && p.lane === lane)!;

const { logger } = capturingLogger();
const sims: LoopCardSimulator[] = [];
const buses: LoopCardBus[] = [];
const clients: ModbusClient[] = [];
after(async () => {
  await Promise.all(clients.map(closeClient));
  await Promise.all([...sims.map((s) => s.close()), ...buses.map((b) => b.close())]);
});

async function sim(opts: LoopCardOptions): Promise<LoopCardSimulator> {
  const s = await startLoopCardSimulator({ profile: lc8, logger, ...opts });
  sims.push(s);
  return s;
}

const reachSimTime = (card: LoopCardControls, simS: number, timeoutMs = 5000): Promise<void> =>
  waitFor(() => card.truth().simTimeS >= simS, timeoutMs, `sim time ${simS} s`);

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]): number => sum(xs) / xs.length;
const laneOf = (p: TruthPeriod, lane: number) => p.lanes[String(lane)]!;

describe('truth per sample period', () => {
  it('periods are clock-aligned from startHour, complete, and add up to the cumulative truth', async () => {
    // 07:00:05 at sim 0: the first whole 20 s period is 07:00:20-07:00:40, i.e. sim 15-35.
    const card = await sim({ seed: 41, ratePerLane: 0.6, timeScale: 400, startHour: 7 + 5 / 3600, durationS: 600 });
    await reachSimTime(card, 700);
    card.pause();
    const truth = card.truth();
    assert.equal(truth.generating, false);
    const periods = card.periods(20);
    assert.equal(periods[0]!.startS, 15);
    assert.equal(periods[0]!.clock, '07:00:20');
    assert.equal(periods[1]!.clock, '07:00:40');
    periods.forEach((p, i) => {
      assert.equal(p.endS - p.startS, 20);
      assert.ok(Math.abs(((p.startS + 5) % 20) - 0) < 1e-6 || Math.abs(((p.startS + 5) % 20) - 20) < 1e-6, `period ${i} at ${p.clock}`);
      if (i > 0) assert.equal(p.startS, periods[i - 1]!.endS);
    });
    assert.ok(periods[periods.length - 1]!.endS <= truth.simTimeS);
    assert.equal(card.periods(60)[0]!.clock, '07:01:00', 'a 60 s period starts on the minute');
    assert.equal(card.periods(30, { fromS: 100, toS: 200 })[0]!.clock, '07:02:00');
    assert.deepEqual(
      card.periods(30, { fromS: 100, toS: 200 }).map((p) => [p.startS, p.clock]),
      [
        [115, '07:02:00'],
        [145, '07:02:30'],
      ],
      'only whole periods inside the range',
    );

    // Vehicles in [0, 15) are outside any whole period; the rest are in exactly one.
    const vehiclesBefore = card.periods(1, { toS: 15 });
    for (let lane = 1; lane <= 8; lane++) {
      const inPeriods = sum(periods.map((p) => laneOf(p, lane).road.volume));
      const early = sum(vehiclesBefore.map((p) => laneOf(p, lane).road.volume));
      assert.equal(inPeriods + early, truth.road.lanes[String(lane)]!.count, `lane ${lane}`);
      for (const cls of ['short', 'medium', 'long'] as const) {
        assert.equal(sum([...periods, ...vehiclesBefore].map((p) => laneOf(p, lane).road.classes[cls])), truth.road.lanes[String(lane)]![cls], `lane ${lane} ${cls}`);
      }
      assert.deepEqual(
        periods.map((p) => laneOf(p, lane).reported),
        periods.map((p) => ({ ...laneOf(p, lane).road, faults: [] })),
        'a healthy card reports the road',
      );
    }
    const busy = periods.flatMap((p) => Object.values(p.lanes)).filter((l) => l.road.volume >= 2);
    assert.ok(busy.length > 100);
    for (const l of busy) {
      assert.ok(l.road.spaceMeanSpeedKmh! <= l.road.timeMeanSpeedKmh! + 1e-9, 'space-mean <= time-mean');
      assert.equal(l.road.flowVehH, l.road.volume * 180);
      assert.ok(l.road.occupancyPct > 0 && l.road.occupancyPct <= 100);
    }
    assert.throws(() => card.periods(7), /periodS must be a whole number of seconds that divides 3600 \(e\.g\. 20, 30, 60\), got 7/);
    assert.throws(() => card.periods(0), /divides 3600/);
  });

  it('the incident scenario lowers the speed and raises the occupancy of its lanes in the periods, and on the registers', async () => {
    const card = await sim({
      seed: 42,
      ratePerLane: 0.45,
      timeScale: 1000,
      aggregationWindowS: 60,
      scenario: [{ kind: 'incident', atS: 600, durationS: 900, lanes: [1, 2], speedKmh: 15, recoveryS: 120 }],
    });
    await reachSimTime(card, 1000);
    card.pause();
    // The card's 60 s window now lies inside the incident: its registers show the crawl.
    const client = await connectClient(card.port);
    clients.push(client);
    assert.ok((await readPointValue(client, lanePoint(lc8, 'speed', 1))) < 25, 'lane 1 speed register during the incident');
    assert.ok((await readPointValue(client, lanePoint(lc8, 'speed', 5))) > 40, 'lane 5 is not affected');
    card.resume();
    await reachSimTime(card, 2400);
    card.pause();
    const periods = card.periods(60);
    const stretch = (lane: number, from: number, to: number) => periods.filter((p) => p.startS >= from && p.endS <= to).map((p) => laneOf(p, lane).road);
    for (const lane of [1, 2]) {
      const before = stretch(lane, 0, 600);
      const during = stretch(lane, 720, 1500); // after the first two minutes, when the queue has built
      const afterwards = stretch(lane, 1800, 2400);
      const speed = (ps: typeof before) => mean(ps.filter((p) => p.volume > 0).map((p) => p.timeMeanSpeedKmh!));
      const occupancy = (ps: typeof before) => mean(ps.map((p) => p.occupancyPct));
      assert.ok(speed(before) > 50 && speed(afterwards) > 50, `lane ${lane} free speed ${speed(before)}, ${speed(afterwards)}`);
      assert.ok(speed(during) > 10 && speed(during) < 20, `lane ${lane} incident speed ${speed(during)}`);
      assert.ok(occupancy(during) > 3 * occupancy(before), `lane ${lane} occupancy ${occupancy(before)} -> ${occupancy(during)}`);
      assert.ok(occupancy(during) > 50, `lane ${lane} occupancy during ${occupancy(during)}`);
    }
    const lane3 = (from: number, to: number) => mean(stretch(3, from, to).filter((p) => p.volume > 0).map((p) => p.timeMeanSpeedKmh!));
    assert.ok(Math.abs(lane3(720, 1500) - lane3(0, 600)) < 6, 'lane 3 keeps its speed');
  });

  it('time of day: a weekday from 06:00 carries several times more vehicles at 07:30 than at 06:00', async () => {
    const card = await sim({ seed: 43, ratePerLane: 0.3, timeScale: 4000, timeOfDay: 'weekday', startHour: 6 });
    await reachSimTime(card, 7200);
    card.pause();
    const periods = card.periods(900);
    const volume = (clock: string) => sum(Object.values(periods.find((p) => p.clock === clock)!.lanes).map((l) => l.road.volume));
    assert.ok(volume('07:30:00') > 2.5 * volume('06:00:00'), `06:00 ${volume('06:00:00')} vs 07:30 ${volume('07:30:00')}`);
    assert.ok(volume('06:45:00') > volume('06:00:00') && volume('07:30:00') > volume('06:45:00'), 'rising into the peak');
  });

  it('same seed, same periods, whatever the time scale (event-driven, nothing sampled)', async () => {
    const opts = { seed: 44, ratePerLane: 0.5, durationS: 1200, platoonShare: 0.4, timeOfDay: 'weekday' as const, startHour: 8 };
    const [slow, fast] = await Promise.all([sim({ ...opts, timeScale: 700 }), sim({ ...opts, timeScale: 3000, tickMs: 7 })]);
    const other = await sim({ ...opts, seed: 45, timeScale: 3000 });
    await Promise.all([reachSimTime(slow, 1260), reachSimTime(fast, 1260), reachSimTime(other, 1260)]);
    for (const card of [slow, fast, other]) card.pause();
    const range = { toS: 1260 };
    assert.deepEqual(fast.periods(30, range), slow.periods(30, range));
    assert.deepEqual(fast.truth().road, slow.truth().road);
    assert.notDeepEqual(other.truth().road, slow.truth().road);
  });

  it('lane faults in the periods: the road keeps what happened, reported says what the card measured', async () => {
    const card = await sim({ seed: 46, ratePerLane: 0.5, timeScale: 400, startPaused: true });
    card.setFault({ kind: 'locked-on', lanes: [1] });
    card.setFault({ kind: 'dead', lanes: [2] });
    card.setFault({ kind: 'chatter', lanes: [3], pulsesPerS: 20 });
    card.resume();
    await reachSimTime(card, 400);
    card.pause();
    const periods = card.periods(20);
    const truth = card.truth();
    for (const p of periods) {
      const [l1, l2, l3, l4] = [1, 2, 3, 4].map((lane) => laneOf(p, lane));
      assert.deepEqual([l1!.reported.volume, l1!.reported.occupancyPct, l1!.reported.faults], [0, 100, ['locked-on']]);
      assert.deepEqual([l2!.reported.volume, l2!.reported.occupancyPct, l2!.reported.timeMeanSpeedKmh, l2!.reported.faults], [0, 0, null, ['dead']]);
      assert.equal(l3!.reported.volume, l3!.road.volume + 400, 'chatter: 20 pulses/s on top of the vehicles');
      assert.equal(l3!.reported.timeMeanSpeedKmh, l3!.road.timeMeanSpeedKmh, 'pulses carry no speed');
      assert.deepEqual(l4!.reported, { ...l4!.road, faults: [] });
    }
    assert.ok(sum(periods.map((p) => laneOf(p, 1).road.volume)) > 50, 'vehicles passed the locked-on loop');
    assert.equal(truth.reported.lanes['1']!.count, 0);
    assert.equal(truth.reported.lanes['2']!.count, 0);
    assert.equal(truth.reported.lanes['3']!.count, truth.road.lanes['3']!.count + Math.floor(truth.simTimeS * 20 + 0.5), 'chatter pulses up to now');
  });
});

describe('a simulated hour at high time scale', () => {
  it('two cards on an RTU-over-TCP bus, polled throughout: every register read lies between the truth before and after it, and at the end equals it', async () => {
    const hour = { ratePerLane: 0.4, timeScale: 1800, durationS: 3600, timeOfDay: 'weekday' as const, startHour: 7, platoonShare: 0.3 };
    const bus = await startLoopCardBus({
      transport: { kind: 'rtu-tcp' },
      logger,
      cards: [
        { unitId: 1, seed: 51, profile: ld4, ...hour },
        { unitId: 2, seed: 52, profile: lc8, ...hour },
      ],
    });
    buses.push(bus);
    assert.equal(bus.transport.kind, 'rtu-tcp');
    const client = await connectRtuTcpClient(bus.transport.kind === 'rtu-tcp' ? bus.transport.port : 0, { timeoutMs: 1000 });
    clients.push(client);
    const cards = [
      { card: bus.card(1), profile: ld4 },
      { card: bus.card(2), profile: lc8 },
    ];
    let polls = 0;
    while (cards.some(({ card }) => card.truth().generating)) {
      for (const { card, profile } of cards) {
        client.setID(card.unitId);
        const lane = (polls % profile.lanes!) + 1;
        const point = lanePoint(profile, 'vehicle-count', lane);
        const before = card.truth().reported.lanes[String(lane)]!.count;
        const shown = await readPointRaw(client, point);
        const afterwards = card.truth().reported.lanes[String(lane)]!.count;
        const modulus = 2 ** point.counterBits!;
        assert.ok(afterwards - before < modulus, 'no wrap within one poll');
        const inWindow = [...Array(afterwards - before + 1).keys()].some((k) => (before + k) % modulus === shown);
        assert.ok(inWindow, `unit ${card.unitId} lane ${lane}: register ${shown} outside truth ${before}..${afterwards}`);
        polls++;
      }
    }
    assert.ok(polls > 50, `${polls} polls during the hour`);
    for (const { card, profile } of cards) {
      const truth = card.truth();
      assert.ok(truth.simTimeS >= 3600);
      client.setID(card.unitId);
      const lanes = Array.from({ length: profile.lanes! }, (_, i) => i + 1);
      for (const lane of lanes) {
        const point = lanePoint(profile, 'vehicle-count', lane);
        assert.equal(await readPointRaw(client, point), truth.lanes[String(lane)]! % 2 ** point.counterBits!, `unit ${card.unitId} lane ${lane} after the hour`);
      }
      assert.ok(truth.total > lanes.length * 0.4 * 3600 * 0.9, `unit ${card.unitId}: ${truth.total} vehicles in the peak hour`);
      const periods = card.periods(60, { toS: 3600 });
      assert.equal(periods.length, 60, 'sim 0 is 07:00:00, so 07:00-08:00 is 60 whole minutes');
      for (const lane of lanes) assert.equal(sum(periods.map((p) => laneOf(p, lane).road.volume)), truth.lanes[String(lane)]);
    }
  });
});
