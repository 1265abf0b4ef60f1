/** The technician's CLI: writes a valid config without hand-editing JSON, and says what is wrong with exit code 2. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'quanlink-edge-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(env: Record<string, string>, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', env: { ...process.env, QUANLINK_CLOUD_PASSWORD: '', QUANLINK_DEVICE_MQTT_PASSWORD: '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const edge = Object.assign((...args: string[]) => run({}, args), { withEnv: (env: Record<string, string>, ...args: string[]) => run(env, args) });

describe('quanlink-edge CLI', () => {
  const config = join(dir, 'edge.json');

  it('issue 6: the installed commands (npm ci links quanlink-edge and quanlink-cloud into node_modules/.bin) run the CLIs', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    for (const [command, usage] of [['quanlink-edge', /^usage: quanlink-edge <command>/], ['quanlink-cloud', /quanlink-cloud serve --data-dir DIR/]] as const) {
      const r = spawnSync(join(root, 'node_modules', '.bin', command), ['--help'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${command} --help: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, usage);
    }
    const bad = spawnSync(join(root, 'node_modules', '.bin', 'quanlink-edge'), ['bogus'], { encoding: 'utf8' });
    assert.equal(bad.status, 2, 'an unknown command exits 2 through the installed command too');
  });

  it('init writes an owner-only config; device add and remove edit it', () => {
    let r = edge('init', '--config', config, '--gateway-id', 'gw-7', '--cloud-url', 'mqtt://127.0.0.1:1884', '--password', 'pw');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(config).mode & 0o777, 0o600);
    r = edge('device', 'add', '--config', config, '--id', 'loop-1', '--profile', 'quanlink-lc8', '--host', '10.0.0.5', '--port', '502', '--unit-id', '3');
    assert.equal(r.status, 0, r.stderr);
    const written = JSON.parse(readFileSync(config, 'utf8'));
    assert.deepEqual(written.devices, [{ id: 'loop-1', profile: 'quanlink-lc8', transport: { kind: 'modbus-tcp', host: '10.0.0.5', port: 502, unitId: 3 } }]);
    r = edge('device', 'add', '--config', config, '--id', 'loop-2', '--profile', 'lanxin-ld4', '--serial', '/dev/ttyUSB0', '--unit-id', '4', '--baud', '19200');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')).devices[1].transport, { kind: 'modbus-rtu', path: '/dev/ttyUSB0', unitId: 4, baudRate: 19200 });
    r = edge('device', 'add', '--config', config, '--id', 'loop-3', '--profile', 'lanxin-ld4', '--serial', '/dev/ttyUSB0', '--unit-id', '5');
    assert.equal(r.status, 2, 'devices on one line must agree on its settings');
    assert.match(r.stderr, /line settings 9600 baud.* differ from devices\[1\] on the same bus \/dev\/ttyUSB0 \(19200 baud/);
    r = edge('device', 'add', '--config', config, '--id', 'loop-3', '--profile', 'lanxin-ld4', '--serial', '/dev/ttyUSB0', '--unit-id', '4', '--baud', '19200');
    assert.equal(r.status, 2, 'two devices cannot share a unit id on one line');
    assert.match(r.stderr, /unit 4 is already used on bus \/dev\/ttyUSB0/);
    r = edge('device', 'remove', '--config', config, '--id', 'loop-2');
    assert.equal(r.status, 0, r.stderr);
    r = edge('device', 'remove', '--config', config, '--id', 'loop-1');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')).devices, []);
  });

  it('issue 4: device add binds a guidance screen over Modbus TCP and over MQTT; the MQTT password comes from the environment only', () => {
    const file = join(dir, 'vms.json');
    assert.equal(edge('init', '--config', file, '--gateway-id', 'gw-9', '--cloud-url', 'mqtt://127.0.0.1:1884').status, 0);
    let r = edge('device', 'add', '--config', file, '--id', 'vms-r1', '--profile', 'quanlink-vms-r1', '--host', '10.0.0.8', '--port', '502', '--default-multi', 'DRIVE SAFELY');
    assert.equal(r.status, 0, r.stderr);
    const env = { QUANLINK_DEVICE_MQTT_PASSWORD: 's3cret' };
    r = edge.withEnv(env, 'device', 'add', '--config', file, '--id', 'vms-g1', '--profile', 'quanlink-vms-g1', '--mqtt-url', 'mqtt://10.0.0.9:1883', '--topic-base', 'gantry/7', '--mqtt-username', 'gw-9');
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).devices, [
      { id: 'vms-r1', profile: 'quanlink-vms-r1', transport: { kind: 'modbus-tcp', host: '10.0.0.8', port: 502 }, sign: { defaultMulti: 'DRIVE SAFELY' } },
      { id: 'vms-g1', profile: 'quanlink-vms-g1', transport: { kind: 'mqtt', url: 'mqtt://10.0.0.9:1883', topicBase: 'gantry/7', username: 'gw-9', password: 's3cret' } },
    ]);
    r = edge('device', 'add', '--config', file, '--id', 'vms-g2', '--profile', 'quanlink-vms-g1', '--host', '10.0.0.9', '--port', '502');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /profile 'quanlink-vms-g1' speaks MQTT: give --mqtt-url/);
    r = edge('device', 'add', '--config', file, '--id', 'vms-r2', '--profile', 'quanlink-vms-r1', '--mqtt-url', 'mqtt://10.0.0.9:1883');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /speaks Modbus/);
    r = edge('device', 'add', '--config', file, '--id', 'vms-g3', '--profile', 'quanlink-vms-g1', '--mqtt-url', 'http://10.0.0.9');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /devices\[2\]\.transport\.url/);
  });

  const refusals: [string, string[], RegExp][] = [
    ['an unknown command', ['fly'], /unknown command 'fly'/],
    ['an unknown flag', ['run', '--confg', 'x'], /confg/],
    ['a missing flag', ['init', '--config', join(dir, 'new.json'), '--gateway-id', 'gw'], /missing --cloud-url/],
    ['an invalid gateway id', ['init', '--config', join(dir, 'new.json'), '--gateway-id', 'GW/#', '--cloud-url', 'mqtt://h:1'], /gateway\.id/],
    ['an unknown profile', ['device', 'add', '--config', config, '--id', 'x', '--profile', 'nope', '--host', 'h', '--port', '502'], /unknown profile 'nope'.*quanlink-lc8/],
    ['a port that is not a number', ['device', 'add', '--config', config, '--id', 'x', '--profile', 'quanlink-lc8', '--host', 'h', '--port', 'abc'], /--port must be an integer/],
    ['removing a device that is not there', ['device', 'remove', '--config', config, '--id', 'ghost'], /no device 'ghost'/],
    ['a config file that does not exist', ['run', '--config', join(dir, 'missing.json')], /missing\.json.*not found/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} with exit code 2 and a clear message`, () => {
      const r = edge(...args);
      assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, message);
    });
  }

  it('shows the raw readings kept on the gateway, and refuses a device it does not have', () => {
    const file = join(dir, 'readings.json');
    assert.equal(edge('init', '--config', file, '--gateway-id', 'gw-8', '--cloud-url', 'mqtt://127.0.0.1:1884').status, 0);
    assert.equal(edge('device', 'add', '--config', file, '--id', 'loop-1', '--profile', 'quanlink-lc8', '--host', 'h', '--port', '502').status, 0);
    const r = edge('readings', '--config', file, '--device', 'loop-1');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '', 'nothing polled yet');
    const bad = edge('readings', '--config', file, '--device', 'ghost');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /no device 'ghost'/);
  });

  it('lists the builtin profiles', () => {
    const r = edge('profiles');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /quanlink-lc8\tloop-detector/);
  });
});
