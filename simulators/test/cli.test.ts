import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { closeClient, connectClient, isException, pointOf, readPointRaw, readPointValue, waitFor } from './helpers/modbus-clients.js';
import { openSerialCable } from '../src/serial-cable.js';
import { connectRtuSerialClient, connectRtuTcpClient } from './helpers/rtu-clients.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CLI = 'simulators/src/cli.ts';

interface Started {
  child: ChildProcess;
  line: {
    event: string;
    cards: Array<{ host: string; port: number; unitId: number; profile: string }>;
    bus?: { kind: string; host?: string; port?: number; path?: string; baudRate?: number };
    control: string;
  };
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[]): { child: ChildProcess; stdout: Promise<string>; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: exited.then(() => out), stderr: () => err, exited };
}

async function start(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then((code) => assert.fail(`CLI exited with ${code} before listening: ${err}`)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no listening line after 20 s: ${err}`)), 20_000))),
  ]).finally(() => clearTimeout(timer));
  return { child, line: JSON.parse(first), stderr: () => err, exited };
}

async function http(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method, ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, json: await res.json() };
}

function listenOn(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

/** A port P such that P..P+n-1 were free a moment ago (released before returning). */
async function freeConsecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = (await listenOn(0))!;
    const port = (first.address() as net.AddressInfo).port;
    const held = [first];
    for (let i = 1; i < n; i++) {
      const next = port + i <= 65535 ? await listenOn(port + i) : undefined;
      if (!next) break;
      held.push(next);
    }
    await Promise.all(held.map((h) => new Promise((r) => h.close(r))));
    if (held.length === n) return port;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

describe('simulators CLI: loop', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('starts the cards, prints one listening line, serves Modbus and the control endpoint, exits 0 on SIGTERM', async () => {
    const lc8 = (await loadBuiltinProfiles()).get('quanlink-lc8')!;
    const s = await start(['loop', '--port', '0', '--count', '2', '--seed', '7', '--rate', '2', '--time-scale', '20', '--unit-id', '3', '--start-paused', '--control-port', '0']);
    children.push(s.child);
    assert.equal(s.line.event, 'listening');
    assert.equal(s.line.cards.length, 2);
    assert.match(s.line.control, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const card of s.line.cards) {
      assert.equal(card.host, '127.0.0.1');
      assert.equal(card.unitId, 3);
      assert.ok(card.port > 0);
    }
    assert.notEqual(s.line.cards[0]!.port, s.line.cards[1]!.port);

    const paused = await http('GET', `${s.line.control}/truth`);
    assert.equal(paused.status, 200);
    assert.equal(paused.json.cards.length, 2);
    assert.equal(paused.json.cards[0].truth.simTimeS, 0, '--start-paused');

    assert.deepEqual((await http('POST', `${s.line.control}/resume`)).json, { ok: true, cards: [0, 1] });
    await new Promise((r) => setTimeout(r, 400));
    await http('POST', `${s.line.control}/stop-traffic`);
    const truth = (await http('GET', `${s.line.control}/truth`)).json.cards;
    assert.ok(truth[0].truth.total > 0, 'traffic ran');
    assert.equal(truth[0].truth.generating, false);
    assert.notDeepEqual(truth[0].truth.lanes, truth[1].truth.lanes, 'card 1 uses seed + 1');

    const client = await connectClient(s.line.cards[1]!.port, { unitId: 3 });
    try {
      const count = pointOf(lc8.points, 'vehicle-count', 1);
      assert.equal(await readPointRaw(client, count), truth[1].truth.lanes['1']);

      const fault = await http('POST', `${s.line.control}/fault`, { card: 1, fault: { kind: 'exception', code: 6 } });
      assert.equal(fault.status, 200);
      await assert.rejects(readPointRaw(client, count), isException(6));
      assert.equal((await http('DELETE', `${s.line.control}/fault?card=1`)).status, 200);
      assert.equal(await readPointRaw(client, count), truth[1].truth.lanes['1']);

      const badCard = await http('POST', `${s.line.control}/fault`, { card: 5, fault: { kind: 'silent' } });
      assert.equal(badCard.status, 400);
      assert.match(badCard.json.error, /card must be an integer 0\.\.1, got 5/);
      const badFault = await http('POST', `${s.line.control}/fault`, { card: 0, fault: { kind: 'delay', ms: 'soon' } });
      assert.equal(badFault.status, 400);
      assert.match(badFault.json.error, /delay ms/);
      assert.equal((await http('GET', `${s.line.control}/nope`)).status, 404);
      assert.equal((await http('GET', `${s.line.control}/pause`)).status, 405);
    } finally {
      await closeClient(client);
    }

    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.match(s.stderr(), /"msg":"stopping simulators"/, 'pino logs go to stderr');
  });

  it('--port P gives the cards P, P+1, ...', async () => {
    const port = await freeConsecutivePorts(2);
    const s = await start(['loop', '--port', String(port), '--count', '2', '--start-paused', '--log-level', 'warn']);
    children.push(s.child);
    assert.deepEqual(
      s.line.cards.map((c) => c.port),
      [port, port + 1],
    );
    s.child.kill('SIGINT');
    assert.equal(await s.exited, 0, 'SIGINT exits 0 too');
  });

  it('--rtu-tcp-port: a bus of --count cards with consecutive unit ids, a builtin --profile, start hour, scenario, period and faults from flags', async () => {
    const ld4 = (await loadBuiltinProfiles()).get('lanxin-ld4')!;
    const dir = mkdtempSync(join(tmpdir(), 'quanlink-sim-cli-'));
    const scenarioFile = join(dir, 'incident.json');
    writeFileSync(scenarioFile, JSON.stringify({ scenario: [{ kind: 'incident', atS: 60, durationS: 600, lanes: [1], speedKmh: 12 }] }));
    try {
      const s = await start([
        'loop', '--rtu-tcp-port', '0', '--count', '2', '--unit-id', '5', '--profile', 'lanxin-ld4', '--start-hour', '7', '--time-of-day', 'weekday',
        '--scenario', scenarioFile, '--period-s', '20', '--time-scale', '300', '--window-s', '20', '--fault', '1:locked-on:2:flagged', '--fault', '0:bad-crc', '--log-level', 'warn',
      ]);
      children.push(s.child);
      assert.equal(s.line.bus?.kind, 'rtu-tcp');
      assert.ok(s.line.bus!.port! > 0);
      assert.deepEqual(s.line.cards, [
        { unitId: 5, profile: 'lanxin-ld4' },
        { unitId: 6, profile: 'lanxin-ld4' },
      ]);
      const client = await connectRtuTcpClient(s.line.bus!.port!, { unitId: 5, timeoutMs: 500 });
      try {
        await assert.rejects(client.readHoldingRegisters(0, 2), /CRC error/, '--fault 0:bad-crc');
        assert.equal((await http('DELETE', `${s.line.control}/fault?card=0&kind=bad-crc`)).status, 200);
        await waitFor(() => true);
        await new Promise((r) => setTimeout(r, 1200)); // 6 sim minutes: into the incident
        const truth = (await http('GET', `${s.line.control}/truth`)).json.cards;
        assert.equal(truth[0].unitId, 5);
        assert.match(truth[0].truth.clock, /^07:0\d:\d\d$/, '--start-hour 7');
        client.setID(6);
        assert.equal(await readPointValue(client, pointOf(ld4.points, 'occupancy', 2)), 100, '--fault 1:locked-on:2');
        assert.equal((await client.readDiscreteInputs(8 + 2, 1)).data[0], true, 'flagged: lane 2 loop fault bit');
        client.setID(5);
        assert.ok((await readPointValue(client, pointOf(ld4.points, 'speed', 1))) * 3.6 < 25, 'the scenario file slowed lane 1');

        const periods = await http('GET', `${s.line.control}/periods`);
        assert.equal(periods.status, 200);
        assert.equal(periods.json.periodS, 20, '--period-s');
        const first = periods.json.cards[1].periods[0];
        assert.equal(first.clock, '07:00:00');
        assert.deepEqual(first.lanes['2'].reported.faults, ['locked-on']);
        assert.equal(first.lanes['2'].reported.occupancyPct, 100);
        const minute = await http('GET', `${s.line.control}/periods?periodS=60&card=0&toS=120`);
        assert.deepEqual(minute.json.cards.map((c: { card: number }) => c.card), [0]);
        assert.deepEqual(minute.json.cards[0].periods.map((p: { clock: string }) => p.clock), ['07:00:00', '07:01:00']);
        assert.equal((await http('GET', `${s.line.control}/periods?periodS=7`)).status, 400);

        const chatter = await http('POST', `${s.line.control}/fault`, { card: 0, fault: { kind: 'chatter', lanes: [3, 4] } });
        assert.equal(chatter.status, 200);
        assert.deepEqual(chatter.json.faults, [{ kind: 'chatter', lanes: [3, 4], flagged: false, pulsesPerS: 25, pulseMs: 20 }]);
        const badLane = await http('POST', `${s.line.control}/fault`, { card: 0, fault: { kind: 'dead', lanes: [9] } });
        assert.equal(badLane.status, 400);
        assert.match(badLane.json.error, /lanes must be a non-empty list of lanes 1\.\.4, got \[9\]/);
        assert.equal((await http('DELETE', `${s.line.control}/fault?card=1&kind=locked-on&lanes=2`)).status, 200);
        assert.deepEqual((await http('GET', `${s.line.control}/truth`)).json.cards[1].truth.faults, []);
        assert.equal((await http('DELETE', `${s.line.control}/fault?kind=melt`)).status, 400);
      } finally {
        await closeClient(client);
      }
      s.child.kill('SIGTERM');
      assert.equal(await s.exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--rtu-serial: the cards answer on the serial device (socat pty pair)', async () => {
    const cable = await openSerialCable();
    try {
      const s = await start(['loop', '--rtu-serial', cable.devicePath, '--baud-rate', '38400', '--count', '2', '--seed', '3', '--rate', '2', '--time-scale', '20', '--log-level', 'warn']);
      children.push(s.child);
      assert.deepEqual(s.line.bus, { kind: 'rtu-serial', path: cable.devicePath, baudRate: 38400 });
      await new Promise((r) => setTimeout(r, 300));
      await http('POST', `${s.line.control}/pause`);
      const truth = (await http('GET', `${s.line.control}/truth`)).json.cards;
      const lc8 = (await loadBuiltinProfiles()).get('quanlink-lc8')!;
      const client = await connectRtuSerialClient(cable.clientPath, { baudRate: 38400 });
      try {
        for (const unitId of [1, 2]) {
          client.setID(unitId);
          assert.equal(await readPointRaw(client, pointOf(lc8.points, 'vehicle-count', 1)), truth[unitId - 1].truth.lanes['1'], `unit ${unitId}`);
        }
      } finally {
        await closeClient(client);
      }
      s.child.kill('SIGTERM');
      assert.equal(await s.exited, 0);
    } finally {
      await cable.close();
    }
  });

  it('--help explains the flags and exits 0', async () => {
    const r = run(['--help']);
    assert.equal(await r.exited, 0);
    const out = await r.stdout;
    for (const flag of [
      '--port', '--count', '--seed', '--rate', '--time-scale', '--unit-id', '--start-paused', '--control-port',
      '--profile ID|FILE', '--rtu-serial', '--rtu-tcp-port', '--baud-rate', '--start-hour', '--time-of-day', '--scenario', '--period-s', '--fault', 'GET /periods',
    ]) {
      assert.ok(out.includes(flag), flag);
    }
  });

  it('a start-up failure exits 1 naming the problem (the other cases run in-process in loop-command.test.ts)', async () => {
    const r = run(['loop', '--profile', 'no-such-profile']);
    assert.equal(await r.exited, 1);
    assert.match(r.stderr(), /could not start: --profile no-such-profile: not a builtin profile \(.*quanlink-lc8.*\) and not a loadable file/);
    assert.equal(await r.stdout, '');
  });

  it('bad flags give a clear error and exit code 2 (the other flag checks run in-process in loop-command.test.ts)', async () => {
    const runs: Array<[string, RegExp, ReturnType<typeof run>]> = [];
    for (const [args, message] of [
      [['loop', '--rate', 'fast'], /--rate must be a number >= 0, got 'fast'/],
      [['loop', '--fault', '0:melt'], /--fault '0:melt': kind must be one of exception, delay/],
      [[], /missing simulator kind/],
    ] as const) {
      runs.push([args.join(' '), message, run([...args])]);
    }
    for (const [what, message, r] of runs) {
      assert.equal(await r.exited, 2, what);
      assert.match(r.stderr(), message, what);
      assert.equal(await r.stdout, '', `${what}: nothing on stdout`);
    }
  });
});
