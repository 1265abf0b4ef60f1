/**
 * The gateway drives simulated screens over their real wires: a ramp sign on Modbus TCP
 * (quanlink-vms-r1) and a gantry sign speaking JSON over MQTT (quanlink-vms-g1), with the cloud
 * on a real aedes broker. CRCs are the real NTCIP 1203 message CRCs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { SignMessage } from '@quanlink/contracts';
import { crcOfDisplayed, messageCrc } from '@quanlink/sign-content';
import { startVmsSimulator, type VmsSimulator } from '@quanlink/simulators';
import { ConfigFile, EdgeAgent } from '../../src/index.js';
import { FakeCloud, startBroker, until } from './cloud-harness.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'quanlink-agent-vms-'));
const GW = 'gw-vms-sim';
let broker: Awaited<ReturnType<typeof startBroker>>;
let cloud: FakeCloud;
let ramp: VmsSimulator;
let gantry: VmsSimulator;
let agent: EdgeAgent;

const msg = (id: string, multi: string, extra: Partial<SignMessage> = {}): SignMessage => ({
  id,
  multi,
  crc: messageCrc(multi),
  priority: 100,
  startAt: 0,
  createdAt: Date.now(),
  source: 'operator',
  ...extra,
});

before(async () => {
  broker = await startBroker();
  cloud = await FakeCloud.start(broker.url);
  ramp = await startVmsSimulator({ id: 'ramp-1', profile: 'quanlink-vms-r1', wire: 'modbus-tcp', logger });
  gantry = await startVmsSimulator({ id: 'gantry-1', profile: 'quanlink-vms-g1', wire: 'mqtt', logger });
  const configFile = join(dir, 'edge.json');
  await ConfigFile.create(configFile, {
    gateway: { id: GW },
    cloud: { url: broker.url },
    dataDir: join(dir, 'data'),
    devices: [
      {
        id: 'ramp-1',
        profile: 'quanlink-vms-r1',
        transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: ramp.port!, unitId: ramp.unitId!, timeoutMs: 300 },
        sign: { defaultMulti: 'DRIVE SAFELY', readbackIntervalMs: 150 },
      },
      {
        id: 'gantry-1',
        profile: 'quanlink-vms-g1',
        // The topic base comes from the profile ('vms/{device}'); the password must never leave the gateway.
        transport: { kind: 'mqtt', url: gantry.brokerUrl!, username: 'gw', password: 'pw-not-for-births', timeoutMs: 500 },
        sign: { readbackIntervalMs: 150 },
      },
    ],
    telemetryIntervalS: 3600,
  });
  agent = await EdgeAgent.open(configFile, logger, { screenDefaults: { retryDelay: { initialDelayMs: 20, maxDelayMs: 80, jitter: 0 } } });
  await agent.start();
  await until('gateway online', () => (cloud.births.get(GW)?.length ?? 0) > 0);
});

after(async () => {
  await agent?.stop();
  await ramp?.close();
  await gantry?.close();
  await cloud?.stop();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('guidance screens on their real wires (VMS simulator)', { timeout: 30_000 }, () => {
  it('issue 4: the birth lists both screens as vms, the MQTT one without credentials', () => {
    const birth = cloud.births.get(GW)!.at(-1)!;
    assert.deepEqual(
      birth.devices.map((d) => [d.id, d.kind, d.endpoint]),
      [['ramp-1', 'vms', `modbus-tcp://127.0.0.1:${ramp.port}/${ramp.unitId}`], ['gantry-1', 'vms', `${gantry.brokerUrl}/vms/gantry-1`]],
    );
    assert.doesNotMatch(JSON.stringify(birth), /pw-not-for-births/);
  });

  it('issue 4: with nothing active the default message shows; a display reaches both screens and is confirmed by the real CRC', async () => {
    await until('default on the ramp sign', () => ramp.shown().multi === 'DRIVE SAFELY');
    assert.equal(ramp.shown().crc, crcOfDisplayed('DRIVE SAFELY'));
    const m = msg('jam', 'JAM AHEAD[nl]USE EXIT 4');
    const result = await cloud.command(GW, 'sign.display', { message: m, targets: [{ screen: 'ramp-1', dispatchId: 'd-jam-r' }, { screen: 'gantry-1', dispatchId: 'd-jam-g' }] });
    assert.deepEqual(result.status === 'ok' && result.data, { accepted: ['d-jam-r', 'd-jam-g'], rejected: [] });
    await until('displayed on both', () => ['d-jam-r:displayed', 'd-jam-g:displayed'].every((d) => cloud.dispatches(GW).includes(d)));
    for (const e of cloud.eventsOf(GW, 'sign.dispatch')) assert.equal(e.data.readbackCrc, m.crc);
    assert.equal(ramp.shown().multi, m.multi);
    assert.equal(gantry.shown().multi, m.multi);
    const cancel = await cloud.command(GW, 'sign.cancel', { messageId: 'jam' });
    assert.deepEqual(cancel.status === 'ok' && (cancel.data.cancelled as string[]).sort(), ['d-jam-g', 'd-jam-r']);
    await until('default back, gantry blank', () => ramp.shown().multi === 'DRIVE SAFELY' && gantry.shown().multi === '');
  });

  it('issue 4: a sign that keeps showing something else (displaysOther) fails the message after the retries, with the CRCs in the reason', async () => {
    ramp.setFaults({ displaysOther: true });
    try {
      const m = msg('stuck', 'ICE ON ROAD');
      await cloud.command(GW, 'sign.display', { message: m, targets: [{ screen: 'ramp-1', dispatchId: 'd-stuck' }] });
      await until('failed', () => cloud.dispatches(GW).includes('d-stuck:failed'), 5000);
      const failed = cloud.eventsOf(GW, 'sign.dispatch').find((e) => e.data.dispatchId === 'd-stuck')!;
      const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;
      assert.equal(failed.data.reason, `readback CRC ${hex(crcOfDisplayed('DRIVE SAFELY'))}, expected ${hex(m.crc)} after 3 attempts`);
    } finally {
      ramp.setFaults({ displaysOther: false });
    }
  });

  it('issue 4: a screen that goes offline is reported unreachable, and when it comes back it is ok and shows its message again', async () => {
    const m = msg('fog', 'FOG[nl]SLOW DOWN');
    await cloud.command(GW, 'sign.display', { message: m, targets: [{ screen: 'gantry-1', dispatchId: 'd-fog' }] });
    await until('fog displayed', () => cloud.dispatches(GW).includes('d-fog:displayed'));
    await gantry.goOffline();
    await until('unreachable', () => cloud.eventsOf(GW, 'device.status').some((e) => e.device === 'gantry-1' && e.data.state === 'unreachable'), 5000);
    await gantry.comeBack();
    await until('ok again', () => cloud.eventsOf(GW, 'device.status').filter((e) => e.device === 'gantry-1').at(-1)?.data.state === 'ok', 5000);
    await until('fog shown', () => gantry.shown().multi === m.multi);
    assert.equal(cloud.dispatches(GW).filter((d) => d === 'd-fog:displayed').length, 1, 'displayed reported once');
  });
  it('issue 4: a message sent while its screen does not answer is kept, not failed, and shown when the screen is back', async () => {
    const m = msg('flood', 'FLOOD[nl]TURN BACK');
    await gantry.goOffline();
    try {
      await until('unreachable', () => cloud.eventsOf(GW, 'device.status').filter((e) => e.device === 'gantry-1').at(-1)?.data.state === 'unreachable', 5000);
      await cloud.command(GW, 'sign.display', { message: m, targets: [{ screen: 'gantry-1', dispatchId: 'd-flood' }] });
      await new Promise((r) => setTimeout(r, 3000)); // well past 3 attempts at the default backoff
      assert.ok(!cloud.dispatches(GW).includes('d-flood:failed'), `not failed while unreachable: ${cloud.dispatches(GW).join(' ')}`);
    } finally {
      await gantry.comeBack();
    }
    await until('flood displayed', () => cloud.dispatches(GW).includes('d-flood:displayed'), 10_000);
    assert.equal(gantry.shown().multi, m.multi);
  });
});
