/**
 * One register suite, run on every builtin loop-detector profile (quanlink-lc8: input registers,
 * big-endian words, uint32 counts; lanxin-ld4: holding registers, CDAB words, uint16 counts,
 * float32 m/s, length classes, discrete inputs): whatever the layout, each point found by its
 * quantity shows the card's truth. Then lanxin-ld4 decoded by hand, word by word.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuiltinProfiles, type DeviceProfile, type ResolvedPoint } from '@quanlink/device-profiles';
import { startLoopCardSimulator, type LoopCardOptions, type LoopCardSimulator } from '../../src/loop-card/simulator.js';
import { TrafficModel } from '../../src/loop-card/traffic.js';
import type { LoopCardTruth } from '../../src/loop-card/card.js';
import { capturingLogger, closeClient, connectClient, isException, readPointRaw, readPointValue, sleep, waitFor, type ModbusClient } from '../helpers/modbus-clients.js';
import { lastWindowOf } from '../helpers/traffic-oracle.js';

const builtin = await loadBuiltinProfiles();
const loopProfiles = [...builtin.values()].filter((p) => p.kind === 'loop-detector');

/** The speed and occupancy units a profile may ask for, from the card's km/h and %. */
const SPEED_PER_KMH: Record<string, number> = { 'km/h': 1, 'm/s': 1 / 3.6, mph: 1 / 1.609344 };

function scope(profile: DeviceProfile) {
  const sims: LoopCardSimulator[] = [];
  const clients: ModbusClient[] = [];
  const { logger } = capturingLogger();
  return {
    async sim(opts: LoopCardOptions = {}): Promise<LoopCardSimulator> {
      const s = await startLoopCardSimulator({ profile, logger, ...opts });
      sims.push(s);
      return s;
    },
    async client(port: number): Promise<ModbusClient> {
      const c = await connectClient(port);
      clients.push(c);
      return c;
    },
    async close(): Promise<void> {
      await Promise.all(clients.map(closeClient));
      await Promise.all(sims.map((s) => s.close()));
    },
  };
}

/** The engineering value a point should show for a healthy card, or undefined for a quantity not modelled here. */
function expected(point: ResolvedPoint, truth: LoopCardTruth, model: TrafficModel): number | undefined {
  const lane = point.lane;
  const wrap = (n: number): number => (point.counterBits ? n % 2 ** point.counterBits : n);
  const laneTruth = lane === undefined ? undefined : truth.reported.lanes[String(lane)]!;
  switch (point.quantity) {
    case 'vehicle-count':
      return wrap(laneTruth ? laneTruth.count : truth.reported.total);
    case 'vehicle-count-short':
    case 'vehicle-count-medium':
    case 'vehicle-count-long':
      return wrap(laneTruth![point.quantity.slice('vehicle-count-'.length) as 'short']);
    case 'occupancy':
      return lastWindowOf(model, lane!).occupancyPct;
    case 'speed':
      return lastWindowOf(model, lane!).speedKmh * SPEED_PER_KMH[point.unit ?? 'km/h']!;
    case 'presence':
      return model.present(lane!) ? 1 : 0;
    case 'dual-loop-speed':
      return lastWindowOf(model, lane!).volume > 0 ? 1 : 0;
    case 'loop-fault':
      return 0;
    case 'uptime':
      return Math.floor(truth.simTimeS);
    case 'firmware-version':
      return 0x0100;
    default:
      return undefined;
  }
}

/** Equal within the rounding of the point's raw type (half a raw step; float32 precision for floats). */
function assertShows(point: ResolvedPoint, actual: number, want: number): void {
  const tolerance = point.wire.type.startsWith('float') ? Math.max(1e-6, Math.abs(want) * 1e-6) : Math.abs(point.scale) / 2 + 1e-9;
  assert.ok(Math.abs(actual - want) <= tolerance, `${point.key} (${point.quantity}) shows ${actual}, expected ${want}`);
}

assert.ok(loopProfiles.length >= 2, `builtin loop-detector profiles: ${loopProfiles.map((p) => p.id).join(', ')}`);

for (const profile of loopProfiles) {
  const lanes = Array.from({ length: profile.lanes ?? 0 }, (_, i) => i + 1);
  const pointsOf = (quantity: string) => profile.points.filter((p) => p.quantity === quantity);
  const lanePoint = (quantity: string, lane: number) => profile.points.find((p) => p.quantity === quantity && p.lane === lane);

  describe(`loop card registers, profile ${profile.id}`, () => {
    const t = scope(profile);
    after(() => t.close());

    it('every point, found by its quantity, shows the truth: counts (and class counts), occupancy, speed, presence, flags, uptime', async () => {
      const sim = await t.sim({ seed: 21, ratePerLane: 1.2, timeScale: 20 });
      await sleep(600);
      sim.pause();
      const truth = sim.truth();
      assert.ok(truth.total > 30, `only ${truth.total} vehicles`);
      assert.deepEqual(truth.reported.lanes, truth.road.lanes, 'a healthy card reports what the road did');
      const model = new TrafficModel({ lanes: lanes.length, seed: 21, ratePerLane: 1.2 });
      model.advanceTo(truth.simTimeS);
      const client = await t.client(sim.port);
      let modelled = 0;
      for (const point of profile.points) {
        const actual = await readPointValue(client, point);
        const want = expected(point, truth, model);
        if (want === undefined) continue;
        assertShows(point, actual, want);
        modelled++;
      }
      assert.ok(modelled >= lanes.length * 3 + 1, `${modelled} points checked`);
      assert.ok(
        lanes.some((lane) => lastWindowOf(model, lane).volume > 0),
        'some lane had vehicles in the last window, so speeds and flags were not all zero',
      );
    });

    it('count registers wrap at their width (2^counterBits)', async () => {
      const count = lanePoint('vehicle-count', 1)!;
      const modulus = 2 ** count.counterBits!;
      const sim = await t.sim({ seed: 22, ratePerLane: 3, timeScale: 40, initialCounts: { 1: modulus - 3 } });
      await waitFor(() => sim.truth().lanes['1']! >= 5, 4000, 'lane 1 past the wrap');
      sim.stopTraffic();
      const truth = sim.truth();
      const client = await t.client(sim.port);
      const shown = await readPointRaw(client, count);
      assert.equal(shown, (modulus - 3 + truth.lanes['1']!) % modulus);
      assert.ok(shown < truth.lanes['1']!, `wrapped to ${shown}`);
      assert.equal(await readPointRaw(client, lanePoint('vehicle-count', 2)!), truth.lanes['2']! % modulus);
    });

    it('lane faults show as the card reports them: locked-on 100 % and stopped, dead 0 % and stopped, chatter counts racing; flagged ones raise loop-fault', async () => {
      const sim = await t.sim({ seed: 23, ratePerLane: 1, timeScale: 20 });
      await sleep(300);
      sim.setFault({ kind: 'locked-on', lanes: [1], flagged: true });
      sim.setFault({ kind: 'dead', lanes: [2] });
      sim.setFault({ kind: 'chatter', lanes: [3], pulsesPerS: 25 });
      const before = sim.truth();
      await sleep(500);
      sim.pause();
      const truth = sim.truth();
      const client = await t.client(sim.port);
      const value = async (quantity: string, lane: number) => readPointValue(client, lanePoint(quantity, lane)!);
      const elapsedS = truth.simTimeS - before.simTimeS;
      assert.ok(elapsedS > 5, `sim ran ${elapsedS} s under the faults`);

      assert.equal(truth.reported.lanes['1']!.count, before.reported.lanes['1']!.count, 'locked-on: counts stop');
      assert.ok(truth.road.lanes['1']!.count > before.road.lanes['1']!.count, 'though vehicles pass');
      assert.equal(await value('occupancy', 1), 100);
      assert.equal(await value('speed', 1), 0);
      assert.equal(truth.reported.lanes['2']!.count, before.reported.lanes['2']!.count, 'dead: counts stop');
      assert.equal(await value('occupancy', 2), 0);
      const chatter = truth.reported.lanes['3']!.count - before.reported.lanes['3']!.count;
      assert.ok(chatter / elapsedS > 20, `chatter: ${chatter / elapsedS} counts per sim second`);
      for (const lane of [1, 2, 3]) {
        assert.equal(await readPointRaw(client, lanePoint('vehicle-count', lane)!), truth.reported.lanes[String(lane)]!.count % 2 ** lanePoint('vehicle-count', lane)!.counterBits!);
      }
      assert.deepEqual(truth.reported.lanes['4'], truth.road.lanes['4'], 'a healthy lane reports the road');

      const flags = pointsOf('loop-fault');
      if (flags.length > 0) {
        assert.ok((await value('loop-fault', 1)) !== 0, 'flagged locked-on raises the loop-fault flag');
        assert.equal(await value('loop-fault', 2), 0, 'an unflagged fault shows only in the data');
      }
      if (pointsOf('presence').length > 0) {
        assert.equal(await value('presence', 1), 1);
        assert.equal(await value('presence', 2), 0);
      }
      if (pointsOf('dual-loop-speed').length > 0) {
        for (const lane of [1, 2, 3]) assert.equal(await value('dual-loop-speed', lane), 0, `lane ${lane}: no dual-loop speed from a faulty channel`);
      }
      assert.deepEqual(
        sim.faults().map((f) => f.kind),
        ['locked-on', 'dead', 'chatter'],
      );
      sim.clearFault('locked-on');
      assert.deepEqual(
        sim.faults().map((f) => f.kind),
        ['dead', 'chatter'],
      );
      sim.resume();
      await sleep(150);
      sim.pause();
      const model = new TrafficModel({ lanes: lanes.length, seed: 23, ratePerLane: 1 });
      model.advanceTo(sim.truth().simTimeS);
      assertShows(lanePoint('occupancy', 1)!, await value('occupancy', 1), lastWindowOf(model, 1).occupancyPct);
    });

    it('constant: every register freezes at the values it had, while the road and the truth go on; clearing it catches up', async () => {
      const sim = await t.sim({ seed: 24, ratePerLane: 2, timeScale: 20 });
      await sleep(300);
      sim.setFault({ kind: 'constant' });
      const client = await t.client(sim.port);
      const frozenRead = async () => Promise.all(profile.points.map((p) => readPointRaw(client, p)));
      const first = await frozenRead();
      const atFreeze = sim.truth();
      await sleep(400);
      assert.deepEqual(await frozenRead(), first, 'nothing moves, not even uptime');
      const later = sim.truth();
      assert.ok(later.road.total > atFreeze.road.total, 'vehicles kept passing');
      assert.equal(later.reported.frozen, true);
      assert.deepEqual(later.reported.lanes, atFreeze.reported.lanes, 'what the card reports stays frozen');
      sim.clearFault('constant');
      sim.pause();
      const thawed = sim.truth();
      assert.equal(thawed.reported.frozen, false);
      assert.equal(await readPointRaw(client, lanePoint('vehicle-count', 1)!), thawed.lanes['1']! % 2 ** lanePoint('vehicle-count', 1)!.counterBits!);
    });
  });
}

describe('lanxin-ld4 decoded by hand', () => {
  const ld4 = builtin.get('lanxin-ld4')!;
  const t = scope(ld4);
  let sim: LoopCardSimulator;
  let client: ModbusClient;
  let truth: LoopCardTruth;
  let model: TrafficModel;
  before(async () => {
    sim = await t.sim({ seed: 31, ratePerLane: 1.5, timeScale: 20 });
    await sleep(600);
    sim.pause();
    truth = sim.truth();
    model = new TrafficModel({ lanes: 4, seed: 31, ratePerLane: 1.5 });
    model.advanceTo(truth.simTimeS);
    client = await t.client(sim.port);
  });
  after(() => t.close());

  it('holding registers 16-46 in one read (holes read 0): uint16 counts by class, CDAB float32 m/s, occupancy in 0.01 %', async () => {
    const words = (await client.readHoldingRegisters(16, 31)).data;
    for (let lane = 1; lane <= 4; lane++) {
      const at = (lane - 1) * 8;
      const lt = truth.road.lanes[String(lane)]!;
      assert.deepEqual(words.slice(at, at + 4), [lt.count, lt.short, lt.medium, lt.long], `lane ${lane} count, short, medium, long`);
      // CDAB: the low word comes first; the float's bytes are high word then low word, each big-endian.
      const bytes = Buffer.alloc(4);
      bytes.writeUInt16BE(words[at + 5]!, 0);
      bytes.writeUInt16BE(words[at + 4]!, 2);
      const window = lastWindowOf(model, lane);
      assert.equal(bytes.readFloatBE(0), Math.fround(window.speedKmh / 3.6), `lane ${lane} speed in m/s`);
      assert.equal(words[at + 6], Math.round(window.occupancyPct * 100), `lane ${lane} occupancy in 0.01 %`);
      if (lane < 4) assert.equal(words[at + 7], 0, `reserved register after lane ${lane}`);
    }
    const [lo, hi] = (await client.readHoldingRegisters(0, 2)).data as [number, number];
    assert.equal(hi * 65536 + lo, Math.floor(truth.simTimeS), 'uptime, low word first');
    assert.ok(truth.total > 30, `${truth.total} vehicles`);
  });

  it('discrete inputs 0-26 in one read: presence, dual-loop speed and loop fault at 8 per lane', async () => {
    const bits = (await client.readDiscreteInputs(0, 27)).data.slice(0, 27);
    for (let lane = 1; lane <= 4; lane++) {
      const at = (lane - 1) * 8;
      assert.equal(bits[at], model.present(lane), `lane ${lane} presence`);
      assert.equal(bits[at + 1], lastWindowOf(model, lane).volume > 0, `lane ${lane} dual-loop speed`);
      assert.equal(bits[at + 2], false, `lane ${lane} loop fault`);
      for (let hole = at + 3; hole < Math.min(27, at + 8); hole++) assert.equal(bits[hole], false, `hole ${hole}`);
    }
  });

  it('answers IllegalDataAddress outside its map and for input registers it does not have (App Protocol 1.1b3 §7)', async () => {
    await assert.rejects(client.readHoldingRegisters(40, 10), isException(2), 'past the last lane register (46)');
    assert.deepEqual((await client.readHoldingRegisters(3, 13)).data, new Array(13).fill(0), 'the gap between the device and lane blocks is inside the map: zeros');
    await assert.rejects(client.readInputRegisters(16, 8), isException(2), 'no input registers');
    await assert.rejects(client.readDiscreteInputs(20, 10), isException(2), 'past the last bit (26)');
  });
});
