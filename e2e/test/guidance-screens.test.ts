/**
 * Guidance screens end to end (issue 4): the cloud and three gateways as processes, twenty screen
 * simulators (Modbus ramp signs and MQTT gantry signs on the machine's Mosquitto) in this process,
 * so the test can look at what every screen really shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startVmsSimulator, type VmsSimulator } from '@quanlink/simulators';
import { mkdirSync } from 'node:fs';
import { CloudProcess, EdgeProcess, screenBinding, tempDir, waitUntil } from '../src/index.js';

const MOSQUITTO = process.env['QUANLINK_TEST_MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';

interface Dispatch { id: string; gatewayId: string; deviceId: string; state: string; readbackCrc: number | null; reason: string | null }
interface Message { id: string; multi: string; crc: number; priority: number }
interface Problem { page: number; line?: number; message: string }

interface Gateway { id: string; sims: VmsSimulator[]; edge: EdgeProcess }

describe('guidance screens: dispatch, arbitration and readback end to end', { timeout: 240_000 }, () => {
  it('issue 4: a message reaches 20 screens on 3 gateways (one offline), pre-emption, expiry, restart, bad content', async (t) => {
    const dir = tempDir('e2e-signs');
    const cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud` }).start();
    const tag = `e2e${process.pid}`;
    const gateways: Gateway[] = [];
    const allSims: VmsSimulator[] = [];
    try {
      // gw-a: 7 Modbus ramp signs; gw-b: 4 Modbus + 3 MQTT gantry signs; gw-c: 6 Modbus ramp signs, offline at dispatch.
      const layout: [string, ('modbus-tcp' | 'mqtt')[]][] = [
        [`${tag}-a`, Array(7).fill('modbus-tcp')],
        [`${tag}-b`, [...Array(4).fill('modbus-tcp'), ...Array(3).fill('mqtt')]],
        [`${tag}-c`, Array(6).fill('modbus-tcp')],
      ];
      for (const [gatewayId, wires] of layout) {
        const sims: VmsSimulator[] = [];
        for (const [i, wire] of wires.entries()) {
          const id = `vms-${i + 1}`;
          sims.push(await startVmsSimulator({ id, profile: wire === 'mqtt' ? 'quanlink-vms-g1' : 'quanlink-vms-r1', wire, ...(wire === 'mqtt' ? { brokerUrl: MOSQUITTO, topicBase: `${tag}/${gatewayId}/${id}` } : {}) }));
        }
        allSims.push(...sims);
        mkdirSync(`${dir.path}/${gatewayId}`);
        const edge = new EdgeProcess({
          dir: `${dir.path}/${gatewayId}`,
          gatewayId,
          cloudUrl: cloud.mqttUrl,
          password: await cloud.addGateway(gatewayId),
          devices: sims.map((sim) => screenBinding(sim.id, sim)),
          logFile: `${dir.path}/${gatewayId}.log`,
        });
        await edge.writeConfig();
        await edge.start();
        gateways.push({ id: gatewayId, sims, edge });
      }
      const [gwA, gwB, gwC] = gateways as [Gateway, Gateway, Gateway];
      const screens = () => cloud.api<{ screens: { key: string }[] }>('/api/v1/screens');
      await waitUntil('all 20 screens in the registry', screens, (s) => s.screens.filter((x) => x.key.startsWith(tag)).length === 20);
      await gwC.edge.stop(); // known to the cloud, offline now
      await waitUntil('gw-c offline', () => cloud.api<{ online: boolean }>(`/api/v1/gateways/${gwC.id}`), (g) => g.online === false);

      const dispatches = async (messageId: string) => (await cloud.api<{ dispatches: Dispatch[] }>(`/api/v1/dispatches?message=${messageId}&limit=1000`)).dispatches;
      const post = (body: object) => cloud.api<{ message: Message; dispatches: Dispatch[] }>('/api/v1/messages', { method: 'POST', body: JSON.stringify(body) });
      const showing = (sims: VmsSimulator[], crc: number) => sims.every((s) => s.shown().crc === crc);

      // 1. One message to every screen.
      const started = Date.now();
      const m1 = await post({ multi: '前方施工[nl]减速慢行', targets: { all: true }, priority: 100 });
      assert.equal(m1.dispatches.length, 20);
      const online = [...gwA.sims, ...gwB.sims];
      const onlineDone = await waitUntil('every online screen displayed', () => dispatches(m1.message.id), (ds) => ds.filter((d) => d.state === 'displayed').length === 14, { timeoutMs: 30_000 });
      t.diagnostic(`14 online screens displayed ${Date.now() - started} ms after POST`);
      for (const d of onlineDone.filter((x) => x.gatewayId !== gwC.id)) assert.equal(d.readbackCrc, m1.message.crc, `${d.gatewayId}/${d.deviceId} read back the message's CRC`);
      assert.ok(showing(online, m1.message.crc), 'each online simulator shows the message');
      assert.deepEqual([...new Set(onlineDone.filter((d) => d.gatewayId === gwC.id).map((d) => d.state))], ['queued'], 'the offline gateway\'s dispatches wait');

      // 2. The offline gateway returns and gets it.
      await gwC.edge.start();
      await waitUntil('gw-c screens displayed after reconnect', () => dispatches(m1.message.id), (ds) => ds.every((d) => d.state === 'displayed'), { timeoutMs: 30_000 });
      assert.ok(showing(gwC.sims, m1.message.crc));

      // 3. A higher priority pre-empts on gw-a and its end restores the first message (expiry).
      const m2 = await post({
        multi: '[cf1]事故[nl]封闭匝道',
        targets: { screens: gwA.sims.map((s) => `${gwA.id}/${s.id}`) },
        priority: 200,
        endAt: Date.now() + 6000,
      });
      await waitUntil('m2 displayed on gw-a', () => dispatches(m2.message.id), (ds) => ds.every((d) => d.state === 'displayed'), { timeoutMs: 15_000 });
      assert.ok(showing(gwA.sims, m2.message.crc), 'gw-a shows the higher priority');
      assert.ok(showing(gwB.sims, m1.message.crc), 'other gateways keep the first message');
      await waitUntil('m1 superseded on gw-a', () => dispatches(m1.message.id), (ds) => ds.filter((d) => d.gatewayId === gwA.id).every((d) => d.state === 'superseded'));
      await waitUntil('m2 expired', () => dispatches(m2.message.id), (ds) => ds.every((d) => d.state === 'expired'), { timeoutMs: 15_000 });
      await waitUntil('gw-a shows m1 again', () => showing(gwA.sims, m1.message.crc), Boolean, { timeoutMs: 10_000 });
      await waitUntil('m1 displayed again on gw-a', () => dispatches(m1.message.id), (ds) => ds.every((d) => d.state === 'displayed'), { timeoutMs: 10_000 });

      // 4. Edge restart keeps the active set, even with the cloud away: the screens lose power
      //    (go blank) while the gateway is down and it puts m1 back from its own store.
      await cloud.process.crash();
      await gwA.edge.process.crash();
      for (const sim of gwA.sims) sim.screen.blank();
      assert.ok(showing(gwA.sims, 0));
      await gwA.edge.start();
      await waitUntil('gw-a restores m1 from its own store', () => showing(gwA.sims, m1.message.crc), Boolean, { timeoutMs: 20_000 });
      await cloud.start();

      // 5. Bad content is refused with where it is wrong; nothing is dispatched.
      const bad = async (body: object) => {
        const res = await fetch(`${cloud.httpUrl}/api/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${cloud.adminToken}` }, body: JSON.stringify(body) });
        assert.equal(res.status, 400);
        return (await res.json()) as { error: { message: string }; problems: Problem[] };
      };
      const malformed = await bad({ multi: '前方[xy]拥堵', targets: { all: true } });
      assert.match(JSON.stringify(malformed.problems), /MULTI at 2: unknown tag \[xy\]/, JSON.stringify(malformed));
      const oversize = await bad({ multi: '前方道路拥堵请绕行', targets: { screens: [`${gwA.id}/vms-1`] } });
      assert.match(JSON.stringify(oversize.problems), /page 1 line 1: 9 characters at 16 px need 144 px, sign is 128 px wide/, JSON.stringify(oversize));
      assert.ok(showing(gwA.sims, m1.message.crc), 'refused content changed nothing');
    } finally {
      for (const gw of gateways) await gw.edge.stop().catch(() => undefined);
      await cloud.stop();
      for (const sim of allSims) await sim.close().catch(() => undefined);
      dir.remove();
    }
  });
});
