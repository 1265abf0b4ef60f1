/**
 * Issue 6 (device firmware where a profile declares how), cloud level: a firmware bundle is uploaded
 * through POST /api/v1/updates, applied to a device by POST /api/v1/gateways/{gw}/devices/{dev}/firmware;
 * the cloud sends device.firmware.apply over its real MQTT broker to a real edge agent, which downloads
 * the bundle as itself, transfers the image to a simulated VMS-R1 over Modbus TCP and reports
 * firmware.status events, visible in GET .../firmware. Refusals (wrong profile, an agent update) come
 * back as API errors; every apply is audited.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startCloud, type RunningCloud } from '@quanlink/cloud';
import { encodeFirmwareImage, loadBuiltinProfiles, type DeviceProfile } from '@quanlink/device-profiles';
import { ConfigFile, EdgeAgent, packFirmware } from '@quanlink/edge';
import { startVmsSimulator, type VmsSimulator } from '@quanlink/simulators';
import { tempDir, waitUntil } from '../src/index.js';

const ADMIN_TOKEN = 'e2e-firmware-admin-token-0123456789';
const GW = `gw-fw-${process.pid}`;
const logger = pino({ level: 'silent' });
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const builtin = (await loadBuiltinProfiles()).get('quanlink-vms-r1')!;
// A 1 s reboot keeps the test short.
const profile: DeviceProfile = { ...builtin, firmware: { ...builtin.firmware!, rebootS: 1 } };

interface FirmwareView {
  latest: { updateId: string; state: string; reason?: string; percent?: number } | null;
  history: { state: string; percent?: number }[];
}

describe('issue 6: device firmware through the cloud API, the real broker and a real edge agent', { timeout: 120_000 }, () => {
  const dir = tempDir('e2e-firmware');
  let cloud: RunningCloud;
  let ramp: VmsSimulator;
  let agent: EdgeAgent;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json' } : {}) },
      ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const upload = async (bundle: Buffer): Promise<string> => {
    const uploaded = await api<{ id: string }>('POST', '/api/v1/updates', bundle);
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    return uploaded.body.id;
  };
  const firmwarePath = `/api/v1/gateways/${GW}/devices/ramp-1/firmware`;

  before(async () => {
    cloud = await startCloud({ adminToken: ADMIN_TOKEN, logger, updates: { trustedKeys: [publicPem] } });
    const created = await api<{ password: string }>('POST', '/api/v1/gateways', { id: GW });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ramp = await startVmsSimulator({ id: 'ramp-1', profile, wire: 'modbus-tcp', logger, firmwareVersion: '2.0.0' });
    const configFile = join(dir.path, 'edge.json');
    await ConfigFile.create(configFile, {
      gateway: { id: GW },
      cloud: { url: cloud.mqttUrl, password: created.body.password },
      dataDir: join(dir.path, 'data'),
      devices: [
        { id: 'ramp-1', profile: 'quanlink-vms-r1', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: ramp.port!, unitId: 1, timeoutMs: 300 } },
        // Cannot be updated in the field (no firmware section); nothing answers there, and nothing needs to.
        { id: 'ld4-1', profile: 'lanxin-ld4', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 9, unitId: 1, timeoutMs: 300 } },
      ],
      telemetryIntervalS: 3600,
      localApi: { port: 0 },
      updates: { trustedKeys: [publicPem] },
    });
    agent = await EdgeAgent.open(configFile, logger, { profiles: [profile] });
    await agent.start();
    await waitUntil('the devices in the registry', async () => (await cloud.store.getDevice(GW, 'ld4-1'))?.profile, (p) => p === 'lanxin-ld4', { timeoutMs: 15_000 });
  });

  after(async () => {
    await agent?.stop();
    await ramp?.close();
    await cloud?.close();
    dir.remove();
  });

  it('a firmware update reaches the device: accepted, transferred, rebooted, healthy on the new version; audited', async () => {
    const updateId = await upload(packFirmware({ privateKey, image: encodeFirmwareImage({ profile: 'quanlink-vms-r1', version: '2.1.0', body: Buffer.alloc(2000, 0x3c) }) }).bundle);
    const applied = await api<Record<string, unknown>>('POST', firmwarePath, { updateId });
    assert.equal(applied.status, 202, JSON.stringify(applied.body));
    assert.deepEqual(applied.body, { accepted: true, gatewayId: GW, deviceId: 'ramp-1', updateId, version: '2.1.0', profile: 'quanlink-vms-r1' });
    const done = await waitUntil('healthy or failed', async () => (await api<FirmwareView>('GET', firmwarePath)).body, (v) => v.latest?.state === 'healthy' || v.latest?.state === 'failed', { timeoutMs: 60_000 });
    assert.equal(done.latest?.state, 'healthy', JSON.stringify(done));
    assert.deepEqual([...new Set(done.history.map((h) => h.state))], ['downloading', 'verifying', 'transferring', 'rebooting', 'healthy']);
    assert.equal(ramp.firmware!.version, '2.1.0');
    const [entry] = await cloud.store.dispatch.listAudit({ action: 'device.firmware.apply' });
    assert.equal(entry?.subject, `device:${GW}/ramp-1`);
    assert.equal(entry?.details.result, 'accepted');
  });

  it('refusals: firmware for another profile (400 before sending), a firmware update in a gateway rollout (400), an unknown body field (400)', async () => {
    const lc8 = await upload(packFirmware({ privateKey, image: encodeFirmwareImage({ profile: 'quanlink-lc8', version: '3.0.0', body: Buffer.alloc(10) }) }).bundle);
    const wrong = await api<{ error: { code: string; message: string } }>('POST', firmwarePath, { updateId: lc8 });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'WrongProfile');
    assert.match(wrong.body.error.message, /firmware for profile quanlink-lc8; device 'ramp-1' .* is a quanlink-vms-r1/);
    const rollout = await api<{ error: { message: string } }>('POST', '/api/v1/rollouts', { updateId: lc8, gateways: [GW] });
    assert.equal(rollout.status, 400);
    assert.match(rollout.body.error.message, /is device firmware/);
    const unknownField = await api<{ error: { code: string } }>('POST', firmwarePath, { updateId: lc8, force: true });
    assert.equal(unknownField.status, 400);
    assert.equal(ramp.firmware!.version, '2.1.0');
  });

  it('the gateway refuses firmware for a device whose profile declares no firmware (lanxin-ld4): 409 with its reason, audited', async () => {
    const ld4 = await upload(packFirmware({ privateKey, image: encodeFirmwareImage({ profile: 'lanxin-ld4', version: '4.0.0', body: Buffer.alloc(10) }) }).bundle);
    const refused = await api<{ error: { code: string; message: string } }>('POST', `/api/v1/gateways/${GW}/devices/ld4-1/firmware`, { updateId: ld4 });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'FirmwareNotSupported');
    assert.match(refused.body.error.message, /profile lanxin-ld4 cannot be updated in the field/);
    const audit = await cloud.store.dispatch.listAudit({ action: 'device.firmware.apply' });
    assert.ok(audit.some((e) => e.subject === `device:${GW}/ld4-1` && String(e.details.result).startsWith('FirmwareNotSupported')), JSON.stringify(audit));
  });
});
