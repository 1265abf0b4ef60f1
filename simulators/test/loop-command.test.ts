/**
 * The `loop` command's flags and start-up, in-process (cli.test.ts runs the real process for exit
 * codes, stdout and signals).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, parseCommand, startLoop, type LoopCommand } from '../src/loop-command.js';
import { capturingLogger } from './helpers/modbus-clients.js';

const parse = (...args: string[]): LoopCommand => {
  const cmd = parseCommand(['loop', ...args]);
  assert.notEqual(cmd, 'help');
  return cmd as LoopCommand;
};

describe('loop command: flags', () => {
  it('defaults, and every flag read into the command', () => {
    const d = parse();
    assert.deepEqual(
      [d.host, d.port, d.count, d.unitId, d.seed, d.rate, d.timeOfDay, d.startHour, d.platoonShare, d.timeScale, d.windowS, d.periodS, d.faults, d.rtuSerial, d.rtuTcpPort, d.baudRate],
      ['127.0.0.1', 0, 1, 1, 1, 0.3, 'flat', 0, 0, 1, 1, 30, [], undefined, undefined, 19200],
    );
    const c = parse('--rtu-serial', '/dev/ttyX', '--baud-rate', '9600', '--count', '3', '--unit-id', '10', '--start-hour', '17.5', '--time-of-day', 'weekday',
      '--platoon-share', '0.25', '--period-s', '60', '--window-s', '20', '--profile', 'lanxin-ld4', '--scenario', 'x.json',
      '--fault', '2:chatter:1,4:flagged', '--fault', '0:exception:6', '--fault', '1:delay:250', '--fault', '1:constant');
    assert.deepEqual(
      [c.rtuSerial, c.baudRate, c.count, c.unitId, c.startHour, c.timeOfDay, c.platoonShare, c.periodS, c.windowS, c.profile, c.scenarioFile],
      ['/dev/ttyX', 9600, 3, 10, 17.5, 'weekday', 0.25, 60, 20, 'lanxin-ld4', 'x.json'],
    );
    assert.deepEqual(c.faults, [
      { card: 2, fault: { kind: 'chatter', lanes: [1, 4], flagged: true } },
      { card: 0, fault: { kind: 'exception', code: 6 } },
      { card: 1, fault: { kind: 'delay', ms: 250 } },
      { card: 1, fault: { kind: 'constant' } },
    ]);
    assert.equal(parseCommand(['--help']), 'help');
  });

  it('bad flags are usage errors that name the flag and what it must be', () => {
    for (const [args, message] of [
      [['loop', '--count', '0'], /--count must be an integer 1\.\.1000, got '0'/],
      [['loop', '--unit-id', '300'], /--unit-id must be an integer 1\.\.255, got '300'/],
      [['loop', '--colour', 'red'], /Unknown option '--colour'/],
      [['camera'], /unknown simulator 'camera'/],
      [['loop', '--rtu-serial', '/dev/x', '--rtu-tcp-port', '0'], /--rtu-serial and --rtu-tcp-port exclude each other/],
      [['loop', '--rtu-tcp-port', '0', '--port', '502'], /--port is for Modbus TCP cards/],
      [['loop', '--baud-rate', '9600'], /--baud-rate needs --rtu-serial/],
      [['loop', '--rtu-tcp-port', '0', '--unit-id', '248'], /--unit-id must be an integer 1\.\.247, got '248'/],
      [['loop', '--rtu-tcp-port', '0', '--unit-id', '247', '--count', '2'], /--unit-id 247 with --count 2 goes past RTU address 247/],
      [['loop', '--start-hour', '24'], /--start-hour must be a number 0\.\.24 \(exclusive\), got '24'/],
      [['loop', '--time-of-day', 'rush'], /--time-of-day must be flat or weekday, got 'rush'/],
      [['loop', '--period-s', '7'], /--period-s: periodS must be a whole number of seconds that divides 3600/],
      [['loop', '--platoon-share', '2'], /--platoon-share must be a number 0\.\.1, got '2'/],
      [['loop', '--fault', 'x:silent'], /--fault 'x:silent': card must be 0\.\.0/],
      [['loop', '--count', '2', '--fault', '2:silent'], /--fault '2:silent': card must be 0\.\.1/],
      [['loop', '--fault', '0:exception'], /exception needs an argument/],
      [['loop', '--fault', '0:silent:3'], /silent takes no argument/],
      [['loop', '--fault', '0:exception:300'], /exception code must be an integer 1\.\.255, got 300/],
      [['loop', '--fault', '0:silent:flagged'], /only lane faults can be flagged/],
      [['loop', '--fault', '0:dead:a,b'], /lanes must be a non-empty list of lanes/],
    ] as const) {
      assert.throws(() => parseCommand([...args]), (err: unknown) => err instanceof UsageError && message.test(err.message), args.join(' '));
    }
  });
});

describe('loop command: start-up', () => {
  it('start-up failures name the problem and leave nothing running', async () => {
    const { logger } = capturingLogger();
    const dir = mkdtempSync(join(tmpdir(), 'quanlink-sim-cmd-'));
    const badScenario = join(dir, 'bad.json');
    writeFileSync(badScenario, JSON.stringify([{ kind: 'incident', atS: 10, durationS: 60, speedKmh: 15, lanes: [12] }]));
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"scenario": [');
    try {
      for (const [args, message] of [
        [['--profile', 'no-such-profile'], /--profile no-such-profile: not a builtin profile \(.*lanxin-ld4.*quanlink-lc8.*\) and not a loadable file/],
        [['--scenario', join(dir, 'missing.json')], /--scenario .*missing\.json: cannot read/],
        [['--scenario', badScenario], /bad\.json: scenario\[0\]\.lanes must be a non-empty list of lanes 1\.\.8, got \[12\]/],
        [['--scenario', notJson], /not\.json: not valid JSON/],
        [['--fault', '0:bad-crc'], /bad-crc needs an RTU transport/],
        [['--fault', '0:locked-on:9'], /lanes must be a non-empty list of lanes 1\.\.8, got \[9\]/],
        [['--rtu-tcp-port', '0', '--count', '2', '--fault', '1:drop', '--profile', 'lanxin-ld4', '--fault', '0:dead:5'], /lanes 1\.\.4, got \[5\]/],
        [['--rtu-serial', join(dir, 'no-tty')], /cannot open serial device/],
      ] as const) {
        await assert.rejects(startLoop(parse('--start-paused', ...args), logger), message, args.join(' '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a started loop reports where it listens and closes cleanly', async () => {
    const { logger } = capturingLogger();
    const running = await startLoop(parse('--count', '2', '--profile', 'lanxin-ld4', '--start-paused'), logger);
    try {
      const cards = running.line['cards'] as Array<{ port: number; unitId: number; profile: string }>;
      assert.deepEqual(
        cards.map((c) => [c.unitId, c.profile]),
        [
          [1, 'lanxin-ld4'],
          [1, 'lanxin-ld4'],
        ],
        'Modbus TCP cards: one port each, the same unit id',
      );
      const truth = (await (await fetch(`${String(running.line['control'])}/truth`)).json()) as { cards: unknown[] };
      assert.equal(truth.cards.length, 2);
    } finally {
      await running.close();
    }
  });
});
