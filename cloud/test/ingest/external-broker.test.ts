/**
 * Ingest against an external broker: the Mosquitto on 127.0.0.1:1883 (CI starts one). That broker
 * has no Quanlink ACLs, so the cloud's own check (registered gateways only) is what protects the store.
 * Gateway ids are unique per run so that parallel runs sharing the broker do not collide.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { registerGateway, startCloud, type RunningCloud } from '../../src/cloud.js';
import { AckInbox, batchOf, captureLogger, connectClient, countsEvent, newStreamId, publishBatch, waitFor } from '../helpers.js';

const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

describe('ingest with an external broker (Mosquitto on 127.0.0.1:1883)', () => {
  const log = captureLogger();
  const runId = randomBytes(4).toString('hex');
  const registered = `t-ext-${runId}`;
  const stranger = `t-ext-stranger-${runId}`;
  let cloud: RunningCloud;
  const clients: MqttClient[] = [];

  before(async () => {
    cloud = await startCloud({ externalMqttUrl: MOSQUITTO_URL, logger: log.logger });
    await registerGateway(cloud.store, registered);
  });
  after(async () => {
    for (const client of clients) await client.endAsync();
    await cloud.close();
  });

  test('startCloud embeds no broker and reports the external URL', async () => {
    assert.equal(cloud.mqttUrl, MOSQUITTO_URL);
    const health = (await (await fetch(`${cloud.httpUrl}/api/v1/health`)).json()) as { mqtt: { mode: string; ingestConnected: boolean } };
    assert.deepEqual([health.mqtt.mode, health.mqtt.ingestConnected], ['external', true]);
  });

  test("a registered gateway's batch is committed and acknowledged through Mosquitto", async () => {
    const client = await connectClient(MOSQUITTO_URL, { clientId: registered });
    clients.push(client);
    const inbox = await AckInbox.open(client, registered);
    const stream = newStreamId();
    await publishBatch(client, registered, batchOf(stream, [countsEvent(1, 'loop-1', { '1': 3 }), countsEvent(2, 'loop-1', { '2': 4 })]));
    assert.deepEqual(await inbox.nth(1), { v: 1, stream, upTo: 2, status: 'ok' });
    assert.deepEqual(await cloud.store.laneTotals(registered, 'loop-1'), { lanes: { '1': 3, '2': 4 }, total: 7 });
  });

  test('a batch from an unregistered gateway is dropped, logged, and not acknowledged', async () => {
    const client = await connectClient(MOSQUITTO_URL, { clientId: stranger });
    clients.push(client);
    const inbox = await AckInbox.open(client, stranger);
    await publishBatch(client, stranger, batchOf(newStreamId(), [countsEvent(1, 'loop-1', { '1': 1 })]));
    await waitFor(() => log.matching({ gateway: stranger, msg: 'message from an unregistered gateway dropped' }).length === 1, 'drop logged');
    // A round trip through the registered gateway: any ack to the stranger would have been sent before this one.
    const witness = await connectClient(MOSQUITTO_URL, { clientId: `${registered}-witness` });
    clients.push(witness);
    const witnessInbox = await AckInbox.open(witness, registered);
    await publishBatch(witness, registered, batchOf(newStreamId(), [countsEvent(1, 'loop-2', { '1': 1 })]));
    await witnessInbox.nth(1);
    assert.deepEqual(await cloud.store.events({ gatewayId: stranger }), []);
    assert.equal(inbox.acks.length, 0);
  });
});
