/**
 * Ingest's promise to the edge: the SyncedAck leaves only after the store has committed, and a store
 * failure is never acknowledged (the edge keeps the events and resends). The real store is wrapped
 * to slow down or fail ingestBatches; broker, ingest and SQLite are real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createServiceAccount, startBroker, type EmbeddedBroker } from '../../src/broker/broker.js';
import { startIngest, type Ingest } from '../../src/ingest/ingest.js';
import { registerGateway } from '../../src/registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { CloudStore } from '../../src/store/types.js';
import { AckInbox, batchOf, captureLogger, connectGateway, countsEvent, newStreamId, publishBatch, waitFor } from '../helpers.js';

/** The real store, with ingestBatches delayed and optionally failing, recording when each commit finished. */
function instrumented(store: SqliteStore) {
  const control = { delayMs: 0, failNext: false, committedAt: [] as number[] };
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'ingestBatches') {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: Parameters<CloudStore['ingestBatches']>) => {
        await new Promise((resolve) => setTimeout(resolve, control.delayMs));
        if (control.failNext) {
          control.failNext = false;
          throw new Error('disk I/O error (injected)');
        }
        const result = await target.ingestBatches(...args);
        control.committedAt.push(performance.now());
        return result;
      };
    },
  }) as CloudStore;
  return { wrapped, control };
}

describe('ingest acknowledgement ordering', () => {
  const log = captureLogger();
  const store = new SqliteStore(':memory:');
  const { wrapped, control } = instrumented(store);
  let broker: EmbeddedBroker;
  let ingest: Ingest;
  let client: MqttClient;
  let inbox: AckInbox;
  const ackArrivedAt: number[] = [];

  before(async () => {
    const { password } = await registerGateway(store, 'gw-order');
    const service = createServiceAccount();
    broker = await startBroker({ store: wrapped, logger: log.logger, serviceAccount: service });
    ingest = await startIngest({
      url: broker.url,
      username: service.username,
      password: service.password,
      clientId: `${service.clientIdPrefix}-ack-test`,
      store: wrapped,
      logger: log.logger,
    });
    client = await connectGateway(broker.url, 'gw-order', password);
    inbox = await AckInbox.open(client, 'gw-order');
    client.on('message', () => ackArrivedAt.push(performance.now()));
  });
  after(async () => {
    await client.endAsync();
    await ingest.close();
    await broker.close();
    await store.close();
  });

  test('with a slow store, the ack arrives only after the commit finished', async () => {
    control.delayMs = 200;
    const sentAt = performance.now();
    await publishBatch(client, 'gw-order', batchOf(newStreamId(), [countsEvent(1, 'loop-1', { '1': 1 })]));
    await inbox.nth(1);
    assert.equal(control.committedAt.length, 1);
    assert.ok(control.committedAt[0]! - sentAt >= 190, 'the store really was slow');
    assert.ok(ackArrivedAt[0]! >= control.committedAt[0]!, 'ack after commit');
    control.delayMs = 0;
  });

  test('a store failure is logged and not acknowledged; ingest keeps serving and the resent batch is committed', async () => {
    const stream = newStreamId();
    const batch = batchOf(stream, [countsEvent(1, 'loop-2', { '1': 5 })]);
    control.failNext = true;
    await publishBatch(client, 'gw-order', batch);
    await waitFor(() => ingest.counters.storeErrors === 1, 'store error counted');
    const [line] = log.matching({ gateway: 'gw-order', operation: 'ingest batch', msg: 'batch not committed; not acknowledged, the gateway will resend' });
    assert.ok(line, 'logged');
    assert.equal(line.level, 50);
    assert.equal(inbox.acks.length, 1, 'no ack for the failed batch');

    await publishBatch(client, 'gw-order', batch);
    assert.deepEqual(await inbox.nth(2), { v: 1, stream, upTo: 1, status: 'ok' });
    assert.deepEqual(await store.laneTotals('gw-order', 'loop-2'), { lanes: { '1': 5 }, total: 5 });
  });
});
