/** issue 6: `quanlink-edge discover` finds Modbus devices on simulators and names their profile. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { startLoopCardBus, startLoopCardSimulator, startVmsSimulator, type LoopCardSimulator, type VmsSimulator } from '@quanlink/simulators';
import { edge, freePort } from './helpers.js';

interface DiscoverJson {
  modbus: { address: string; unitId: number; transport: { kind: string; port: number }; matches: { profile: string; confidence: string }[]; misses: { profile: string; reason: string }[]; bind?: string[] }[];
  cameras: unknown[];
  unreachable: { target: string; reason: string }[];
}

describe('issue 6: discover (Modbus scan and identification)', () => {
  let card: LoopCardSimulator;
  let ld4: LoopCardSimulator;
  let sign: VmsSimulator;

  before(async () => {
    card = await startLoopCardSimulator({ seed: 6, unitId: 2 });
    ld4 = await startLoopCardSimulator({ seed: 7, profile: (await loadBuiltinProfiles()).get('lanxin-ld4')! });
    sign = await startVmsSimulator({ id: 'ramp-6', profile: 'quanlink-vms-r1', wire: 'modbus-tcp' });
  });
  after(async () => {
    await card?.close();
    await ld4?.close();
    await sign?.close();
  });

  it('issue 6: finds a loop card and a guidance screen on their ports, each with its profile, by model id', async () => {
    const r = await edge(['discover', '--modbus', `127.0.0.1:${card.port},127.0.0.1:${sign.port}`, '--units', '1-3', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const found = JSON.parse(r.stdout) as DiscoverJson;
    assert.deepEqual(
      found.modbus.map((u) => [u.transport.port, u.unitId, u.matches.map((m) => `${m.profile}/${m.confidence}`)]).sort(),
      [
        [card.port, 2, ['quanlink-lc8/high']],
        [sign.port, 1, ['quanlink-vms-r1/high']],
      ].sort(),
    );
    const lc8 = found.modbus.find((u) => u.transport.port === card.port)!;
    assert.deepEqual(lc8.bind, ['--profile', 'quanlink-lc8', '--host', '127.0.0.1', '--port', String(card.port), '--unit-id', '2']);
    // The others are told apart, with the reason.
    assert.match(lc8.misses.find((m) => m.profile === 'quanlink-vms-r1')!.reason, /model id 'VMS-R1' \(input-register 8\+3\): Modbus exception 2/);
  });

  it('issue 6: a card without a model id is found by its register layout (medium confidence), and prints a table', async () => {
    const r = await edge(['discover', '--modbus', `127.0.0.1:${ld4.port}`, '--units', '1']);
    assert.equal(r.status, 0, r.stderr);
    const [header, row] = r.stdout.split('\n');
    assert.match(header!, /^ADDRESS\s+UNIT\s+PROFILE\s+CONFIDENCE\s+NOTES$/);
    assert.match(row!, new RegExp(`^modbus-tcp://127\\.0\\.0\\.1:${ld4.port}/1\\s+1\\s+lanxin-ld4\\s+medium\\s+register layout matches`));
    assert.match(r.stdout, new RegExp(`quanlink-edge bind --config FILE --id ID --profile lanxin-ld4 --host 127\\.0\\.0\\.1 --port ${ld4.port} --unit-id 1`));
    assert.match(r.stderr, /scanning Modbus: 1\/1 done, 1 unit\(s\) answered/, 'progress goes to stderr');
  });

  it('issue 6: nothing on an empty port range is exit 3, each port reported unreachable', async () => {
    const port = await freePort();
    const r = await edge(['discover', '--modbus', `127.0.0.1:${port}`, '--units', '1-5', '--json']);
    assert.equal(r.status, 3, r.stderr);
    const found = JSON.parse(r.stdout) as DiscoverJson;
    assert.deepEqual(found.modbus, []);
    assert.deepEqual(found.unreachable.map((u) => u.target), [`modbus-tcp://127.0.0.1:${port}`]);
    assert.match(found.unreachable[0]!.reason, /ECONNREFUSED/);
    const range = await edge(['discover', '--modbus', `127.0.0.1:${port}-${port + 2}`, '--units', '1']);
    assert.equal(range.status, 3, range.stderr);
    assert.match(range.stdout, /^nothing found \(Modbus: /);
    assert.match(range.stderr, new RegExp(`modbus-tcp://127\\.0\\.0\\.1:${port}: unreachable: connect to`));
  });

  it('issue 6: a unit that does not answer is not reported (the card ignores other unit ids)', async () => {
    const r = await edge(['discover', '--modbus', `127.0.0.1:${card.port}`, '--units', '3-4', '--timeout-ms', '200', '--json']);
    assert.equal(r.status, 3, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as DiscoverJson).modbus, []);
  });

  it('issue 6: bad usage is exit 2 with the reason', async () => {
    for (const [args, reason] of [
      [['discover', '--modbus', '127.0.0.1:1', '--units', '5-1'], /--units 5-1: must be within 0-255, low to high/],
      [['discover', '--modbus', '127.0.0.1:99999'], /--modbus: port 99999 is not 1\.\.65535/],
      [['discover', '--modbus', '127.0.0.1:1', '--timeout-ms', '5'], /--timeout-ms must be 20\.\.10000/],
      [['discover', '--rtu-over-tcp'], /--rtu-over-tcp goes with --modbus/],
      [['discover', '--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = await edge([...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, reason);
    }
  });

  it('issue 6: scans an RTU line behind a serial-to-Ethernet converter, unit by unit, and tells the two card models apart', async () => {
    const profiles = await loadBuiltinProfiles();
    const bus = await startLoopCardBus({ transport: { kind: 'rtu-tcp' }, cards: [{ unitId: 3, seed: 1 }, { unitId: 5, seed: 2, profile: profiles.get('lanxin-ld4')! }] });
    try {
      assert.equal(bus.transport.kind, 'rtu-tcp');
      const port = bus.transport.kind === 'rtu-tcp' ? bus.transport.port : 0;
      const r = await edge(['discover', '--modbus', `127.0.0.1:${port}`, '--rtu-over-tcp', '--units', '1-6', '--timeout-ms', '150', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const found = JSON.parse(r.stdout) as DiscoverJson;
      assert.deepEqual(
        found.modbus.map((u) => [u.address, u.matches.map((m) => m.profile)]),
        [
          [`modbus-rtu-tcp://127.0.0.1:${port}/3`, ['quanlink-lc8']],
          [`modbus-rtu-tcp://127.0.0.1:${port}/5`, ['lanxin-ld4']],
        ],
      );
      assert.deepEqual(found.modbus[1]!.bind, ['--profile', 'lanxin-ld4', '--rtu-over-tcp', '--host', '127.0.0.1', '--port', String(port), '--unit-id', '5']);
    } finally {
      await bus.close();
    }
  });
});
