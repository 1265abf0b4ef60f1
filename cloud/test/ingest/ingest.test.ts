/**
 * Ingest through the whole embedded chain: mqtt.js gateways -> aedes -> ingest client -> SQLite,
 * and SyncedAcks back. Checks the DESIGN invariants: committed before acked, nothing counted twice,
 * bad input rejected with a clear error while other gateways keep being served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { topicFor, type EventBatch } from '@quanlink/contracts';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import {
  AckInbox,
  batchOf,
  captureLogger,
  connectGateway,
  countsEvent,
  newStreamId,
  publishBatch,
  readingEvent,
  waitFor,
} from '../helpers.js';

describe('ingest', () => {
  const log = captureLogger();
  let cloud: RunningCloud;
  const clients: MqttClient[] = [];
  const passwords = new Map<string, string>();

  /** A connected gateway with its ack inbox. */
  async function gateway(id: string): Promise<{ client: MqttClient; inbox: AckInbox }> {
    if (!passwords.has(id)) passwords.set(id, (await registerGateway(cloud.store, id)).password);
    const client = await connectGateway(cloud.mqttUrl, id, passwords.get(id)!);
    clients.push(client);
    return { client, inbox: await AckInbox.open(client, id) };
  }

  before(async () => {
    cloud = await startCloud({ logger: log.logger });
  });
  after(async () => {
    for (const client of clients) client.end(true);
    await cloud.close();
  });

  test('a batch is committed, then acknowledged with upTo = its last seq', async () => {
    const { client, inbox } = await gateway('gw-commit');
    const stream = newStreamId();
    await publishBatch(client, 'gw-commit', batchOf(stream, [countsEvent(1, 'loop-1', { '1': 2 }), countsEvent(2, 'loop-1', { '1': 3 }), readingEvent(3, 'loop-1', { 'lane1.occupancy': 0.25 })]));
    const ack = await inbox.nth(1);
    // When the ack arrives the events are already in the store.
    const stored = await cloud.store.events({ gatewayId: 'gw-commit', limit: 100 });
    assert.deepEqual(ack, { v: 1, stream, upTo: 3, status: 'ok' });
    assert.deepEqual(
      stored.map((e) => e.seq),
      [3, 2, 1],
    );
    assert.deepEqual(await cloud.store.laneTotals('gw-commit', 'loop-1'), { lanes: { '1': 5 }, total: 5 });
    assert.equal((await cloud.store.readings('gw-commit', 'loop-1'))[0]?.values['lane1.occupancy'], 0.25);
  });

  test('resending the same batch inserts nothing, acks again with the same upTo, and lane totals count once', async () => {
    const { client, inbox } = await gateway('gw-resend');
    const batch = batchOf(newStreamId(), [countsEvent(1, 'loop-1', { '1': 4, '2': 1 }), countsEvent(2, 'loop-1', { '1': 6 })]);
    const before = { ...cloud.ingest.counters };
    await publishBatch(client, 'gw-resend', batch);
    await publishBatch(client, 'gw-resend', batch);
    await publishBatch(client, 'gw-resend', batch);
    const acks = [await inbox.nth(1), await inbox.nth(2), await inbox.nth(3)];
    for (const ack of acks) assert.deepEqual(ack, { v: 1, stream: batch.stream, upTo: 2, status: 'ok' });
    assert.equal((await cloud.store.events({ gatewayId: 'gw-resend', limit: 100 })).length, 2);
    assert.deepEqual(await cloud.store.laneTotals('gw-resend', 'loop-1'), { lanes: { '1': 10, '2': 1 }, total: 11 });
    assert.equal(cloud.ingest.counters.eventsInserted - before.eventsInserted, 2);
    assert.equal(cloud.ingest.counters.eventsDuplicate - before.eventsDuplicate, 4);
  });

  test("a batch after a gap is answered 'gap' with upTo = synced, commits nothing, and the resend from synced+1 is accepted", async () => {
    const { client, inbox } = await gateway('gw-gap');
    const stream = newStreamId();
    await publishBatch(client, 'gw-gap', batchOf(stream, [countsEvent(1, 'loop-1', { '1': 1 }), countsEvent(2, 'loop-1', { '1': 1 })]));
    assert.equal((await inbox.nth(1)).upTo, 2);
    await publishBatch(client, 'gw-gap', batchOf(stream, [countsEvent(5, 'loop-1', { '1': 50 })]));
    assert.deepEqual(await inbox.nth(2), { v: 1, stream, upTo: 2, status: 'gap' });
    assert.deepEqual(await cloud.store.laneTotals('gw-gap', 'loop-1'), { lanes: { '1': 2 }, total: 2 });

    await publishBatch(client, 'gw-gap', batchOf(stream, [3, 4, 5].map((seq) => countsEvent(seq, 'loop-1', { '1': 10 }))));
    assert.deepEqual(await inbox.nth(3), { v: 1, stream, upTo: 5, status: 'ok' });
    assert.deepEqual(await cloud.store.laneTotals('gw-gap', 'loop-1'), { lanes: { '1': 32 }, total: 32 });
  });

  test('an unknown stream starts fresh from its first seq (new outbox, or a cloud that lost its store)', async () => {
    const { client, inbox } = await gateway('gw-fresh');
    const stream = newStreamId();
    await publishBatch(client, 'gw-fresh', batchOf(stream, [countsEvent(1000, 'loop-1', { '1': 1 }), countsEvent(1001, 'loop-1', { '1': 1 })]));
    assert.deepEqual(await inbox.nth(1), { v: 1, stream, upTo: 1001, status: 'ok' });
    const [record] = await cloud.store.streams('gw-fresh');
    assert.equal(record?.firstSeq, 1000);
  });

  test('batches published back to back are handled in order (no false gaps)', async () => {
    const { client, inbox } = await gateway('gw-order');
    const stream = newStreamId();
    const batches: EventBatch[] = [];
    for (let b = 0; b < 30; b++) {
      batches.push(batchOf(stream, Array.from({ length: 20 }, (_, i) => countsEvent(b * 20 + i + 1, 'loop-1', { '1': 1 }))));
    }
    await Promise.all(batches.map((batch) => publishBatch(client, 'gw-order', batch)));
    await inbox.nth(30);
    assert.deepEqual(
      inbox.acks.map((ack) => [ack.status, ack.upTo]),
      batches.map((batch) => ['ok', batch.last]),
    );
    assert.equal((await cloud.store.laneTotals('gw-order', 'loop-1')).total, 600);
  });

  describe('malformed input is rejected and logged; other gateways keep being served', () => {
    test('bad JSON, a batch missing a field, and a batch whose seqs skip are dropped with gateway, channel, path and problem', async () => {
      const bad = await gateway('gw-bad');
      const good = await gateway('gw-good');
      const malformedBefore = cloud.ingest.counters.malformed;
      const stream = newStreamId();
      const valid = batchOf(stream, [countsEvent(1, 'loop-1', { '1': 1 })]);
      const { stream: _omitted, ...missingStream } = valid;
      const skipping = { ...batchOf(stream, [countsEvent(1, 'loop-1', { '1': 1 }), countsEvent(3, 'loop-1', { '1': 1 })]) };

      await publishBatch(bad.client, 'gw-bad', '{"v":1,"stream":');
      await publishBatch(bad.client, 'gw-bad', JSON.stringify(missingStream));
      await publishBatch(bad.client, 'gw-bad', JSON.stringify(skipping));
      await publishBatch(bad.client, 'gw-bad', Buffer.from([0xff, 0xfe, 0x00]).toString('latin1'));
      await publishBatch(good.client, 'gw-good', batchOf(newStreamId(), [countsEvent(1, 'loop-9', { '3': 7 })]));

      assert.equal((await good.inbox.nth(1)).status, 'ok', "the other gateway's batch is committed");
      assert.deepEqual(await cloud.store.laneTotals('gw-good', 'loop-9'), { lanes: { '3': 7 }, total: 7 });
      assert.equal(cloud.ingest.counters.malformed - malformedBefore, 4);
      assert.equal(bad.inbox.acks.length, 0, 'a malformed batch is not acknowledged');
      assert.deepEqual(await cloud.store.events({ gatewayId: 'gw-bad' }), []);

      const warnings = log.matching({ gateway: 'gw-bad', channel: 'events', msg: 'malformed payload dropped' });
      assert.equal(warnings.length, 4);
      assert.equal(warnings[0]?.path, '(payload)');
      assert.match(String(warnings[0]?.problem), /not valid JSON/);
      assert.equal(warnings[1]?.path, 'stream');
      assert.match(String(warnings[1]?.problem), /required/i);
      assert.equal(warnings[2]?.path, 'events[1].seq');
      assert.ok(warnings.every((w) => w.level === 40), 'logged as warnings');
      assert.equal(bad.client.connected, true, 'the broker connection stays up');
    });

    test('an event with bad data is quarantined with the reason, listed in the ack, and its neighbours are committed', async () => {
      const { client, inbox } = await gateway('gw-quarantine');
      const stream = newStreamId();
      const batch = batchOf(stream, [countsEvent(1, 'loop-1', { '1': 2 }), countsEvent(2, 'loop-1', { '1': 2 }), countsEvent(3, 'loop-1', { '1': 2 })]);
      (batch.events[1]!.data as { lanes: Record<string, unknown> }).lanes['1'] = 'many';
      const unknownType = { seq: 4, ts: 1_700_000_000_004, type: 'weather', device: 'loop-1', data: {} };
      const noDevice = { seq: 5, ts: 1_700_000_000_005, type: 'counts', data: { lanes: { '1': 1 } } };
      // A broken envelope (device id with a topic wildcard, no ts) must not poison the batch either.
      const badEnvelope = { seq: 6, type: 'counts', device: 'loop/#', data: { lanes: { '1': 1 } } };
      const payload = { ...batch, last: 6, events: [...batch.events, unknownType, noDevice, badEnvelope] };
      await publishBatch(client, 'gw-quarantine', JSON.stringify(payload));

      const ack = await inbox.nth(1);
      assert.equal(ack.status, 'ok');
      assert.equal(ack.upTo, 6, 'rejected events count as synced: they never block the stream');
      assert.deepEqual(
        ack.rejected?.map((r) => r.seq),
        [2, 4, 5, 6],
      );
      assert.match(ack.rejected![0]!.error, /^events\[1\]: data\.lanes\[1\]: Expected integer/);
      assert.match(ack.rejected![1]!.error, /unknown event type 'weather'/);
      assert.match(ack.rejected![2]!.error, /events\[4\]: device: is required for 'counts' events/);
      assert.match(ack.rejected![3]!.error, /^events\[5\]: (ts|device): /);
      assert.deepEqual(await cloud.store.laneTotals('gw-quarantine', 'loop-1'), { lanes: { '1': 4 }, total: 4 });
      const quarantined = await cloud.store.rejectedEvents({ gatewayId: 'gw-quarantine' });
      assert.deepEqual(
        quarantined.map((e) => e.seq).sort(),
        [2, 4, 5, 6],
      );
      assert.equal(log.matching({ gateway: 'gw-quarantine', msg: 'events quarantined', rejected: 4 }).length, 1);
    });

    test('malformed status, birth and telemetry are dropped and logged with their channel', async () => {
      const { client } = await gateway('gw-lifecycle-bad');
      await client.publishAsync(topicFor('gw-lifecycle-bad', 'status'), JSON.stringify({ v: 1, state: 'sleeping', ts: 1 }), { qos: 1 });
      await client.publishAsync(topicFor('gw-lifecycle-bad', 'birth'), JSON.stringify({ v: 1, ts: 1 }), { qos: 1 });
      await client.publishAsync(topicFor('gw-lifecycle-bad', 'telemetry'), 'null', { qos: 1 });
      await waitFor(() => log.matching({ gateway: 'gw-lifecycle-bad', msg: 'malformed payload dropped' }).length === 3, 'three warnings');
      const [status, birth, telemetry] = log.matching({ gateway: 'gw-lifecycle-bad', msg: 'malformed payload dropped' });
      assert.equal(status?.channel, 'status');
      assert.equal(status?.path, 'state');
      assert.equal(birth?.channel, 'birth');
      assert.equal(telemetry?.channel, 'telemetry');
      assert.equal((await cloud.store.getGateway('gw-lifecycle-bad'))?.online, false);
    });
  });

  test('status, birth and telemetry update the registry; an unclean drop publishes the offline will', async () => {
    const id = 'gw-lifecycle';
    const { password } = await registerGateway(cloud.store, id);
    const offline = { v: 1, state: 'offline', ts: Date.now(), reason: 'connection lost' };
    const client = await connectGateway(cloud.mqttUrl, id, password, {
      will: { topic: topicFor(id, 'status'), payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true },
    });
    clients.push(client);
    const stream = newStreamId();
    await client.publishAsync(topicFor(id, 'status'), JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await client.publishAsync(
      topicFor(id, 'birth'),
      JSON.stringify({
        v: 1,
        ts: Date.now(),
        agentVersion: '0.3.0',
        startedAt: Date.now() - 5000,
        stream,
        devices: [
          { id: 'loop-1', profile: 'loop/acme-4', kind: 'loop-detector', endpoint: 'modbus-tcp://10.0.0.5:502/1' },
          { id: 'vms-1', profile: 'vms/acme', kind: 'vms' },
        ],
      }),
      { qos: 1, retain: true },
    );
    const telemetry = { v: 1, ts: Date.now(), agentVersion: '0.3.0', uptimeS: 5, cpuPercent: 1, memRssBytes: 1000, outbox: { depth: 0, lastSeq: 0 }, link: { reconnects: 0 } };
    await client.publishAsync(topicFor(id, 'telemetry'), JSON.stringify(telemetry), { qos: 1 });
    await waitFor(async () => (await cloud.store.getGateway(id))?.telemetry !== null, 'telemetry stored');

    const gateway = await cloud.store.getGateway(id);
    assert.equal(gateway?.online, true);
    assert.equal(gateway?.agentVersion, '0.3.0');
    assert.deepEqual(gateway?.telemetry, telemetry);
    assert.deepEqual(
      (await cloud.store.listDevices({ gatewayId: id })).map((d) => [d.deviceId, d.kind, d.removed]),
      [
        ['loop-1', 'loop-detector', false],
        ['vms-1', 'vms', false],
      ],
    );

    client.stream.destroy();
    await waitFor(async () => (await cloud.store.getGateway(id))?.online === false, 'offline through the will');
    assert.equal((await cloud.store.getGateway(id))?.lastStatus?.reason, 'connection lost');
  });
});
