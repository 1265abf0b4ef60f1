/**
 * config.apply on a real EdgeAgent (loop-card simulators on Modbus TCP, a real in-process broker
 * standing in for the cloud): applied all or nothing, invalid or stale configs change nothing, local
 * edits are reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { configSha256, type CommandResult, type ManagedConfig } from '@quanlink/contracts';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { startLoopCardSimulator, type LoopCardSimulator } from '@quanlink/simulators';
import { ConfigFile, EdgeAgent, MemoryOutbox, type EdgeConfig } from '../../src/index.js';
import { ConfigApplier, desiredConfigProblems } from '../../src/config/apply.js';
import { managedPart, managedSha256, withManaged } from '../../src/config/managed.js';
import { FakeCloud, startBroker, until } from '../signs/cloud-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-config-apply-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });
const GW = 'gw-cfg';

function loop(id: string, sim: LoopCardSimulator): EdgeConfig['devices'][number] {
  return { id, profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: sim.host, port: sim.port, timeoutMs: 500 }, pollIntervalMs: 200 };
}

function errorOf(result: CommandResult): { code: string; message: string } {
  assert.equal(result.status, 'error', `expected a refusal, got ${JSON.stringify(result)}`);
  return result.status === 'error' ? result.error : { code: '', message: '' };
}

describe('issue 6: desired configuration applied on a running gateway', { timeout: 120_000 }, () => {
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let cloud: FakeCloud;
  let sims: LoopCardSimulator[];
  let agent: EdgeAgent;
  const configFile = join(dir, 'edge.json');

  before(async () => {
    broker = await startBroker();
    cloud = await FakeCloud.start(broker.url);
    sims = await Promise.all([1, 2].map((seed) => startLoopCardSimulator({ seed, ratePerLane: 0.5, timeScale: 10 })));
    await ConfigFile.create(configFile, {
      gateway: { id: GW },
      cloud: { url: broker.url, password: 'link-secret' },
      dataDir: 'data',
      devices: [loop('loop-1', sims[0]!)],
    });
    agent = await EdgeAgent.open(configFile, logger);
    await agent.start();
    await until('link up and loop-1 polled', () => agent.status().link.connected && (agent.status().devices[0]?.polls ?? 0) > 0, 15_000);
  });
  after(async () => {
    await agent?.stop();
    await cloud?.stop();
    await broker?.close();
    await Promise.all((sims ?? []).map((sim) => sim.close()));
  });

  const polls = (device: string) => agent.status().devices.find((d) => d.device === device)?.polls ?? 0;

  it('issue 6: the first start reports the local config (version 0, source local) and records its sha256', async () => {
    await until('config.reported at start', () => cloud.eventsOf(GW, 'config.reported').length > 0, 10_000);
    const [report] = cloud.eventsOf(GW, 'config.reported');
    assert.equal(report!.data.source, 'local');
    assert.equal(report!.data.version, 0);
    assert.equal(report!.data.sha256, managedSha256(agent.config.data));
    assert.equal(agent.config.data.managed?.sha256, report!.data.sha256);
    assert.doesNotMatch(JSON.stringify(report), /link-secret/, 'the cloud password never leaves in a report');
  });

  it('issue 6: a desired config adding a second loop card is applied: file, polling, birth and report', async () => {
    const desired: ManagedConfig = { devices: [loop('loop-1', sims[0]!), loop('loop-2', sims[1]!)], telemetryIntervalS: 60 };
    const result = await cloud.command(GW, 'config.apply', { version: 1, config: desired }, 15_000);
    assert.equal(result.status, 'ok', JSON.stringify(result));
    const sha256 = configSha256(desired);
    assert.deepEqual(result.status === 'ok' ? result.data : undefined, { version: 1, sha256 });

    const onDisk = JSON.parse(readFileSync(configFile, 'utf8')) as EdgeConfig;
    assert.deepEqual(onDisk.devices.map((d) => d.id), ['loop-1', 'loop-2']);
    assert.equal(onDisk.telemetryIntervalS, 60);
    assert.equal(onDisk.managed?.version, 1);
    assert.equal(onDisk.managed?.sha256, sha256);
    assert.equal(onDisk.cloud.password, 'link-secret', 'local credentials are kept');
    assert.equal(statSync(configFile).mode & 0o777, 0o600, 'still owner-only');

    await until('loop-2 polled', () => polls('loop-2') > 2, 15_000);
    assert.ok(agent.status().link.connected, 'the cloud link stayed up');
    await until('a birth with both devices and version 1', () => {
      const birth = cloud.births.get(GW)?.at(-1);
      return birth?.configVersion === 1 && birth.devices.length === 2;
    });
    await until('config.reported from the cloud', () => cloud.eventsOf(GW, 'config.reported').some((e) => e.data.source === 'cloud' && e.data.version === 1));
    const report = cloud.eventsOf(GW, 'config.reported').find((e) => e.data.version === 1)!;
    assert.equal(report.data.sha256, sha256);
    assert.deepEqual(report.data.config, desired);
  });

  const invalid: [string, (good: ManagedConfig) => ManagedConfig, RegExp[]][] = [
    [
      'a port out of range',
      (good) => ({ devices: [good.devices[0]!, { ...good.devices[1]!, transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 70000 } }] }),
      [/devices\[1\]\.transport\.port: .*65535/],
    ],
    [
      'an unknown profile and two devices on one RTU address (both reasons)',
      (good) => ({
        devices: [
          good.devices[0]!,
          { id: 'loop-x', profile: 'no-such-card', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 502 } },
          { id: 'rtu-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-rtu-tcp', host: '10.0.0.9', port: 4001, unitId: 3 } },
          { id: 'rtu-2', profile: 'quanlink-lc8', transport: { kind: 'modbus-rtu-tcp', host: '10.0.0.9', port: 4001, unitId: 3 } },
        ],
      }),
      [/devices\[3\]\.transport\.unitId: unit 3 is already used on bus 10\.0\.0\.9:4001/, /devices\[1\]\.profile: unknown profile 'no-such-card'/],
    ],
    [
      'a loop card on an MQTT transport',
      (good) => ({ devices: [good.devices[0]!, { id: 'loop-m', profile: 'quanlink-lc8', transport: { kind: 'mqtt', url: 'mqtt://127.0.0.1:1883' } }] }),
      [/devices\[1\]\.transport\.kind: .*polled over Modbus, not mqtt/],
    ],
  ];
  for (const [what, build, reasons] of invalid) {
    it(`issue 6: an invalid desired config (${what}) changes nothing and names every reason with its path`, async () => {
      const bytes = readFileSync(configFile);
      const devicesBefore = agent.status().devices.map((d) => d.device);
      const pollsBefore = polls('loop-2');
      const good: ManagedConfig = { devices: [loop('loop-1', sims[0]!), loop('loop-2', sims[1]!)] };
      const error = errorOf(await cloud.command(GW, 'config.apply', { version: 7, config: build(good) }, 15_000));
      assert.equal(error.code, 'InvalidConfig');
      for (const reason of reasons) assert.match(error.message, reason);
      assert.deepEqual(readFileSync(configFile), bytes, 'the file is byte for byte the same');
      assert.deepEqual(agent.status().devices.map((d) => d.device), devicesBefore, 'the same devices run');
      await until('loop-2 still polled', () => polls('loop-2') > pollsBefore + 2, 10_000);
      assert.equal(agent.config.data.managed?.version, 1);
    });
  }

  it('issue 6: a stale or equal version is refused and changes nothing', async () => {
    const bytes = readFileSync(configFile);
    for (const version of [1, 0]) {
      const result = await cloud.command(GW, 'config.apply', { version, config: { devices: [] } }, 10_000);
      const error = errorOf(result);
      if (version === 0) {
        assert.equal(error.code, 'InvalidCommand', 'version 0 is not a version the cloud can set');
        continue;
      }
      assert.equal(error.code, 'StaleVersion');
      assert.match(error.message, /version 1 is not newer than applied version 1/);
    }
    assert.deepEqual(readFileSync(configFile), bytes);
    assert.equal(agent.status().devices.length, 2);
  });

  it('issue 6: a local edit (CLI-style, agent stopped) is reported at the next start with source local', async () => {
    await agent.stop();
    const file = await ConfigFile.load(configFile);
    await file.update((draft) => {
      draft.devices = draft.devices.filter((d) => d.id !== 'loop-2');
    });
    agent = await EdgeAgent.open(configFile, logger);
    await agent.start();
    const expected = managedSha256(agent.config.data);
    await until('local report', () => cloud.eventsOf(GW, 'config.reported').some((e) => e.data.source === 'local' && e.data.sha256 === expected), 15_000);
    const report = cloud.eventsOf(GW, 'config.reported').find((e) => e.data.sha256 === expected)!;
    assert.equal(report.data.version, 1, 'the version it diverged from');
    assert.deepEqual(report.data.config?.devices.map((d) => d.id), ['loop-1']);
    assert.deepEqual(agent.config.data.managed, { version: 1, sha256: expected, appliedAt: report.data.appliedAt, source: 'local' });

    // A restart without an edit reports nothing new.
    const reports = cloud.eventsOf(GW, 'config.reported').length;
    await agent.stop();
    agent = await EdgeAgent.open(configFile, logger);
    await agent.start();
    await until('link up again', () => agent.status().link.connected, 10_000);
    assert.equal(await waitAndCount(() => cloud.eventsOf(GW, 'config.reported').length), reports);
  });

  it('issue 6: an edit of the file while the agent runs is reported before a desired config replaces its managed part; local settings stay', async () => {
    const cli = await ConfigFile.load(configFile);
    await cli.update((draft) => {
      draft.link = { batchSize: 77 };
      draft.devices.push(loop('loop-2', sims[1]!));
    });
    const edited = managedSha256(cli.data);
    const desired: ManagedConfig = { devices: [loop('loop-1', sims[0]!)], telemetryIntervalS: 45 };
    const result = await cloud.command(GW, 'config.apply', { version: 2, config: desired }, 15_000);
    assert.equal(result.status, 'ok', JSON.stringify(result));
    const onDisk = JSON.parse(readFileSync(configFile, 'utf8')) as EdgeConfig;
    assert.deepEqual(onDisk.link, { batchSize: 77 }, 'a local setting edited meanwhile is kept');
    assert.deepEqual(onDisk.devices.map((d) => d.id), ['loop-1']);
    assert.equal(onDisk.managed?.version, 2);
    await until('both reports', () => cloud.eventsOf(GW, 'config.reported').some((e) => e.data.version === 2), 10_000);
    const reports = cloud.eventsOf(GW, 'config.reported');
    const local = reports.findIndex((e) => e.data.source === 'local' && e.data.sha256 === edited);
    const applied = reports.findIndex((e) => e.data.source === 'cloud' && e.data.version === 2);
    assert.ok(local >= 0 && local < applied, 'the local edit is reported (not silently lost) before the desired config replaced it');
  });

  it('issue 6: a change of settings only keeps the devices running (no restart)', async () => {
    await until('loop-1 polled', () => polls('loop-1') > 3, 10_000);
    const before = polls('loop-1');
    const result = await cloud.command(GW, 'config.apply', { version: 3, config: { devices: [loop('loop-1', sims[0]!)], telemetryIntervalS: 20 } }, 15_000);
    assert.equal(result.status, 'ok', JSON.stringify(result));
    assert.equal(agent.config.data.telemetryIntervalS, 20);
    assert.ok(polls('loop-1') >= before, `the poller kept its count (${polls('loop-1')} after ${before}): it was not restarted`);
  });
});

async function waitAndCount(count: () => number): Promise<number> {
  // The outbox is sent right after connect; give it a few link round trips to show up (none expected).
  await new Promise((r) => setTimeout(r, 800));
  return count();
}

describe('issue 6: desired config pieces', () => {
  const local: EdgeConfig = {
    gateway: { id: 'gw-1', name: 'box 1' },
    cloud: { url: 'mqtt://cloud:1883', username: 'gw-1', password: 'cloud-secret' },
    dataDir: 'data',
    profileDirs: ['profiles'],
    link: { batchSize: 50 },
    devices: [{ id: 'gantry-1', profile: 'quanlink-vms-g1', transport: { kind: 'mqtt', url: 'mqtt://10.0.0.2:1883', username: 'sign', password: 'sign-secret' } }],
  };

  it('issue 6: the managed part leaves identity, credentials and layout out; withManaged puts them back', () => {
    const managed = managedPart(local);
    assert.deepEqual(Object.keys(managed).sort(), ['devices']);
    const next = withManaged(local, { devices: [], telemetryIntervalS: 10 });
    assert.deepEqual(next.gateway, local.gateway);
    assert.deepEqual(next.cloud, local.cloud);
    assert.equal(next.dataDir, 'data');
    assert.deepEqual(next.profileDirs, ['profiles']);
    assert.deepEqual(next.link, { batchSize: 50 });
    assert.equal(next.telemetryIntervalS, 10);
    assert.deepEqual(next.devices, []);
  });

  it('issue 6: a desired device without a password keeps the local one of the same id and transport kind; sha256 ignores secrets', () => {
    const desired: ManagedConfig = { devices: [{ id: 'gantry-1', profile: 'quanlink-vms-g1', transport: { kind: 'mqtt', url: 'mqtt://10.0.0.3:1883', username: 'sign' } }] };
    const next = withManaged(local, desired);
    assert.deepEqual(next.devices[0]!.transport, { kind: 'mqtt', url: 'mqtt://10.0.0.3:1883', username: 'sign', password: 'sign-secret' });
    assert.equal(managedSha256(next), configSha256(desired));
    const otherKind = withManaged(local, { devices: [{ id: 'gantry-1', profile: 'quanlink-vms-r1', transport: { kind: 'modbus-tcp', host: 'h', port: 502 } }] });
    assert.equal((otherKind.devices[0]!.transport as { password?: string }).password, undefined);
    const newSecret = withManaged(local, { devices: [{ ...desired.devices[0]!, transport: { ...desired.devices[0]!.transport, password: 'rotated' } }] });
    assert.equal((newSecret.devices[0]!.transport as { password?: string }).password, 'rotated');
  });

  it('issue 6: a camera with bad analytics is refused with the analytics path', async () => {
    const profiles = await loadBuiltinProfiles();
    const camera = withManaged(local, {
      devices: [
        {
          id: 'cam-1',
          profile: 'onvif-camera',
          transport: { kind: 'onvif', host: '10.0.0.9', port: 80 },
          video: { model: { path: 'm.onnx', decoder: 'fastestdet' }, analytics: { lines: [{ id: 'l1', lane: 1, from: { x: 0, y: 0.5 }, to: { x: 2, y: 0.5 } }], zones: [], periodS: 30 } },
        },
      ],
    });
    const problems = desiredConfigProblems(camera, profiles);
    assert.ok(problems.some((p) => p.startsWith('devices[0].video.analytics.lines[0]')), problems.join('\n'));
  });

  it('issue 6: hundreds of problems fit the command error (at most 2000 characters), first ones listed, the rest counted', async () => {
    const file = join(dir, 'many.json');
    await ConfigFile.create(file, { ...local, devices: [] });
    const config = await ConfigFile.load(file);
    const profiles = await loadBuiltinProfiles();
    const applier = new ConfigApplier({ config, outbox: new MemoryOutbox(), profiles: () => profiles, logger, agent: { reconfigure: async () => {}, announce() {} } });
    const devices = Array.from({ length: 300 }, (_, i) => ({ id: `loop-${i}`, profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: 'h', port: 70_000 + i } }));
    await assert.rejects(applier.handle({ v: 1, tx: 't2', name: 'config.apply', issuedAt: Date.now(), args: { version: 1, config: { devices } } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'InvalidConfig');
      assert.ok(err.message.length <= 2000, `${err.message.length} characters`);
      assert.match(err.message, /300 problems: devices\[0\]\.transport\.port: .*65535/);
      assert.match(err.message, /; and \d+ more$/);
      return true;
    });
  });

  it('issue 6: when starting the new device set throws, the old file and the old devices come back (ApplyFailed)', async () => {
    const file = join(dir, 'rollback.json');
    await ConfigFile.create(file, { ...local, devices: [] });
    const config = await ConfigFile.load(file);
    const bytes = readFileSync(file);
    const profiles = await loadBuiltinProfiles();
    const started: string[][] = [];
    let fail = true;
    const applier = new ConfigApplier({
      config,
      outbox: new MemoryOutbox(),
      profiles: () => profiles,
      logger,
      agent: {
        async reconfigure() {
          started.push(config.data.devices.map((d) => d.id));
          if (fail) {
            fail = false;
            throw new Error('driver exploded');
          }
        },
        announce() {},
      },
    });
    const command = {
      v: 1 as const,
      tx: 't1',
      name: 'config.apply',
      issuedAt: Date.now(),
      args: { version: 3, config: { devices: [{ id: 'loop-9', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 1502 } }] } },
    };
    await assert.rejects(applier.handle(command), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ApplyFailed');
      assert.match(err.message, /driver exploded/);
      return true;
    });
    assert.deepEqual(started, [['loop-9'], []], 'the new set was tried, then the old one started again');
    assert.deepEqual(readFileSync(file), bytes);
    assert.equal(config.data.managed, undefined);
  });
});
