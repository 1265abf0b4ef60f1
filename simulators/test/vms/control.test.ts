/**
 * Issue 4: the VMS simulator's HTTP control endpoint and its command line (`cli.ts vms`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { createModbusSignDriver, createModbusTcpDriver, createMqttSignDriver } from '@quanlink/firmware-bridge';
import { messageCrc } from '@quanlink/sign-content';
import { startVmsSimulator } from '../../src/vms/simulator.js';
import { UsageError } from '../../src/loop-command.js';
import { parseVmsCommand } from '../../src/vms-command.js';
import { capturingLogger } from '../helpers/modbus-clients.js';

const profiles = await loadBuiltinProfiles();
const MULTI = 'EXIT 12 CLOSED';

async function http(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method, ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.status, json: await res.json() };
}

describe('issue 4: VMS simulator control endpoint', () => {
  it('GET /state, POST and DELETE /faults (validated), GET /display.png of what is shown', async (t) => {
    const { logger } = capturingLogger();
    const sim = await startVmsSimulator({ id: 'ramp-3', profile: 'quanlink-vms-r1', wire: 'modbus-tcp', controlPort: 0, logger });
    t.after(() => sim.close());
    const url = sim.controlUrl!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(sim.screen.display(MULTI, messageCrc(MULTI)), { ok: true });

    const state = await http('GET', `${url}/state`);
    assert.equal(state.status, 200);
    assert.deepEqual([state.json.id, state.json.wire, state.json.port, state.json.shown.multi, state.json.shown.crc, state.json.historyLength], ['ramp-3', 'modbus-tcp', sim.port, MULTI, messageCrc(MULTI), 2]);
    assert.equal(state.json.faults.reject, false);

    for (const [body, problem] of [
      ['{oops', /^body is not valid JSON/],
      [{ reject: 'yes' }, /^reject must be true or false, got "yes"$/],
      [{ slowMs: 1.5 }, /^slowMs must be an integer/],
      [{ explode: true }, /^unknown fault 'explode'/],
      [[1], /^faults must be an object/],
    ] as const) {
      const r = await http('POST', `${url}/faults`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error, problem);
    }
    assert.equal(sim.screen.faults().reject, false);

    const set = await http('POST', `${url}/faults`, { reject: true, pixelFailures: 10 });
    assert.deepEqual([set.status, set.json.faults.reject, set.json.faults.pixelFailures], [200, true, 10]);
    const png = await fetch(`${url}/display.png?scale=2`);
    assert.equal(png.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await png.arrayBuffer()).equals((await sim.renderPng({ scale: 2 }))[0]!), 'the PNG is the rendered screen, dead pixels included');
    assert.equal((await http('GET', `${url}/display.png?page=2`)).status, 400, 'one page only');
    assert.equal((await http('DELETE', `${url}/faults`)).json.faults.reject, false);
    assert.equal((await http('GET', `${url}/nope`)).status, 404);
    assert.equal((await http('PUT', `${url}/state`)).status, 405);
  });

  it('POST /faults {"offline":true} closes the Modbus port; DELETE brings it back', async (t) => {
    const { logger } = capturingLogger();
    const sim = await startVmsSimulator({ id: 'ramp-4', profile: 'quanlink-vms-r1', wire: 'modbus-tcp', controlPort: 0, logger });
    t.after(() => sim.close());
    await http('POST', `${sim.controlUrl}/faults`, { offline: true });
    const refused = await fetch(`http://127.0.0.1:${sim.port}`).then(
      () => 'answered',
      (err: { cause?: { code?: string } }) => err.cause?.code,
    );
    assert.equal(refused, 'ECONNREFUSED');
    await http('DELETE', `${sim.controlUrl}/faults`);
    const tcp = createModbusTcpDriver({ host: '127.0.0.1', port: sim.port!, device: 'ramp-4' });
    const driver = createModbusSignDriver({ device: 'ramp-4', driver: tcp, wire: profiles.get('quanlink-vms-r1')!.sign!.modbus!, logger });
    t.after(() => driver.close());
    assert.equal((await driver.readState()).displayedCrc, 0);
  });

  it('refuses a profile that is not a sign, and a wire the profile lacks', async () => {
    await assert.rejects(startVmsSimulator({ id: 'x', profile: 'quanlink-lc8', wire: 'modbus-tcp' }), /profile quanlink-lc8 is a loop-detector profile, not a vms/);
    await assert.rejects(startVmsSimulator({ id: 'x', profile: 'quanlink-vms-g1', wire: 'modbus-tcp' }), /profile quanlink-vms-g1 has no Modbus register map \(it speaks mqtt\)/);
    await assert.rejects(startVmsSimulator({ id: 'x', profile: 'no-such', wire: 'mqtt' }), /profile no-such: not a builtin profile \(quanlink-vms-g1, quanlink-vms-r1\)/);
  });
});

describe('issue 4: cli.ts vms', () => {
  it('parses its flags, with clear errors', () => {
    assert.deepEqual(parseVmsCommand(['--wire', 'mqtt', '--id', 'g-1']), {
      wire: 'mqtt',
      profile: 'quanlink-vms-g1',
      id: 'g-1',
      host: '127.0.0.1',
      port: undefined,
      unitId: undefined,
      broker: undefined,
      topicBase: undefined,
      controlPort: 0,
      logLevel: 'info',
    });
    assert.equal(parseVmsCommand(['--help']), 'help');
    for (const [args, message] of [
      [['--wire', 'serial'], /--wire must be modbus-tcp or mqtt, got 'serial'/],
      [['--wire', 'mqtt', '--port', '502'], /--port is for --wire modbus-tcp/],
      [['--broker', 'mqtt://x'], /--broker is for --wire mqtt/],
      [['--wire', 'mqtt', '--broker', 'localhost'], /--broker must be a URL/],
      [['--port', '70000'], /--port must be an integer 0\.\.65535, got '70000'/],
      [['--colour', 'red'], /Unknown option '--colour'/],
    ] as const) {
      assert.throws(() => parseVmsCommand([...args]), (err: unknown) => err instanceof UsageError && message.test(err.message), args.join(' '));
    }
  });

  it('starts a screen on MQTT, prints the listening line, and is driven through it', async (t) => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/src/cli.ts', 'vms', '--wire', 'mqtt', '--id', 'sign-1', '--control-port', '0', '--log-level', 'warn'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.after(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    const line = JSON.parse(first);
    assert.deepEqual([line.event, line.id, line.wire, line.profile, line.topicBase], ['listening', 'sign-1', 'mqtt', 'quanlink-vms-g1', 'vms/sign-1']);
    assert.match(line.brokerUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const driver = createMqttSignDriver({ device: 'sign-1', url: line.brokerUrl, topicBase: line.topicBase, logger: capturingLogger().logger, timeoutMs: 3000 });
    t.after(() => driver.close());
    await driver.display(MULTI, messageCrc(MULTI));
    const state = await http('GET', `${line.control}/state`);
    assert.equal(state.json.shown.multi, MULTI);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
