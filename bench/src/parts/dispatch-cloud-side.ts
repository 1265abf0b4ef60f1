/**
 * The cloud side of the dispatch benchmark, in its own process.
 * Mode `raw`: a bare aedes broker (the baseline's request/response goes through it).
 * Mode `quanlink DATA_DIR GATEWAYS`: the real cloud (embedded broker with auth and ACLs, ingest,
 * SQLite store, dispatcher, HTTP API, WebSocket) with GATEWAYS gateways registered.
 * Talks to the parent over IPC: sends {ready, mqttUrl, httpUrl?, adminToken?, gateways?}.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import pino from 'pino';
import { registerGateway, startCloud } from '@quanlink/cloud';

const [mode, dataDir, count] = process.argv.slice(2);
const send = (msg: object) => process.send!(msg);

if (mode === 'raw') {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  send({ ready: true, mqttUrl: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}` });
} else if (mode === 'quanlink') {
  const cloud = await startCloud({ dataDir: dataDir!, logger: pino({ level: 'warn' }), adminToken: 'bench-admin-token-0123456789' });
  const gateways: { id: string; password: string }[] = [];
  for (let i = 0; i < Number(count); i++) {
    const id = `bench-gw-${String(i).padStart(3, '0')}`;
    gateways.push({ id, password: (await registerGateway(cloud.store, id, id)).password });
  }
  send({ ready: true, mqttUrl: cloud.mqttUrl, httpUrl: cloud.httpUrl, adminToken: cloud.adminToken, gateways });
} else {
  console.error('usage: dispatch-cloud-side.ts raw | quanlink DATA_DIR GATEWAYS');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
