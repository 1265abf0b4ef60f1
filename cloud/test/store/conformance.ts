/**
 * The CloudStore conformance suite: written once, run against every implementation (SQLite on a
 * file and in memory now, PostgreSQL later). `factory` must return a fresh, empty store each call;
 * the suite closes it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayBirth, GatewayEvent, GatewayStatus, GatewayTelemetry } from '@quanlink/contracts';
import { DuplicateGatewayError, UnknownDeviceError, UnknownGatewayError, type CloudStore, type RejectedEventInput } from '../../src/store/types.js';
import { trafficConformance } from './traffic-conformance.js';
import { dispatchConformance } from './dispatch-conformance.js';
import { cameraConformance } from './camera-conformance.js';
import { configConformance } from './config-conformance.js';
import { updatesConformance } from './updates-conformance.js';

export type StoreFactory = () => Promise<CloudStore>;

const HASH = '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const STREAM = 'stream-aaaa-0001';
const T0 = 1_700_000_000_000;

function counts(seq: number, device: string, lanes: Record<string, number>): GatewayEvent {
  return { seq, ts: T0 + seq, type: 'counts', device, data: { lanes } };
}
function reading(seq: number, device: string, values: Record<string, number>, ts = T0 + seq): GatewayEvent {
  return { seq, ts, type: 'reading', device, data: { values } };
}
function deviceStatus(seq: number, device: string, state: 'ok' | 'error' | 'unreachable', error?: { code: string; message: string }): GatewayEvent {
  return { seq, ts: T0 + seq, type: 'device.status', device, data: error ? { state, error } : { state } };
}
/** `n` reading events seq first..first+n-1 for device d1. */
function readings(first: number, n: number): GatewayEvent[] {
  return Array.from({ length: n }, (_, i) => reading(first + i, 'd1', { 'lane1.occupancy': first + i }));
}
function range(events: readonly { seq: number }[], stream = STREAM) {
  return { stream, first: events[0]!.seq, last: events[events.length - 1]!.seq };
}
function birth(devices: GatewayBirth['devices']): GatewayBirth {
  return { v: 1, ts: T0, agentVersion: '0.1.0', startedAt: T0 - 1000, stream: STREAM, devices };
}
const telemetry: GatewayTelemetry = {
  v: 1,
  ts: T0,
  agentVersion: '0.1.1',
  uptimeS: 12,
  cpuPercent: 3.5,
  memRssBytes: 50_000_000,
  outbox: { depth: 3, lastSeq: 10 },
  link: { reconnects: 1, ackRttMs: 4 },
};

export function storeConformance(name: string, factory: StoreFactory): void {
  trafficConformance(name, factory);
  dispatchConformance(name, factory);
  cameraConformance(name, factory);
  configConformance(name, factory);
  updatesConformance(name, factory);

  /** Runs `body` with a fresh store holding gateways gw-a and gw-b, and closes it afterwards. */
  function withStore(title: string, body: (store: CloudStore) => Promise<void>): void {
    test(title, async () => {
      const store = await factory();
      try {
        await store.addGateway({ id: 'gw-a', name: 'Gateway A', passwordHash: HASH, createdAt: T0 });
        await store.addGateway({ id: 'gw-b', passwordHash: HASH, createdAt: T0 + 1 });
        await body(store);
      } finally {
        await store.close();
      }
    });
  }

  describe(`CloudStore conformance: ${name}`, () => {
    describe('registry', () => {
      withStore('adds, gets and lists gateways without exposing the password hash', async (store) => {
        const a = await store.getGateway('gw-a');
        assert.deepEqual(a, {
          id: 'gw-a',
          name: 'Gateway A',
          createdAt: T0,
          online: false,
          lastSeen: null,
          lastStatus: null,
          agentVersion: null,
          startedAt: null,
          telemetry: null,
          telemetryAt: null,
        });
        assert.equal(await store.getGateway('gw-zzz'), undefined);
        const list = await store.listGateways();
        assert.deepEqual(
          list.map((g) => g.id),
          ['gw-a', 'gw-b'],
        );
        assert.ok(!JSON.stringify(list).includes(HASH), 'the hash must never appear in gateway records');
        assert.equal(await store.gatewaySecretHash('gw-a'), HASH);
        assert.equal(await store.gatewaySecretHash('gw-zzz'), undefined);
      });

      withStore('refuses a second gateway with the same id', async (store) => {
        await assert.rejects(store.addGateway({ id: 'gw-a', passwordHash: HASH }), (err: unknown) => {
          assert.ok(err instanceof DuplicateGatewayError);
          assert.match((err as Error).message, /gw-a/);
          return true;
        });
        assert.equal(await store.gatewaySecretHash('gw-a'), HASH, 'the first registration is untouched');
      });

      withStore('status messages set online, last status and last seen; unknown gateways are reported', async (store) => {
        const online: GatewayStatus = { v: 1, state: 'online', ts: T0 };
        assert.equal(await store.setGatewayStatus('gw-a', online, T0 + 5), true);
        let a = await store.getGateway('gw-a');
        assert.equal(a?.online, true);
        assert.equal(a?.lastSeen, T0 + 5);
        assert.deepEqual(a?.lastStatus, online);

        const offline: GatewayStatus = { v: 1, state: 'offline', ts: T0, reason: 'connection lost' };
        await store.setGatewayStatus('gw-a', offline, T0 + 9);
        a = await store.getGateway('gw-a');
        assert.equal(a?.online, false);
        assert.deepEqual(a?.lastStatus, offline);
        assert.equal(await store.setGatewayStatus('gw-zzz', online, T0), false);

        await store.setGatewayStatus('gw-a', online, T0 + 10);
        await store.setGatewayStatus('gw-b', online, T0 + 10);
        await store.markAllGatewaysOffline();
        assert.deepEqual(
          (await store.listGateways()).map((g) => g.online),
          [false, false],
        );
      });

      withStore('telemetry is kept as the latest JSON with the agent version', async (store) => {
        assert.equal(await store.recordTelemetry('gw-a', telemetry, T0 + 20), true);
        const a = await store.getGateway('gw-a');
        assert.deepEqual(a?.telemetry, telemetry);
        assert.equal(a?.telemetryAt, T0 + 20);
        assert.equal(a?.agentVersion, '0.1.1');
        assert.equal(await store.recordTelemetry('gw-zzz', telemetry, T0), false);
      });

      withStore('a birth upserts devices and marks the ones it no longer lists as removed', async (store) => {
        assert.equal(
          await store.applyBirth(
            'gw-a',
            birth([
              { id: 'loop-1', profile: 'loop/acme-4', kind: 'loop-detector', name: 'North loop', endpoint: 'modbus-tcp://10.0.0.5:502/1' },
              { id: 'vms-1', profile: 'vms/acme', kind: 'vms' },
            ]),
            T0 + 30,
          ),
          true,
        );
        const gateway = await store.getGateway('gw-a');
        assert.equal(gateway?.agentVersion, '0.1.0');
        assert.equal(gateway?.startedAt, T0 - 1000);
        assert.deepEqual(await store.getDevice('gw-a', 'loop-1'), {
          gatewayId: 'gw-a',
          deviceId: 'loop-1',
          profile: 'loop/acme-4',
          kind: 'loop-detector',
          name: 'North loop',
          endpoint: 'modbus-tcp://10.0.0.5:502/1',
          state: 'unknown',
          lastError: null,
          removed: false,
          updatedAt: T0 + 30,
          diagnostics: [],
        });

        await store.applyBirth('gw-a', birth([{ id: 'vms-1', profile: 'vms/acme-2', kind: 'vms' }]), T0 + 40);
        const loop = await store.getDevice('gw-a', 'loop-1');
        assert.equal(loop?.removed, true, 'a device missing from the birth is marked removed');
        assert.equal(loop?.profile, 'loop/acme-4', '... and kept');
        assert.equal((await store.getDevice('gw-a', 'vms-1'))?.profile, 'vms/acme-2');

        await store.applyBirth('gw-a', birth([{ id: 'loop-1', profile: 'loop/acme-4', kind: 'loop-detector' }]), T0 + 50);
        assert.equal((await store.getDevice('gw-a', 'loop-1'))?.removed, false, 'listed again: no longer removed');
        assert.equal((await store.getDevice('gw-a', 'vms-1'))?.removed, true);

        assert.equal(await store.applyBirth('gw-zzz', birth([{ id: 'x', profile: 'p', kind: 'k' }]), T0), false);
        assert.equal(await store.getDevice('gw-zzz', 'x'), undefined);
      });

      withStore('lists devices by gateway and by kind', async (store) => {
        await store.applyBirth('gw-a', birth([{ id: 'loop-1', profile: 'p', kind: 'loop-detector' }, { id: 'vms-1', profile: 'p', kind: 'vms' }]), T0);
        await store.applyBirth('gw-b', birth([{ id: 'loop-1', profile: 'p', kind: 'loop-detector' }]), T0);
        const ids = (list: { gatewayId: string; deviceId: string }[]) => list.map((d) => `${d.gatewayId}/${d.deviceId}`);
        assert.deepEqual(ids(await store.listDevices()), ['gw-a/loop-1', 'gw-a/vms-1', 'gw-b/loop-1']);
        assert.deepEqual(ids(await store.listDevices({ gatewayId: 'gw-b' })), ['gw-b/loop-1']);
        assert.deepEqual(ids(await store.listDevices({ kind: 'loop-detector' })), ['gw-a/loop-1', 'gw-b/loop-1']);
        assert.deepEqual(ids(await store.listDevices({ gatewayId: 'gw-a', kind: 'vms' })), ['gw-a/vms-1']);
        assert.deepEqual(await store.listDevices({ gatewayId: 'gw-zzz' }), []);
      });

      withStore('places a device on the map, replaces its placement, lists placements; unknown devices are refused', async (store) => {
        await store.applyBirth('gw-a', birth([{ id: 'loop-1', profile: 'p', kind: 'loop-detector' }, { id: 'cam-1', profile: 'p', kind: 'camera' }]), T0);
        await store.applyBirth('gw-b', birth([{ id: 'loop-1', profile: 'p', kind: 'loop-detector' }]), T0);
        const first = { gatewayId: 'gw-a', deviceId: 'loop-1', location: { lat: 31.2301, lon: 121.4702 }, bearing: null, note: null, placedAt: T0 + 1, placedBy: 'tech' };
        assert.deepEqual(await store.placeDevice(first), first);
        const moved = { ...first, location: { lat: -33.5, lon: -70.25 }, bearing: 270.5, note: 'pole 4, north side', placedAt: T0 + 2, placedBy: 'ana' };
        assert.deepEqual(await store.placeDevice(moved), moved, 'a second placement replaces the first');
        const cam = { gatewayId: 'gw-a', deviceId: 'cam-1', location: { lat: 31.23, lon: 121.47 }, bearing: 0, note: null, placedAt: T0 + 3, placedBy: 'tech' };
        await store.placeDevice(cam);
        const other = { ...first, gatewayId: 'gw-b' };
        await store.placeDevice(other);
        assert.deepEqual(await store.devicePlacements(), [cam, moved, other]);
        assert.deepEqual(await store.devicePlacements('gw-b'), [other]);
        assert.deepEqual(await store.devicePlacements('gw-zzz'), []);
        await assert.rejects(store.placeDevice({ ...first, deviceId: 'loop-9' }), (err: unknown) => err instanceof UnknownDeviceError && /loop-9/.test((err as Error).message) && /gw-a/.test((err as Error).message));
        await assert.rejects(store.placeDevice({ ...first, gatewayId: 'gw-zzz' }), UnknownDeviceError);
        assert.equal((await store.devicePlacements()).length, 3, 'a refused placement stores nothing');
        // A device the gateway no longer lists keeps its place (it is kept in the registry too).
        await store.applyBirth('gw-a', birth([{ id: 'cam-1', profile: 'p', kind: 'camera' }]), T0 + 5);
        assert.deepEqual((await store.devicePlacements('gw-a')).map((p) => p.deviceId), ['cam-1', 'loop-1']);
      });
    });

    describe('ingestBatch', () => {
      withStore('an unknown stream is accepted from batch.first, and the next contiguous batch extends it', async (store) => {
        const first = readings(101, 5);
        assert.deepEqual(await store.ingestBatch('gw-a', range(first), first, [], T0), {
          status: 'ok',
          upTo: 105,
          inserted: 5,
          quarantined: 0,
          duplicates: 0,
        });
        const next = readings(106, 3);
        assert.deepEqual(await store.ingestBatch('gw-a', range(next), next, [], T0), {
          status: 'ok',
          upTo: 108,
          inserted: 3,
          quarantined: 0,
          duplicates: 0,
        });
        const [stream] = await store.streams('gw-a');
        assert.equal(stream?.stream, STREAM);
        assert.equal(stream?.syncedSeq, 108);
        assert.equal(stream?.firstSeq, 101);
        assert.equal((await store.events({ gatewayId: 'gw-a', limit: 1000 })).length, 8);
        assert.equal((await store.getGateway('gw-a'))?.lastSeen, T0, 'ingest counts as hearing from the gateway');
      });

      withStore('resending a batch inserts nothing and answers the same upTo', async (store) => {
        const batch = readings(1, 4);
        await store.ingestBatch('gw-a', range(batch), batch, []);
        assert.deepEqual(await store.ingestBatch('gw-a', range(batch), batch, []), {
          status: 'ok',
          upTo: 4,
          inserted: 0,
          quarantined: 0,
          duplicates: 4,
        });
        assert.equal((await store.events({ limit: 1000 })).length, 4);
        assert.equal((await store.readings('gw-a', 'd1', { limit: 1000 })).length, 4);
      });

      withStore('an overlapping batch inserts only the new tail', async (store) => {
        const batch = readings(1, 4);
        await store.ingestBatch('gw-a', range(batch), batch, []);
        const overlap = readings(3, 4); // 3..6
        assert.deepEqual(await store.ingestBatch('gw-a', range(overlap), overlap, []), {
          status: 'ok',
          upTo: 6,
          inserted: 2,
          quarantined: 0,
          duplicates: 2,
        });
      });

      withStore('a batch starting after synced+1 is a gap: nothing is committed, upTo = synced', async (store) => {
        const batch = readings(1, 3);
        await store.ingestBatch('gw-a', range(batch), batch, []);
        const gapped = [counts(5, 'd1', { '1': 10 }), counts(6, 'd1', { '1': 10 })];
        assert.deepEqual(await store.ingestBatch('gw-a', range(gapped), gapped, []), {
          status: 'gap',
          upTo: 3,
          inserted: 0,
          quarantined: 0,
          duplicates: 0,
        });
        assert.equal((await store.events({ limit: 1000 })).length, 3);
        assert.deepEqual(await store.laneTotals('gw-a', 'd1'), { lanes: {}, total: 0 }, 'no projection from a refused batch');
        assert.equal((await store.streams('gw-a'))[0]?.syncedSeq, 3);

        const resend = [counts(4, 'd1', { '1': 1 }), ...gapped];
        assert.equal((await store.ingestBatch('gw-a', range(resend), resend, [])).upTo, 6, 'resending from synced+1 closes the gap');
        assert.deepEqual(await store.laneTotals('gw-a', 'd1'), { lanes: { '1': 21 }, total: 21 });
      });

      withStore('streams are independent per gateway and per stream id', async (store) => {
        const a1 = readings(1, 3);
        await store.ingestBatch('gw-a', range(a1), a1, []);
        const b1 = readings(1, 2);
        assert.equal((await store.ingestBatch('gw-b', range(b1), b1, [])).inserted, 2, 'same seqs, other gateway: not duplicates');
        const fresh = readings(1, 2);
        const otherStream = range(fresh, 'stream-bbbb-0002');
        assert.deepEqual(await store.ingestBatch('gw-a', otherStream, fresh, []), {
          status: 'ok',
          upTo: 2,
          inserted: 2,
          quarantined: 0,
          duplicates: 0,
        });
        assert.deepEqual(
          (await store.streams('gw-a')).map((s) => [s.stream, s.syncedSeq]).sort(),
          [
            ['stream-aaaa-0001', 3],
            ['stream-bbbb-0002', 2],
          ],
        );
        assert.equal((await store.streams('gw-b'))[0]?.syncedSeq, 2);
      });

      withStore('rejected events are quarantined with the reason, count as synced, and are stored once', async (store) => {
        const bad: RejectedEventInput = {
          seq: 2,
          ts: T0 + 2,
          type: 'counts',
          device: 'd1',
          data: { lanes: { '1': -3 } },
          reason: 'events[1]: data.lanes.1: Expected integer to be greater or equal to 0',
        };
        const valid = [counts(1, 'd1', { '1': 4 }), counts(3, 'd1', { '2': 5 })];
        const batch = { stream: STREAM, first: 1, last: 3 };
        assert.deepEqual(await store.ingestBatch('gw-a', batch, valid, [bad]), {
          status: 'ok',
          upTo: 3,
          inserted: 2,
          quarantined: 1,
          duplicates: 0,
        });
        assert.deepEqual(await store.ingestBatch('gw-a', batch, valid, [bad]), {
          status: 'ok',
          upTo: 3,
          inserted: 0,
          quarantined: 0,
          duplicates: 3,
        });
        const rejected = await store.rejectedEvents({ gatewayId: 'gw-a' });
        assert.equal(rejected.length, 1);
        assert.equal(rejected[0]?.seq, 2);
        assert.equal(rejected[0]?.reason, bad.reason);
        assert.deepEqual(rejected[0]?.data, bad.data);
        assert.equal(rejected[0]?.device, 'd1');
        assert.deepEqual(await store.rejectedEvents({ gatewayId: 'gw-b' }), []);
        assert.deepEqual(await store.laneTotals('gw-a', 'd1'), { lanes: { '1': 4, '2': 5 }, total: 9 });
        assert.equal((await store.events({ limit: 1000 })).length, 2, 'the rejected event is not in the event log');
      });

      withStore('an all-rejected batch still advances the stream', async (store) => {
        const bad: RejectedEventInput = { seq: 1, ts: T0, type: 'nonsense', data: {}, reason: "events[0]: type: unknown event type 'nonsense'" };
        assert.deepEqual(await store.ingestBatch('gw-a', { stream: STREAM, first: 1, last: 1 }, [], [bad]), {
          status: 'ok',
          upTo: 1,
          inserted: 0,
          quarantined: 1,
          duplicates: 0,
        });
      });

      withStore('refuses an unregistered gateway and a batch whose events do not cover first..last', async (store) => {
        const batch = readings(1, 2);
        await assert.rejects(store.ingestBatch('gw-zzz', range(batch), batch, []), UnknownGatewayError);
        assert.deepEqual(await store.streams('gw-zzz'), []);
        await assert.rejects(store.ingestBatch('gw-a', { stream: STREAM, first: 1, last: 3 }, batch, []), /do not cover seq 1..3/);
        assert.deepEqual(await store.streams('gw-a'), []);
      });
    });

    describe('ingestBatches (group commit)', () => {
      withStore('commits batches of several gateways in one call, in order, each answered like ingestBatch', async (store) => {
        const a1 = readings(1, 3);
        const a2 = readings(4, 2);
        const b1 = [counts(1, 'loop-1', { '1': 2 })];
        const results = await store.ingestBatches([
          { gatewayId: 'gw-a', batch: range(a1), valid: a1, rejected: [] },
          { gatewayId: 'gw-b', batch: range(b1, 'stream-bbbb-0001'), valid: b1, rejected: [] },
          { gatewayId: 'gw-a', batch: range(a2), valid: a2, rejected: [] },
          { gatewayId: 'gw-a', batch: range(a2), valid: a2, rejected: [] },
        ]);
        assert.deepEqual(results, [
          { status: 'ok', upTo: 3, inserted: 3, quarantined: 0, duplicates: 0 },
          { status: 'ok', upTo: 1, inserted: 1, quarantined: 0, duplicates: 0 },
          { status: 'ok', upTo: 5, inserted: 2, quarantined: 0, duplicates: 0 },
          { status: 'ok', upTo: 5, inserted: 0, quarantined: 0, duplicates: 2 },
        ]);
        assert.deepEqual(await store.laneTotals('gw-b', 'loop-1'), { lanes: { '1': 2 }, total: 2 });
      });

      withStore('a failing batch rolls back alone: its neighbours in the group stay committed', async (store) => {
        const good = readings(1, 2);
        const alsoGood = [counts(1, 'loop-1', { '3': 4 })];
        const uncovered = readings(10, 3);
        const results = await store.ingestBatches([
          { gatewayId: 'gw-a', batch: range(good), valid: good, rejected: [] },
          { gatewayId: 'gw-nobody', batch: range(good), valid: good, rejected: [] },
          { gatewayId: 'gw-a', batch: { stream: 'stream-cccc-0001', first: 10, last: 13 }, valid: uncovered, rejected: [] },
          { gatewayId: 'gw-b', batch: range(alsoGood), valid: alsoGood, rejected: [] },
        ]);
        assert.deepEqual(results[0], { status: 'ok', upTo: 2, inserted: 2, quarantined: 0, duplicates: 0 });
        assert.ok(results[1] instanceof UnknownGatewayError, String(results[1]));
        assert.ok(results[2] instanceof RangeError && /do not cover seq 10..13/.test(results[2].message), String(results[2]));
        assert.deepEqual(results[3], { status: 'ok', upTo: 1, inserted: 1, quarantined: 0, duplicates: 0 });
        assert.equal((await store.events({ limit: 1000 })).length, 3, 'nothing of the failed batches was stored');
        assert.deepEqual((await store.streams('gw-a')).map((s) => s.stream), [STREAM]);
      });
    });

    describe('projections', () => {
      withStore('counts add up per lane, and a duplicate batch is counted once', async (store) => {
        const batch = [counts(1, 'loop-1', { '1': 3, '2': 1 }), counts(2, 'loop-1', { '1': 2, '3': 7 }), counts(3, 'loop-2', { '1': 100 })];
        await store.ingestBatch('gw-a', range(batch), batch, []);
        await store.ingestBatch('gw-a', range(batch), batch, []);
        const partlyNew = [counts(3, 'loop-2', { '1': 100 }), counts(4, 'loop-1', { '2': 1 })];
        await store.ingestBatch('gw-a', range(partlyNew), partlyNew, []);
        assert.deepEqual(await store.laneTotals('gw-a', 'loop-1'), { lanes: { '1': 5, '2': 2, '3': 7 }, total: 14 });
        assert.deepEqual(await store.laneTotals('gw-a', 'loop-2'), { lanes: { '1': 100 }, total: 100 });
        assert.deepEqual(await store.laneTotals('gw-b', 'loop-1'), { lanes: {}, total: 0 });
      });

      withStore('readings are queryable by device and time, newest first, with a limit', async (store) => {
        const batch = [
          reading(1, 'loop-1', { 'lane1.occupancy': 0.1 }, T0 + 1000),
          reading(2, 'loop-2', { 'lane1.occupancy': 0.9 }, T0 + 1500),
          reading(3, 'loop-1', { 'lane1.occupancy': 0.2, 'lane1.speed': 54.5 }, T0 + 2000),
          reading(4, 'loop-1', { 'lane1.occupancy': 0.3 }, T0 + 3000),
        ];
        await store.ingestBatch('gw-a', range(batch), batch, []);
        const all = await store.readings('gw-a', 'loop-1');
        assert.deepEqual(
          all.map((r) => r.seq),
          [4, 3, 1],
        );
        assert.deepEqual(all[1], {
          gatewayId: 'gw-a',
          deviceId: 'loop-1',
          stream: STREAM,
          seq: 3,
          ts: T0 + 2000,
          values: { 'lane1.occupancy': 0.2, 'lane1.speed': 54.5 },
        });
        assert.deepEqual(
          (await store.readings('gw-a', 'loop-1', { from: T0 + 1500, to: T0 + 2500 })).map((r) => r.seq),
          [3],
        );
        assert.deepEqual(
          (await store.readings('gw-a', 'loop-1', { from: T0 + 2000 })).map((r) => r.seq),
          [4, 3],
          'from is inclusive',
        );
        assert.deepEqual(
          (await store.readings('gw-a', 'loop-1', { to: T0 + 2000 })).map((r) => r.seq),
          [3, 1],
          'to is inclusive',
        );
        assert.deepEqual(
          (await store.readings('gw-a', 'loop-1', { limit: 1 })).map((r) => r.seq),
          [4],
        );
        assert.deepEqual(await store.readings('gw-b', 'loop-1'), []);
      });

      withStore('device.status sets the state and error; the device appears in the registry', async (store) => {
        const batch = [
          deviceStatus(1, 'loop-1', 'error', { code: 'ModbusTimeout', message: 'no answer in 1000 ms' }),
          deviceStatus(2, 'loop-2', 'unreachable', { code: 'ECONNREFUSED', message: 'refused' }),
        ];
        await store.ingestBatch('gw-a', range(batch), batch, [], T0 + 60);
        const loop1 = await store.getDevice('gw-a', 'loop-1');
        assert.equal(loop1?.state, 'error');
        assert.deepEqual(loop1?.lastError, { code: 'ModbusTimeout', message: 'no answer in 1000 ms' });
        assert.equal(loop1?.profile, null, 'no birth described it yet');
        assert.equal((await store.getDevice('gw-a', 'loop-2'))?.state, 'unreachable');

        const recovered = [deviceStatus(3, 'loop-1', 'ok')];
        await store.ingestBatch('gw-a', range(recovered), recovered, [], T0 + 70);
        const again = await store.getDevice('gw-a', 'loop-1');
        assert.equal(again?.state, 'ok');
        assert.equal(again?.lastError, null);
        assert.equal(again?.updatedAt, T0 + 70);

        await store.applyBirth('gw-a', birth([{ id: 'loop-1', profile: 'loop/acme-4', kind: 'loop-detector' }]), T0 + 80);
        const described = await store.getDevice('gw-a', 'loop-1');
        assert.equal(described?.state, 'ok', 'a birth keeps the reported state');
        assert.equal(described?.kind, 'loop-detector');

        // A resent old status must not overwrite the newer state.
        await store.ingestBatch('gw-a', range(batch), batch, [], T0 + 90);
        assert.equal((await store.getDevice('gw-a', 'loop-1'))?.state, 'ok');
      });
    });

    describe('queries', () => {
      withStore('events filter by gateway, device, type and time, newest first, with a limit', async (store) => {
        const a = [
          counts(1, 'loop-1', { '1': 1 }),
          reading(2, 'loop-1', { x: 1 }),
          deviceStatus(3, 'loop-2', 'ok'),
          reading(4, 'loop-2', { x: 2 }),
        ];
        await store.ingestBatch('gw-a', range(a), a, [], T0 + 99);
        const b = [reading(1, 'loop-1', { x: 3 })];
        await store.ingestBatch('gw-b', range(b), b, []);
        const seqs = (events: { gatewayId: string; seq: number }[]) => events.map((e) => `${e.gatewayId}:${e.seq}`);

        assert.deepEqual(seqs(await store.events({ gatewayId: 'gw-a' })), ['gw-a:4', 'gw-a:3', 'gw-a:2', 'gw-a:1']);
        assert.deepEqual(seqs(await store.events({ gatewayId: 'gw-a', device: 'loop-1' })), ['gw-a:2', 'gw-a:1']);
        assert.deepEqual(seqs(await store.events({ type: 'reading' })), ['gw-a:4', 'gw-a:2', 'gw-b:1']);
        assert.deepEqual(seqs(await store.events({ gatewayId: 'gw-a', from: T0 + 2, to: T0 + 3 })), ['gw-a:3', 'gw-a:2']);
        assert.deepEqual(seqs(await store.events({ limit: 2 })), ['gw-a:4', 'gw-a:3']);
        assert.deepEqual(await store.events({ gatewayId: 'gw-zzz' }), []);

        const [first] = await store.events({ gatewayId: 'gw-a', type: 'counts' });
        assert.deepEqual(first, {
          gatewayId: 'gw-a',
          stream: STREAM,
          seq: 1,
          ts: T0 + 1,
          type: 'counts',
          device: 'loop-1',
          data: { lanes: { '1': 1 } },
          receivedAt: T0 + 99,
        });
      });

      withStore('rejected events filter by gateway and time', async (store) => {
        const reject = (seq: number): RejectedEventInput => ({ seq, ts: T0 + seq, type: 'x', data: { n: seq }, reason: `bad ${seq}` });
        await store.ingestBatch('gw-a', { stream: STREAM, first: 1, last: 3 }, [], [reject(1), reject(2), reject(3)]);
        await store.ingestBatch('gw-b', { stream: STREAM, first: 1, last: 1 }, [], [reject(1)]);
        assert.deepEqual(
          (await store.rejectedEvents({ gatewayId: 'gw-a', from: T0 + 2 })).map((e) => e.reason),
          ['bad 3', 'bad 2'],
        );
        assert.equal((await store.rejectedEvents()).length, 4);
        assert.equal((await store.rejectedEvents({ limit: 1 })).length, 1);
      });
    });
  });
}
