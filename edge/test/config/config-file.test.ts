import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, ConfigFile, type EdgeConfig } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const valid: EdgeConfig = {
  gateway: { id: 'gw-1' },
  cloud: { url: 'mqtt://127.0.0.1:1884', password: 's3cret' },
  dataDir: 'data',
  devices: [{ id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '10.0.0.5', port: 502 } }],
};

describe('edge config file', () => {
  it('round-trips through lowdb as readable JSON, owner-only (it holds the password)', async () => {
    const file = join(dir, 'ok.json');
    await ConfigFile.create(file, valid);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /\n {2}"gateway"/);
    const loaded = await ConfigFile.load(file);
    assert.deepEqual(loaded.data, valid);
    assert.equal(loaded.dataDir, join(dir, 'data'));
  });

  const bad: [string, unknown, string, RegExp][] = [
    ['a gateway id with a topic wildcard', { ...valid, gateway: { id: 'gw/+' } }, 'gateway.id', /match/],
    ['a cloud URL that is not MQTT', { ...valid, cloud: { url: 'http://x' } }, 'cloud.url', /match/],
    ['a port out of range', { ...valid, devices: [{ ...valid.devices[0], transport: { kind: 'modbus-tcp', host: 'h', port: 70000 } }] }, 'devices[0].transport.port', /65535/],
    ['an unknown field', { ...valid, extra: 1 }, 'extra', /not be present|Unexpected property/i],
    ['a sample period that does not tile the hour', { ...valid, devices: [{ ...valid.devices[0], traffic: { periodS: 7 } }] }, 'devices[0].traffic.periodS', /does not divide an hour/],
    ['an unknown diagnostic threshold', { ...valid, devices: [{ ...valid.devices[0], traffic: { diagnostics: { lockedOnMinutes: 5 } } }] }, 'devices[0].traffic.diagnostics.lockedOnMinutes', /Unexpected property|not be present/i],
    ['an unknown transport kind', { ...valid, devices: [{ ...valid.devices[0], transport: { kind: 'bacnet', host: 'h' } }] }, 'devices[0].transport.kind', /modbus-tcp, modbus-rtu, modbus-rtu-tcp/],
    ['a serial unit id out of range', { ...valid, devices: [{ ...valid.devices[0], transport: { kind: 'modbus-rtu', path: '/dev/ttyS0', unitId: 248 } }] }, 'devices[0].transport.unitId', /247/],
    ['duplicate device ids', { ...valid, devices: [valid.devices[0], valid.devices[0]] }, 'devices[1].id', /duplicate device id 'loop-1'/],
  ];
  for (const [what, config, path, problem] of bad) {
    it(`refuses ${what}, naming file and path`, async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(config));
      await assert.rejects(ConfigFile.load(file), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.file, file);
        assert.equal(err.path, path);
        assert.match(err.problem, problem);
        assert.ok(err.message.startsWith(`${file}: ${path}: `));
        return true;
      });
    });
  }

  it('refuses broken JSON and a missing file with the file name', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"gateway": ');
    await assert.rejects(ConfigFile.load(file), (err: unknown) => err instanceof ConfigError && err.message.includes(file));
    await assert.rejects(ConfigFile.load(join(dir, 'nope.json')), /not found/);
  });

  it('an invalid update changes nothing, in memory or on disk', async () => {
    const file = join(dir, 'update.json');
    const config = await ConfigFile.create(file, valid);
    const before = readFileSync(file, 'utf8');
    await assert.rejects(
      config.update((draft) => {
        draft.devices.push({ ...draft.devices[0]! });
      }),
      /duplicate device id/,
    );
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal(config.data.devices.length, 1);
  });
});
