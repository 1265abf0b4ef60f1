/**
 * The gateways of the dispatch benchmark, in their own process (as the boxes are in the field).
 * Mode `bare URL N`: N bare MQTT clients that answer every request on bench/gw/{i}/req with the
 * same payload on bench/gw/{i}/res (the baseline: a request/response round trip, nothing else).
 * Mode `agents URL GATEWAYS_JSON SCREENS DIR`: one real EdgeAgent per gateway (outbox, cloud link,
 * sign commands, active set, arbitration, screen controllers), each screen a simulated sign
 * (simulators' VmsScreen) reached through the in-process driver instead of a socket.
 * Sends {ready} over IPC when every client or agent is connected.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { ConfigFile, EdgeAgent, type DeviceBinding } from '@quanlink/edge';
import { VmsScreen, createInProcessSignDriver } from '@quanlink/simulators';

const [mode, url, ...rest] = process.argv.slice(2);
const send = (msg: object) => process.send!(msg);
const closers: (() => Promise<unknown>)[] = [];

if (mode === 'bare') {
  const n = Number(rest[0]);
  const clients: MqttClient[] = [];
  for (let i = 0; i < n; i++) {
    const client = await mqtt.connectAsync(url!, { clientId: `bare-gw-${i}` });
    await client.subscribeAsync(`bench/gw/${i}/req`, { qos: 1 });
    client.on('message', (_topic, payload) => client.publish(`bench/gw/${i}/res`, payload, { qos: 1 }));
    clients.push(client);
  }
  closers.push(() => Promise.all(clients.map((c) => c.endAsync())));
  send({ ready: true });
} else if (mode === 'agents') {
  const gateways = JSON.parse(rest[0]!) as { id: string; password: string }[];
  const screensPer = Number(rest[1]);
  const dir = rest[2]!;
  const logger = pino({ level: 'warn' });
  const profile = (await loadBuiltinProfiles()).get('quanlink-vms-r1')!;
  const agents: EdgeAgent[] = [];
  for (const gw of gateways) {
    const gwDir = join(dir, gw.id);
    mkdirSync(gwDir, { recursive: true });
    const devices: DeviceBinding[] = [];
    for (let s = 1; s <= screensPer; s++) {
      // The transport is never dialled: the in-process driver below stands in for it.
      devices.push({ id: `vms-${s}`, profile: profile.id, transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 502, unitId: s } });
    }
    const configFile = join(gwDir, 'edge.json');
    await ConfigFile.create(configFile, {
      gateway: { id: gw.id },
      cloud: { url: url!, password: gw.password },
      dataDir: 'data',
      devices,
      link: { batchSize: 200, ackTimeoutMs: 5000 },
      telemetryIntervalS: 60,
    });
    const agent = await EdgeAgent.open(configFile, logger, {
      signDriver: (binding) => createInProcessSignDriver(VmsScreen.fromProfile(binding.id, profile)),
    });
    await agent.start();
    agents.push(agent);
  }
  closers.push(async () => {
    for (const agent of agents) await agent.stop();
  });
  send({ ready: true });
} else {
  console.error('usage: dispatch-fleet.ts bare URL N | agents URL GATEWAYS_JSON SCREENS DIR');
  process.exit(2);
}
process.on('disconnect', async () => {
  for (const close of closers) await close().catch(() => undefined);
  process.exit(0);
});
