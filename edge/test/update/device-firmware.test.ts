/**
 * Issue 6 (device firmware where a profile declares how): device.firmware.apply over a real MQTT
 * broker; the gateway downloads the signed firmware bundle over HTTP as itself, verifies it like an
 * agent bundle, pauses the screen, transfers the image to a simulated VMS-R1 over Modbus TCP
 * (modbus-block-transfer), waits for its reboot and checks the version registers. Refusals happen
 * before any block reaches the device.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { FirmwareUpdateState, SignMessage, SignatureEnvelope } from '@quanlink/contracts';
import { encodeFirmwareImage, loadBuiltinProfiles, type DeviceProfile } from '@quanlink/device-profiles';
import { messageCrc } from '@quanlink/sign-content';
import { startLoopCardSimulator, startVmsSimulator, type LoopCardSimulator, type VmsSimulator } from '@quanlink/simulators';
import { ConfigFile, EdgeAgent } from '../../src/index.js';
import { packRelease } from '../../src/update/bundle.js';
import { packFirmware } from '../../src/update/device-firmware.js';
import { FakeCloud, startBroker, until } from '../signs/cloud-harness.js';
import { rebuildBundle, testKeys, writeTestRelease } from './fixtures.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'quanlink-device-firmware-'));
const GW = 'gw-firmware-1';
const PASSWORD = 'gateway-secret-fw';
const keys = testKeys();
const strangerKeys = testKeys();
const bundles = new Map<string, Buffer>();
let broker: Awaited<ReturnType<typeof startBroker>>;
let cloud: FakeCloud;
let http: Server;
let baseUrl: string;
let ramp: VmsSimulator;
let card: LoopCardSimulator;
let agent: EdgeAgent;

// The builtin VMS-R1 with a 1 s reboot, so that "never comes back" is decided in seconds.
const builtin = (await loadBuiltinProfiles()).get('quanlink-vms-r1')!;
const profile: DeviceProfile = { ...builtin, firmware: { ...builtin.firmware!, rebootS: 1 } };
const builtinLc8 = (await loadBuiltinProfiles()).get('quanlink-lc8')!;
const lc8Profile: DeviceProfile = { ...builtinLc8, firmware: { ...builtinLc8.firmware!, rebootS: 1 } };
const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
const image = (version: string, profileId = 'quanlink-vms-r1') => encodeFirmwareImage({ profile: profileId, version, body });

const statuses = (updateId: string) => cloud.eventsOf(GW, 'firmware.status').filter((e) => e.data.updateId === updateId);
const states = (updateId: string): FirmwareUpdateState[] => statuses(updateId).map((e) => e.data.state);
const finalOf = (updateId: string) => statuses(updateId).find((e) => e.data.state === 'healthy' || e.data.state === 'failed');

function commandArgs(updateId: string, device: string, bundle: Buffer, served: Buffer = bundle) {
  bundles.set(`/bundles/${updateId}`, served);
  const envelope = JSON.parse(bundle.subarray(0, bundle.indexOf(0x0a)).toString()) as SignatureEnvelope;
  return { device, updateId, version: envelope.manifest.version, url: `${baseUrl}/bundles/${updateId}`, manifest: envelope.manifest, keyId: envelope.keyId, signature: envelope.signature };
}
const apply = (updateId: string, device: string, bundle: Buffer, served?: Buffer) => cloud.command(GW, 'device.firmware.apply', commandArgs(updateId, device, bundle, served), 15_000);

const msg = (id: string, multi: string): SignMessage => ({ id, multi, crc: messageCrc(multi), priority: 100, startAt: 0, createdAt: Date.now(), source: 'operator' });

before(async () => {
  broker = await startBroker();
  cloud = await FakeCloud.start(broker.url);
  http = createServer((req, res) => {
    const expected = `Basic ${Buffer.from(`${GW}:${PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return void res.writeHead(401).end('who are you');
    const served = bundles.get(req.url ?? '');
    if (!served) return void res.writeHead(404).end('no such bundle');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': served.length }).end(served);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  ramp = await startVmsSimulator({ id: 'ramp-1', profile, wire: 'modbus-tcp', logger, firmwareVersion: '1.0.0' });
  card = await startLoopCardSimulator({ profile: lc8Profile, logger });
  const configFile = join(dir, 'edge.json');
  await ConfigFile.create(configFile, {
    gateway: { id: GW },
    cloud: { url: broker.url, password: PASSWORD },
    dataDir: join(dir, 'data'),
    devices: [
      {
        id: 'ramp-1',
        profile: 'quanlink-vms-r1',
        transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: ramp.port!, unitId: ramp.unitId!, timeoutMs: 300 },
        sign: { defaultMulti: 'DRIVE SAFELY', readbackIntervalMs: 150 },
      },
      { id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: card.port, unitId: 1, timeoutMs: 300 }, pollIntervalMs: 200, readings: { sync: true } },
      // Nothing answers there; the refusal comes before any connection.
      { id: 'ld4-1', profile: 'lanxin-ld4', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 9, unitId: 1, timeoutMs: 300 } },
    ],
    telemetryIntervalS: 3600,
    localApi: { port: 0 },
    updates: { trustedKeys: [keys.publicPem] },
  });
  agent = await EdgeAgent.open(configFile, logger, { profiles: [profile, lc8Profile], screenDefaults: { retryDelay: { initialDelayMs: 20, maxDelayMs: 80, jitter: 0 } } });
  await agent.start();
  await until('gateway online', () => (cloud.births.get(GW)?.length ?? 0) > 0);
  await until('default message on the ramp sign', () => ramp.shown().multi === 'DRIVE SAFELY', 10_000);
});

after(async () => {
  await agent?.stop();
  await ramp?.close();
  await card?.close();
  await cloud?.stop();
  await broker?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('device firmware over Modbus TCP (real broker, HTTP download, VMS simulator)', { timeout: 120_000 }, () => {
  it('issue 6: refusals before any block is written: wrong profile, a profile without firmware (lanxin-ld4), untrusted key, an agent bundle, unknown device', async () => {
    const good = packFirmware({ privateKey: keys.privateKey, image: image('1.1.0') }).bundle;
    const lc8 = packFirmware({ privateKey: keys.privateKey, image: image('1.1.0', 'quanlink-lc8') }).bundle;
    const cases: [string, Promise<Awaited<ReturnType<typeof apply>>>, string, RegExp][] = [
      ['wrong profile', apply('r-lc8', 'ramp-1', lc8), 'WrongProfile', /device ramp-1: the firmware is for profile quanlink-lc8, the device is a quanlink-vms-r1/],
      ['lanxin-ld4', apply('r-ld4', 'ld4-1', packFirmware({ privateKey: keys.privateKey, image: image('1.1.0', 'lanxin-ld4') }).bundle), 'FirmwareNotSupported', /device ld4-1: profile lanxin-ld4 cannot be updated in the field/],
      ['untrusted key', apply('r-stranger', 'ramp-1', packFirmware({ privateKey: strangerKeys.privateKey, image: image('1.1.0') }).bundle), 'UntrustedKey', /not trusted/],
      ['unknown device', apply('r-none', 'ramp-9', good), 'UnknownDevice', /device ramp-9: no such device/],
    ];
    const agentBundle = (await packRelease({ privateKey: keys.privateKey, version: '9.0.0', dir: await writeTestRelease(join(dir, 'rel'), 'healthy') })).bundle;
    cases.push(['an agent bundle', apply('r-agent', 'ramp-1', agentBundle), 'WrongProduct', /is a quanlink-edge bundle, not device-firmware/]);
    for (const [name, pending, code, message] of cases) {
      const result = await pending;
      assert.equal(result.status, 'error', name);
      assert.ok(result.status === 'error');
      assert.equal(result.error.code, code, `${name}: ${result.error.message}`);
      assert.match(result.error.message, message, name);
    }
    assert.equal(ramp.firmware!.blocksReceived, 0, 'no block reached the device');
  });

  it('issue 6: a tampered bundle (payload changed after signing) is accepted as a command but fails verification; no block is written', async () => {
    const { bundle } = packFirmware({ privateKey: keys.privateKey, image: image('1.1.0') });
    const evil = Buffer.from(image('1.1.0'));
    evil.writeUInt8(evil.readUInt8(evil.length - 1) ^ 0xff, evil.length - 1);
    const tampered = rebuildBundle(bundle, { payload: () => gzipSync(evil) });
    const result = await apply('r-tampered', 'ramp-1', bundle, tampered);
    assert.equal(result.status, 'ok');
    await until('failed', () => finalOf('r-tampered') !== undefined, 10_000);
    assert.deepEqual(states('r-tampered'), ['downloading', 'verifying', 'failed']);
    assert.match(finalOf('r-tampered')!.data.reason!, /^verify: payload sha256 does not match the signed manifest/);
    assert.equal(finalOf('r-tampered')!.device, 'ramp-1');
    assert.equal(ramp.firmware!.blocksReceived, 0);
    assert.equal(ramp.firmware!.version, '1.0.0');
  });

  it('issue 6: a signed image updates the sign: progress, reboot, the version registers read the new version; a second update meanwhile is refused; the sign works after', async () => {
    const { bundle } = packFirmware({ privateKey: keys.privateKey, image: image('1.1.0') });
    const result = await apply('f-good', 'ramp-1', bundle);
    assert.deepEqual(result.status === 'ok' && result.data, { accepted: true, device: 'ramp-1', updateId: 'f-good', version: '1.1.0' });
    const busy = await apply('f-busy', 'ramp-1', bundle);
    assert.ok(busy.status === 'error' && busy.error.code === 'FirmwareUpdateInProgress', JSON.stringify(busy));
    await until('healthy', () => finalOf('f-good') !== undefined, 30_000);
    const seen = states('f-good');
    assert.equal(seen.at(-1), 'healthy', JSON.stringify(statuses('f-good').map((e) => e.data)));
    assert.deepEqual([...new Set(seen)], ['downloading', 'verifying', 'transferring', 'rebooting', 'healthy']);
    const percents = statuses('f-good').flatMap((e) => (e.data.state === 'transferring' ? [e.data.percent] : []));
    assert.deepEqual([percents[0], percents.at(-1)], [0, 100]);
    assert.ok(statuses('f-good').every((e) => e.device === 'ramp-1'));
    assert.equal(ramp.firmware!.version, '1.1.0');
    assert.equal(ramp.firmware!.blocksReceived, Math.ceil(image('1.1.0').length / 240));
    // The screen controller is back: a new message is displayed and confirmed.
    await cloud.command(GW, 'sign.display', { message: msg('after-fw', 'NEW FIRMWARE'), targets: [{ screen: 'ramp-1', dispatchId: 'd-after-fw' }] });
    await until('displayed after the update', () => cloud.dispatches(GW).includes('d-after-fw:displayed'), 10_000);
    assert.equal(ramp.shown().multi, 'NEW FIRMWARE');
    await cloud.command(GW, 'sign.cancel', { messageId: 'after-fw' });
  });

  it('issue 6: an image the device refuses at commit fails with the device\'s reason', async () => {
    ramp.firmware!.setFaults({ failAtCommit: true });
    try {
      await apply('f-commit', 'ramp-1', packFirmware({ privateKey: keys.privateKey, image: image('1.2.0') }).bundle);
      await until('failed', () => finalOf('f-commit') !== undefined, 30_000);
    } finally {
      ramp.firmware!.setFaults({ failAtCommit: false });
    }
    assert.equal(finalOf('f-commit')!.data.state, 'failed');
    assert.equal(finalOf('f-commit')!.data.reason, 'commit: the device refused the image: applying the image failed');
    assert.equal(ramp.firmware!.version, '1.1.0');
  });

  it('issue 6: a device that never comes back: failed with the reason; the screen is resumed and shows again once the sign is power-cycled', async () => {
    ramp.firmware!.setFaults({ neverComeBack: true });
    await apply('f-gone', 'ramp-1', packFirmware({ privateKey: keys.privateKey, image: image('1.3.0') }).bundle);
    await until('failed', () => finalOf('f-gone') !== undefined, 30_000);
    assert.equal(finalOf('f-gone')!.data.state, 'failed');
    assert.match(finalOf('f-gone')!.data.reason!, /^reboot: device ramp-1 did not come back within 7 s of commit \(last: /);
    ramp.firmware!.setFaults({ neverComeBack: false });
    ramp.firmware!.powerCycle();
    await cloud.command(GW, 'sign.display', { message: msg('after-gone', 'BACK AGAIN'), targets: [{ screen: 'ramp-1', dispatchId: 'd-after-gone' }] });
    await until('displayed after power cycle', () => cloud.dispatches(GW).includes('d-after-gone:displayed'), 15_000);
    assert.equal(ramp.firmware!.version, '1.1.0');
  });

  it('issue 6: a loop card (LC-8) that never comes back: failed; its poller resumes at once (unreachable) and reads again after a power cycle', async () => {
    const readingsOf = (since: number) => cloud.eventsOf(GW, 'reading').filter((e) => e.device === 'loop-1' && e.ts > since);
    await until('loop-1 reads', () => readingsOf(0).length > 0, 10_000);
    card.firmware!.setFaults({ neverComeBack: true });
    const result = await apply('f-card-gone', 'loop-1', packFirmware({ privateKey: keys.privateKey, image: image('1.1.0', 'quanlink-lc8') }).bundle);
    assert.equal(result.status, 'ok', JSON.stringify(result));
    await until('failed', () => finalOf('f-card-gone') !== undefined, 30_000);
    const failedAt = finalOf('f-card-gone')!.ts;
    assert.match(finalOf('f-card-gone')!.data.reason!, /^reboot: device loop-1 did not come back within 7 s of commit/);
    assert.ok(card.firmware!.blocksReceived > 0, 'the image was sent');
    // Paused from the transfer to the failure: no poll of the card in between (it would have reported it unreachable).
    const transferAt = statuses('f-card-gone').find((e) => e.data.state === 'transferring')!.ts;
    const polledMeanwhile = [...cloud.eventsOf(GW, 'reading'), ...cloud.eventsOf(GW, 'device.status')].filter((e) => e.device === 'loop-1' && e.ts > transferAt && e.ts < failedAt);
    assert.deepEqual(polledMeanwhile, []);
    await until('the resumed poller reports the card unreachable', () => cloud.eventsOf(GW, 'device.status').some((e) => e.device === 'loop-1' && e.ts >= failedAt && e.data.state === 'unreachable'), 10_000);
    card.firmware!.setFaults({ neverComeBack: false });
    card.firmware!.powerCycle();
    await until('readings again', () => readingsOf(failedAt).length > 0, 15_000);
    assert.equal(card.firmware!.version, '1.0.0');
  });
});
