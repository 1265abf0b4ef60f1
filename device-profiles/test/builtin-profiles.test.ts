/**
 * Checks every profile shipped in device-profiles/profiles: each one loads, ids and keys are
 * unique, per-lane resources exist for every lane, and the driver can plan reads of all points.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { checkModbusSignWire, messageAreaBytes, planReads } from '@quanlink/firmware-bridge';
import { GANTRY_SIGN_192x64, RAMP_SIGN_128x32, checkCapabilities } from '@quanlink/sign-content';
import { BUILTIN_PROFILES_DIR, loadBuiltinProfiles, loadProfileDir } from '../src/load.js';
import type { DeviceProfile } from '../src/types.js';

const { profiles, errors } = await loadProfileDir(BUILTIN_PROFILES_DIR);

describe('every builtin profile', () => {
  it('loads without errors, and there is at least one', () => {
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
    assert.ok(profiles.length >= 1);
  });

  it('has a unique id, matching its file name', () => {
    const ids = profiles.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids.join(', ')}`);
    for (const p of profiles) assert.equal(basename(p.source).replace(/\.ya?ml$/, ''), p.id);
  });

  for (const profile of profiles) {
    describe(profile.id, () => {
      it('has unique point keys', () => {
        const keys = profile.points.map((p) => p.key);
        assert.equal(new Set(keys).size, keys.length);
      });

      it('has every per-lane resource on every lane, at the lane stride', () => {
        const perLane = new Map<string, DeviceProfile['points']>();
        for (const p of profile.points) if (p.lane !== undefined) perLane.set(p.resource, [...(perLane.get(p.resource) ?? []), p]);
        if (perLane.size > 0) assert.ok(profile.lanes, 'per-lane points need a lane count');
        for (const [resource, points] of perLane) {
          assert.deepEqual(
            points.map((p) => p.lane),
            Array.from({ length: profile.lanes! }, (_, i) => i + 1),
            `${resource} on lanes`,
          );
          for (const p of points) assert.equal(p.key, `lane${p.lane}.${resource}`);
          const strides = new Set(points.slice(1).map((p, i) => p.wire.address - points[i]!.wire.address));
          assert.ok(strides.size <= 1, `${resource}: lanes are not evenly spaced`);
        }
      });

      it('can be read by the Modbus driver, honouring its own read hints', () => {
        assert.doesNotThrow(() => planReads(profile.points, profile.modbus ?? {}));
      });

      it('is a sign exactly when its kind is vms, with the one wire its protocol names (issue 4)', () => {
        assert.equal(profile.sign !== undefined, profile.kind === 'vms');
        if (!profile.sign) return;
        assert.deepEqual(checkCapabilities(profile.sign.capabilities), []);
        assert.deepEqual(Object.keys(profile.sign).filter((k) => k !== 'capabilities'), [profile.protocol]);
        if (profile.sign.modbus) {
          assert.equal(checkModbusSignWire(profile.sign.modbus), undefined);
          assert.ok(messageAreaBytes(profile.sign.modbus) >= profile.sign.capabilities.maxMultiLength);
        }
      });

      it('gives counters an unsigned type and a width', () => {
        for (const p of profile.points.filter((x) => x.cumulative)) {
          assert.match(p.wire.type, /^uint(16|32|64)$/, p.key);
          assert.equal(p.counterBits, Number(p.wire.type.slice(4)), p.key);
        }
      });
    });
  }

  it('loadBuiltinProfiles returns them by id', async () => {
    const byId = await loadBuiltinProfiles();
    assert.deepEqual([...byId.keys()].sort(), profiles.map((p) => p.id).sort());
  });
});

describe('quanlink-lc8', () => {
  const lc8 = profiles.find((p) => p.id === 'quanlink-lc8');

  it('is an 8-lane loop detector over Modbus', () => {
    assert.ok(lc8);
    assert.equal(lc8.kind, 'loop-detector');
    assert.equal(lc8.protocol, 'modbus');
    assert.equal(lc8.lanes, 8);
  });

  it('has per lane a cumulative count, occupancy and speed as the simulator expects them', () => {
    for (let lane = 1; lane <= 8; lane++) {
      const at = (name: string) => lc8!.points.find((p) => p.key === `lane${lane}.${name}`);
      const base = 100 + (lane - 1) * 5;
      assert.deepEqual(
        [at('count')?.wire.address, at('count')?.wire.type, at('count')?.quantity, at('count')?.unit, at('count')?.cumulative, at('count')?.counterBits],
        [base, 'uint32', 'vehicle-count', 'veh', true, 32],
      );
      assert.deepEqual(
        [at('occupancy')?.wire.type, at('occupancy')?.quantity, at('occupancy')?.unit, at('occupancy')?.scale, at('occupancy')?.min, at('occupancy')?.max],
        ['uint16', 'occupancy', '%', 0.1, 0, 100],
      );
      assert.deepEqual([at('speed')?.wire.type, at('speed')?.quantity, at('speed')?.unit, at('speed')?.scale], ['uint16', 'speed', 'km/h', 0.1]);
      for (const name of ['count', 'occupancy', 'speed']) assert.equal(at(name)?.wire.table, 'input-register');
    }
  });

  it('has device-level uptime (s) and firmware version', () => {
    const uptime = lc8!.points.find((p) => p.key === 'uptime');
    assert.deepEqual([uptime?.wire.type, uptime?.quantity, uptime?.unit, uptime?.lane], ['uint32', 'uptime', 's', undefined]);
    assert.equal(lc8!.points.find((p) => p.key === 'firmwareVersion')?.wire.type, 'uint16');
  });

  it('is polled in two reads: device block and the 8 lanes', () => {
    assert.deepEqual(
      planReads(lc8!.points, lc8!.modbus ?? {}).map((b) => [b.table, b.address, b.count]),
      [
        ['input-register', 0, 3],
        ['input-register', 100, 40],
      ],
    );
  });
});

describe('lanxin-ld4: a second vendor, laid out unlike quanlink-lc8', () => {
  const ld4 = profiles.find((p) => p.id === 'lanxin-ld4');
  const at = (lane: number, name: string) => ld4!.points.find((p) => p.key === `lane${lane}.${name}`);

  it('is a 4-lane loop detector over Modbus', () => {
    assert.ok(ld4);
    assert.equal(ld4.kind, 'loop-detector');
    assert.equal(ld4.lanes, 4);
  });

  it('keeps its lane values in holding registers, 32-bit words low first, at stride 8 from 16', () => {
    for (let lane = 1; lane <= 4; lane++) {
      const base = 16 + (lane - 1) * 8;
      for (const name of ['count', 'countShort', 'countMedium', 'countLong', 'speed', 'occupancy']) {
        assert.equal(at(lane, name)?.wire.table, 'holding-register', `${name} lane ${lane}`);
        assert.equal(at(lane, name)?.wire.wordOrder, 'little', `${name} lane ${lane}`);
      }
      assert.deepEqual(
        [at(lane, 'count')?.wire.address, at(lane, 'count')?.wire.type, at(lane, 'count')?.quantity, at(lane, 'count')?.counterBits],
        [base, 'uint16', 'vehicle-count', 16],
        'a 16-bit count that wraps at 65536',
      );
      assert.deepEqual(
        ['countShort', 'countMedium', 'countLong'].map((n) => [at(lane, n)?.quantity, at(lane, n)?.cumulative, at(lane, n)?.counterBits]),
        [
          ['vehicle-count-short', true, 16],
          ['vehicle-count-medium', true, 16],
          ['vehicle-count-long', true, 16],
        ],
      );
      assert.deepEqual([at(lane, 'speed')?.wire.address, at(lane, 'speed')?.wire.type, at(lane, 'speed')?.unit], [base + 4, 'float32', 'm/s']);
      assert.deepEqual([at(lane, 'occupancy')?.wire.address, at(lane, 'occupancy')?.unit, at(lane, 'occupancy')?.scale], [base + 6, '%', 0.01]);
    }
  });

  it('has per lane discrete inputs for presence, dual-loop speed and loop fault', () => {
    for (let lane = 1; lane <= 4; lane++) {
      assert.deepEqual(
        ['presence', 'dualLoopSpeed', 'loopFault'].map((n) => [at(lane, n)?.wire.table, at(lane, n)?.wire.address, at(lane, n)?.quantity]),
        [
          ['discrete-input', (lane - 1) * 8, 'presence'],
          ['discrete-input', (lane - 1) * 8 + 1, 'dual-loop-speed'],
          ['discrete-input', (lane - 1) * 8 + 2, 'loop-fault'],
        ],
      );
    }
  });

  it('is polled in three reads that span its holes (it answers them)', () => {
    assert.deepEqual(ld4!.modbus, { maxRegistersPerRead: 32, maxGap: 8 });
    assert.deepEqual(
      planReads(ld4!.points, ld4!.modbus ?? {}).map((b) => [b.table, b.address, b.count]),
      [
        ['discrete-input', 0, 27],
        ['holding-register', 0, 3],
        ['holding-register', 16, 31],
      ],
    );
  });
});

describe('issue 4: quanlink-vms-r1, a Modbus ramp sign', () => {
  const r1 = profiles.find((p) => p.id === 'quanlink-vms-r1');

  it('is a vms over Modbus with the capabilities of the 128x32 ramp sign', () => {
    assert.ok(r1);
    assert.deepEqual([r1.kind, r1.protocol, r1.points], ['vms', 'modbus', []]);
    assert.deepEqual(r1.sign?.capabilities, RAMP_SIGN_128x32);
  });

  it('keeps length, CRC and message in consecutive holding registers, and its state in input registers 0-3', () => {
    assert.deepEqual(r1!.sign?.modbus, {
      messageArea: { address: 16, registers: 512 },
      messageLength: 14,
      expectedCrc: 15,
      activate: 0,
      brightness: 1,
      status: 0,
      statusBits: { doorOpen: 0, powerFault: 1, controllerFault: 2, pixelFailure: 3, activationRejected: 4 },
      pixelFailures: 1,
      displayedCrc: 2,
      lastError: 3,
    });
    assert.equal(r1!.sign?.mqtt, undefined);
  });
});

describe('issue 4: quanlink-vms-g1, an MQTT JSON gantry sign', () => {
  const g1 = profiles.find((p) => p.id === 'quanlink-vms-g1');

  it('is a vms over MQTT with the capabilities of the 192x64 gantry sign and a per-device topic base', () => {
    assert.ok(g1);
    assert.deepEqual([g1.kind, g1.protocol, g1.points], ['vms', 'mqtt', []]);
    assert.deepEqual(g1.sign?.capabilities, GANTRY_SIGN_192x64);
    assert.deepEqual(g1.sign?.mqtt, { topicBase: 'vms/{device}' });
    assert.equal(g1.sign?.modbus, undefined);
  });
});

describe('issue 5: onvif-camera, the generic ONVIF camera', () => {
  const camera = profiles.find((p) => p.id === 'onvif-camera');

  it('is a camera over ONVIF with no Modbus points and no sign', () => {
    assert.ok(camera);
    assert.deepEqual([camera.kind, camera.protocol, camera.points, camera.sign], ['camera', 'onvif', [], undefined]);
  });
});
