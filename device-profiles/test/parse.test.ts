import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ProfileError } from '../src/errors.js';
import { parseProfile } from '../src/parse.js';

/** A small valid profile; each bad case changes one thing in a fresh copy. */
function base(): Record<string, any> {
  return {
    schema: 'quanlink/device-profile@1',
    id: 'acme-ld2',
    kind: 'loop-detector',
    manufacturer: 'Acme',
    model: 'LD-2',
    protocol: 'modbus',
    wire: { wordOrder: 'little' },
    lanes: { count: 2, stride: 10 },
    resources: [
      { name: 'uptime', wire: { table: 'input-register', address: 0, type: 'uint32', wordOrder: 'big' }, value: { quantity: 'uptime', unit: 's' } },
      { name: 'count', perLane: true, wire: { table: 'input-register', address: 100, type: 'uint32' }, value: { quantity: 'vehicle-count', cumulative: true } },
      { name: 'speed', perLane: true, wire: { table: 'input-register', address: 102, type: 'float32', byteOrder: 'little' }, value: { unit: 'km/h', min: 0, max: 250 } },
      { name: 'period', wire: { table: 'holding-register', address: 10, type: 'uint16' }, value: { scale: 0.5, offset: 1, writable: true } },
      { name: 'present', perLane: true, wire: { table: 'discrete-input', address: 0, type: 'bool' } },
    ],
  };
}

function expectError(profile: unknown, path: string, problem: string | RegExp): ProfileError {
  const text = typeof profile === 'string' ? profile : stringify(profile);
  try {
    parseProfile(text, 'profiles/acme-ld2.yaml');
  } catch (err) {
    assert.ok(err instanceof ProfileError, `not a ProfileError: ${String(err)}`);
    assert.equal(err.file, 'profiles/acme-ld2.yaml');
    assert.equal(err.path, path, err.message);
    if (typeof problem === 'string') assert.equal(err.problem, problem);
    else assert.match(err.problem, problem);
    assert.equal(err.message, `profiles/acme-ld2.yaml: ${path}: ${err.problem}`);
    return err;
  }
  assert.fail(`accepted a profile that should fail at ${path}`);
}

describe('profile parsing', () => {
  it('resolves a valid profile: lanes expanded, defaults and overrides of byte and word order applied', () => {
    const profile = parseProfile(stringify(base()), 'acme.yaml');
    assert.equal(profile.source, 'acme.yaml');
    assert.equal(profile.lanes, 2);
    assert.deepEqual(
      profile.points.map((p) => [p.key, p.lane, p.wire.table, p.wire.address, p.wire.byteOrder, p.wire.wordOrder]),
      [
        ['uptime', undefined, 'input-register', 0, 'big', 'big'],
        ['lane1.count', 1, 'input-register', 100, 'big', 'little'],
        ['lane2.count', 2, 'input-register', 110, 'big', 'little'],
        ['lane1.speed', 1, 'input-register', 102, 'little', 'little'],
        ['lane2.speed', 2, 'input-register', 112, 'little', 'little'],
        ['period', undefined, 'holding-register', 10, 'big', 'little'],
        ['lane1.present', 1, 'discrete-input', 0, 'big', 'little'],
        ['lane2.present', 2, 'discrete-input', 10, 'big', 'little'],
      ],
    );
    const byKey = new Map(profile.points.map((p) => [p.key, p]));
    assert.deepEqual(byKey.get('lane2.count'), {
      key: 'lane2.count',
      resource: 'count',
      lane: 2,
      wire: { table: 'input-register', address: 110, type: 'uint32', byteOrder: 'big', wordOrder: 'little' },
      scale: 1,
      offset: 0,
      quantity: 'vehicle-count',
      cumulative: true,
      counterBits: 32,
      writable: false,
    });
    assert.deepEqual([byKey.get('period')?.scale, byKey.get('period')?.offset, byKey.get('period')?.writable], [0.5, 1, true]);
    assert.equal(parseProfile(stringify(base())).source, '<inline>');
  });

  it('reads hexadecimal addresses and keeps read hints', () => {
    const p = base();
    p.modbus = { maxRegistersPerRead: 64, maxGap: 2 };
    const text = stringify(p).replace(/address: 10\n/, 'address: 0x0A\n');
    assert.match(text, /address: 0x0A/);
    const profile = parseProfile(text);
    assert.equal(profile.points.find((x) => x.key === 'period')?.wire.address, 10);
    assert.deepEqual(profile.modbus, { maxRegistersPerRead: 64, maxGap: 2 });
  });

  describe('refuses a bad profile, naming file, field and problem', () => {
    const cases: [string, (p: Record<string, any>) => void, string, string | RegExp][] = [
      ['a missing field', (p) => delete p.model, 'model', 'is missing'],
      ['a missing wire field', (p) => delete p.resources[1].wire.type, 'resources[1].wire.type', 'is missing'],
      ['an unknown top-level field', (p) => (p.vendor = 'x'), 'vendor', /^unknown field 'vendor' \(known: schema, id, kind, .*resources\)$/],
      ['a misspelt wire field', (p) => (p.resources[2].wire.adress = 5), 'resources[2].wire.adress', /^unknown field 'adress' \(known: table, address, type, byteOrder, wordOrder\)$/],
      ['an unknown schema version', (p) => (p.schema = 'quanlink/device-profile@2'), 'schema', 'must be "quanlink/device-profile@1", got "quanlink/device-profile@2"'],
      ['a bad id', (p) => (p.id = 'Acme LD2'), 'id', /^"Acme LD2" does not match/],
      ['a bad kind', (p) => (p.kind = 'radar'), 'kind', 'must be one of loop-detector, vms, camera, got "radar"'],
      ['a bad table', (p) => (p.resources[0].wire.table = 'input'), 'resources[0].wire.table', /^must be one of coil, discrete-input, input-register, holding-register, got "input"$/],
      ['a bad raw type', (p) => (p.resources[2].wire.type = 'float16'), 'resources[2].wire.type', /^must be one of bool, int16, .*float64, got "float16"$/],
      ['a bad word order', (p) => (p.wire.wordOrder = 'middle'), 'wire.wordOrder', 'must be one of big, little, got "middle"'],
      ['an address that is not an integer', (p) => (p.resources[0].wire.address = 1.5), 'resources[0].wire.address', 'expected integer, got 1.5'],
      ['an address as text', (p) => (p.resources[0].wire.address = 'ten'), 'resources[0].wire.address', 'expected integer, got "ten"'],
      ['an address beyond 65535', (p) => (p.resources[3].wire.address = 65536), 'resources[3].wire.address', 'expected integer to be less or equal to 65535, got 65536'],
      ['a value running past 65535', (p) => (p.resources[0].wire.address = 65535), 'resources[0].wire.address', 'uptime: uint32 at address 65535 runs past the last address 65535'],
      ['a lane running past 65535', (p) => (p.resources[1].wire.address = 65530), 'resources[1].wire.address', 'lane2.count: uint32 at address 65540 runs past the last address 65535'],
      ['no resources', (p) => (p.resources = []), 'resources', /^expected array length to be greater or equal to 1/],
      ['a duplicate resource name', (p) => (p.resources[3].name = 'count'), 'resources[3].name', "duplicate resource name 'count' (also resources[1])"],
      ['a resource name that cannot be a key', (p) => (p.resources[3].name = 'lane.count'), 'resources[3].name', /does not match/],
      ['perLane without lanes', (p) => delete p.lanes, 'resources[1].perLane', 'a per-lane resource needs lanes: { count, stride } at the top of the profile'],
      ['lanes of zero', (p) => (p.lanes.count = 0), 'lanes.count', /greater or equal to 1/],
      ['a cumulative float', (p) => (p.resources[2].value.cumulative = true), 'resources[2].value.cumulative', 'a cumulative counter must be an unsigned integer (uint16, uint32, uint64), not float32'],
      ['a cumulative signed integer', (p) => (p.resources[1].wire.type = 'int32'), 'resources[1].value.cumulative', /not int32$/],
      ['scale 0', (p) => (p.resources[3].value.scale = 0), 'resources[3].value.scale', 'must not be 0: every value would read as the offset'],
      ['min above max', (p) => (p.resources[2].value.min = 300), 'resources[2].value.min', 'min 300 is above max 250'],
      ['a writable input register', (p) => (p.resources[0].value.writable = true), 'resources[0].value.writable', 'a input-register is read-only; only coils and holding registers can be writable'],
      ['a writable discrete input', (p) => (p.resources[4].value = { writable: true }), 'resources[4].value.writable', /discrete-input is read-only/],
      ['a bool in a register table', (p) => (p.resources[3].wire.type = 'bool'), 'resources[3].wire.type', 'a holding-register holds 16-bit words; bool is only for coils and discrete inputs'],
      ['a word type in a bit table', (p) => (p.resources[4].wire.type = 'uint16'), 'resources[4].wire.type', 'a discrete-input holds single bits, so its type must be bool, not uint16'],
      ['a boolean as text', (p) => (p.resources[1].perLane = 'yes'), 'resources[1].perLane', 'expected boolean, got "yes"'],
      [
        'lanes that overlap each other',
        (p) => (p.lanes.stride = 3),
        'resources[2].wire.address',
        'lane1.speed (input-register 102..103) overlaps lane2.count (input-register 103..104)',
      ],
      [
        'two resources on one register',
        (p) => {
          p.resources[3].wire = { table: 'input-register', address: 1, type: 'uint16' };
          p.resources[3].value = {};
        },
        'resources[3].wire.address',
        'period (input-register 1) overlaps uptime (input-register 0..1)',
      ],
      ['per-lane bits that collide', (p) => (p.resources.push({ name: 'fault', wire: { table: 'discrete-input', address: 10, type: 'bool' } })), 'resources[5].wire.address', 'fault (discrete-input 10) overlaps lane2.present (discrete-input 10)'],
    ];
    for (const [what, change, path, problem] of cases) {
      it(what, () => {
        const p = base();
        change(p);
        expectError(p, path, problem);
      });
    }

    it('the same register in different tables is not an overlap', () => {
      const p = base();
      p.resources[3].wire.address = 0; // holding 0 vs input 0
      assert.doesNotThrow(() => parseProfile(stringify(p)));
    });

    it('an empty file', () => void expectError('', '(profile)', 'the file is empty'));
    it('a YAML list instead of a mapping', () => void expectError('- a\n- b\n', '(profile)', 'expected object, got ["a","b"]'));
    it('non-finite numbers (.inf)', () => {
      const text = stringify(base()).replace('scale: 0.5', 'scale: .inf');
      expectError(text, 'resources[3].value.scale', 'expected number, got Infinity');
    });
  });

  describe('reports YAML syntax errors with line and column', () => {
    it('a duplicate key', () => {
      const err = expectError('schema: quanlink/device-profile@1\nid: a1\nid: a2\n', 'line 3, column 1', 'Map keys must be unique');
      assert.equal(err.line, 3);
    });
    it('an unclosed bracket', () => void expectError('schema: x\nresources: [\n', 'line 3, column 1', /Flow sequence|Missing/));
    it('tab indentation', () => void expectError('resources:\n\t- name: x\n', 'line 2, column 1', /Tabs are not allowed/));
    it('two documents in one file', () => void expectError('id: a\n---\nid: b\n', 'line 2, column 1', 'a profile file holds one YAML document; found a second one'));
  });

  it('points schema errors at the line of the offending field', () => {
    const text = stringify(base()).replace('type: float32', 'type: float16');
    const err = expectError(text, 'resources[2].wire.type', /got "float16"/);
    const line = text.split('\n').findIndex((l) => l.includes('float16')) + 1;
    assert.equal(err.line, line);
  });
});
