/**
 * The embedded broker's authentication and ACL, through real MQTT connections (mqtt.js clients
 * acting as gateways) and the real ingest client. Return codes: MQTT 3.1.1 §3.2.2.3.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { topicFor } from '@quanlink/contracts';
import { createServiceAccount, startBroker, type EmbeddedBroker, type ServiceAccount } from '../../src/broker/broker.js';
import { startIngest, type Ingest } from '../../src/ingest/ingest.js';
import { registerGateway } from '../../src/registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import {
  AckInbox,
  batchOf,
  captureLogger,
  closedByBroker,
  connectGateway,
  countsEvent,
  newStreamId,
  publishBatch,
  refusedCode,
  subscribeGrants,
  waitFor,
} from '../helpers.js';

const BAD_USERNAME_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;

describe('embedded broker', () => {
  const log = captureLogger();
  const store = new SqliteStore(':memory:');
  let service: ServiceAccount;
  let broker: EmbeddedBroker;
  let ingest: Ingest;
  let passwordA: string;
  let passwordB: string;
  const clients: MqttClient[] = [];
  const gateway = async (id: string, password: string, options = {}) => {
    const client = await connectGateway(broker.url, id, password, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    passwordA = (await registerGateway(store, 'gw-a')).password;
    passwordB = (await registerGateway(store, 'gw-b')).password;
    service = createServiceAccount();
    broker = await startBroker({ store, logger: log.logger, serviceAccount: service });
    ingest = await startIngest({
      url: broker.url,
      username: service.username,
      password: service.password,
      clientId: `${service.clientIdPrefix}-test`,
      store,
      logger: log.logger,
    });
  });

  after(async () => {
    for (const client of clients) client.end(true);
    await ingest.close();
    await broker.close();
    await store.close();
  });

  describe('authentication (MQTT 3.1.1 §3.1.3.4, §3.1.3.5, §3.2.2.3)', () => {
    test('a registered gateway with its password connects', async () => {
      const client = await gateway('gw-a', passwordA);
      assert.equal(client.connected, true);
    });

    test('a wrong password is refused with CONNACK 4 and logged without the password', async () => {
      const wrong = 'not-the-password-123';
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-a', username: 'gw-a', password: wrong }), BAD_USERNAME_OR_PASSWORD);
      const [line] = log.matching({ gateway: 'gw-a', operation: 'connect', reason: 'wrong password' });
      assert.ok(line, 'the refusal is logged with the gateway and the operation');
      assert.ok(!log.lines.some((l) => JSON.stringify(l).includes(wrong)), 'the password never reaches the log');
    });

    test('another gateway\'s password is refused', async () => {
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-a', username: 'gw-a', password: passwordB }), BAD_USERNAME_OR_PASSWORD);
    });

    test('an unknown gateway and a connection without credentials are refused with CONNACK 4', async () => {
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-zzz', username: 'gw-zzz', password: passwordA }), BAD_USERNAME_OR_PASSWORD);
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-a' }), BAD_USERNAME_OR_PASSWORD);
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-a', username: 'gw-a' }), BAD_USERNAME_OR_PASSWORD);
    });

    test('a client id that differs from the gateway id is refused with CONNACK 2', async () => {
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-b', username: 'gw-a', password: passwordA }), IDENTIFIER_REJECTED);
      assert.equal(await refusedCode(broker.url, { clientId: 'gw-a-2', username: 'gw-a', password: passwordA }), IDENTIFIER_REJECTED);
      assert.ok(log.matching({ gateway: 'gw-a', operation: 'connect', returnCode: IDENTIFIER_REJECTED }).length >= 2);
    });

    test('the service account needs its per-process password and its client id prefix', async () => {
      assert.equal(
        await refusedCode(broker.url, { clientId: `${service.clientIdPrefix}-x`, username: service.username, password: 'guess-guess-guess' }),
        BAD_USERNAME_OR_PASSWORD,
      );
      assert.equal(
        await refusedCode(broker.url, { clientId: 'gw-a', username: service.username, password: service.password }),
        IDENTIFIER_REJECTED,
        'the service account cannot take over a gateway session',
      );
    });
  });

  describe('topic ACL', () => {
    test("a gateway publishing under another gateway's prefix is disconnected, logged, and ingest never sees it", async () => {
      const intruder = await gateway('gw-a', passwordA);
      const closed = closedByBroker(intruder, 'the forged publish was not denied');
      const forged = batchOf(newStreamId(), [countsEvent(1, 'loop-1', { '1': 999 })]);
      intruder.publish(topicFor('gw-b', 'events'), JSON.stringify(forged), { qos: 1 });
      await closed;
      const denial = log.matching({ gateway: 'gw-a', topic: topicFor('gw-b', 'events'), operation: 'publish' });
      assert.equal(denial.length, 1, 'denial logged with gateway, topic and operation');

      // gw-b's own batch, published afterwards, is committed and acknowledged: ingest has drained everything before it.
      const victim = await gateway('gw-b', passwordB);
      const inbox = await AckInbox.open(victim, 'gw-b');
      const genuine = batchOf(newStreamId(), [countsEvent(1, 'loop-1', { '1': 1 })]);
      await publishBatch(victim, 'gw-b', genuine);
      assert.equal((await inbox.nth(1)).stream, genuine.stream);
      assert.deepEqual(await store.laneTotals('gw-b', 'loop-1'), { lanes: { '1': 1 }, total: 1 }, 'the forged 999 never counted');
      assert.deepEqual(
        (await store.streams('gw-b')).map((s) => s.stream),
        [genuine.stream],
      );
    });

    test('a gateway may not publish on its own downlink (it cannot forge its acknowledgements) nor outside the topic map', async () => {
      for (const topic of [topicFor('gw-a', 'synced'), topicFor('gw-a', 'cmd'), 'quanlink/v1/gw/gw-a/other', '$SYS/x', 'anything']) {
        const client = await gateway('gw-a', passwordA);
        const closed = closedByBroker(client, `publish on ${topic} was not denied`);
        client.publish(topic, '{}', { qos: 1 });
        await closed;
        assert.equal(log.matching({ gateway: 'gw-a', topic, operation: 'publish' }).length, 1, `publish on ${topic} denied`);
      }
    });

    test('a gateway may publish on each of its own uplink channels', async () => {
      const client = await gateway('gw-a', passwordA);
      for (const channel of ['status', 'birth', 'events', 'cmd/result', 'telemetry'] as const) {
        // Payload content does not matter to the ACL; ingest drops it as malformed.
        await client.publishAsync(topicFor('gw-a', channel), '{}', { qos: 1 });
      }
      assert.equal(client.connected, true);
    });

    test("subscribing to another gateway's synced topic, or with a wildcard, is refused (SUBACK 0x80) and logged", async () => {
      const client = await gateway('gw-a', passwordA);
      const filters = [
        topicFor('gw-b', 'synced'),
        'quanlink/v1/gw/+/synced',
        'quanlink/v1/gw/gw-a/#',
        topicFor('gw-a', 'events'),
        topicFor('gw-a', 'synced'),
        topicFor('gw-a', 'cmd'),
      ];
      assert.deepEqual(await subscribeGrants(client, filters), [128, 128, 128, 128, 1, 1]);
      assert.equal(log.matching({ gateway: 'gw-a', topic: topicFor('gw-b', 'synced'), operation: 'subscribe' }).length, 1);
      assert.equal(client.connected, true, 'a refused subscription keeps the connection');
    });

    test("a last will on another gateway's topic is not published; a gateway's own will is", async () => {
      const { password } = await registerGateway(store, 'gw-will');
      const statusTopic = (id: string) => topicFor(id, 'status');
      await store.setGatewayStatus('gw-b', { v: 1, state: 'online', ts: 1 }, Date.now());
      const offline = JSON.stringify({ v: 1, state: 'offline', ts: 2, reason: 'will' });

      const forger = await gateway('gw-will', password, { will: { topic: statusTopic('gw-b'), payload: Buffer.from(offline), qos: 1, retain: false } });
      forger.stream.destroy(); // an unclean drop makes the broker publish the will
      await waitFor(() => log.matching({ gateway: 'gw-will', topic: statusTopic('gw-b'), operation: 'publish' }).length === 1, 'will denial');
      assert.equal((await store.getGateway('gw-b'))?.online, true, "gw-b's status untouched");

      await store.setGatewayStatus('gw-will', { v: 1, state: 'online', ts: 1 }, Date.now());
      const honest = await gateway('gw-will', password, { will: { topic: statusTopic('gw-will'), payload: Buffer.from(offline), qos: 1, retain: true } });
      honest.stream.destroy();
      await waitFor(async () => (await store.getGateway('gw-will'))?.online === false, 'gw-will offline through its will');
    });
  });
});
