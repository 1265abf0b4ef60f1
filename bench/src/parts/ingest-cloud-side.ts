/**
 * The cloud side of the ingest benchmark, in its own process (as it is on its own machine in the
 * field). Mode `raw`: a bare aedes broker and one QoS 1 subscriber that counts batches.
 * Mode `quanlink`: the real cloud (embedded aedes with auth and ACLs, ingest, SQLite store).
 * Talks to the parent over IPC: sends {ready, url, password?}, then {received} (raw) when done.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { registerGateway, startCloud } from '@quanlink/cloud';

const [mode, arg] = process.argv.slice(2);
const send = (msg: object) => process.send!(msg);

if (mode === 'raw') {
  const expected = Number(arg);
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const sub = await mqtt.connectAsync(url, { clientId: 'bench-sub' });
  await sub.subscribeAsync('bench/events', { qos: 1 });
  let received = 0;
  sub.on('message', () => {
    if (++received === expected) send({ received });
  });
  send({ ready: true, url });
} else if (mode === 'quanlink') {
  const cloud = await startCloud({ dataDir: arg!, logger: pino({ level: 'warn' }) });
  const { password } = await registerGateway(cloud.store, 'bench-gw', 'bench');
  process.on('message', async (msg: { stats?: boolean }) => {
    if (msg.stats) {
      const [stream] = await cloud.store.streams('bench-gw');
      send({ syncedSeq: stream?.syncedSeq ?? 0 });
    }
  });
  send({ ready: true, url: cloud.mqttUrl, password });
} else {
  console.error(`usage: ingest-cloud-side.ts raw EXPECTED_MESSAGES | quanlink DATA_DIR`);
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
