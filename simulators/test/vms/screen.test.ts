/**
 * Issue 4: the wire-less core of the VMS simulator (what it shows, how it judges messages, its
 * PNG preview) and the in-process driver built on it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { DeviceError } from '@quanlink/firmware-bridge';
import { defaultsFor, messageCrc, parseMulti, prepareContent, renderPages } from '@quanlink/sign-content';
import { createInProcessSignDriver } from '../../src/vms/in-process-driver.js';
import { VmsScreen } from '../../src/vms/screen.js';

const profiles = await loadBuiltinProfiles();
const ramp = profiles.get('quanlink-vms-r1')!;
const caps = ramp.sign!.capabilities;

function message(multi: string): { multi: string; crc: number } {
  const prepared = prepareContent({ multi }, caps);
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('; '));
  return { multi: prepared.multi, crc: prepared.crc };
}

describe('issue 4: VmsScreen', () => {
  it('the preview is what is displayed: its PNGs are byte-identical to renderPages of the same content', async () => {
    const screen = VmsScreen.fromProfile('ramp-1', ramp);
    const shown = message('[jl3][cf1]前方事故[nl][cf9]KEEP RIGHT[np][jl3][fo2]60');
    assert.deepEqual(screen.display(shown.multi, shown.crc), { ok: true });
    for (const scale of [1, 3]) {
      const preview = await screen.renderPng({ scale });
      const expected = await renderPages(parseMulti(shown.multi, defaultsFor(caps)), caps, { scale });
      assert.equal(preview.length, 2, 'two pages');
      preview.forEach((png, i) => assert.ok(png.equals(expected[i]!), `page ${i + 1} at scale ${scale}`));
    }
    assert.equal((await screen.renderPng())[0]!.subarray(1, 4).toString(), 'PNG');
  });

  it('a blank screen renders as renderPages of blank content', async () => {
    const screen = VmsScreen.fromProfile('ramp-1', ramp);
    const [png] = await screen.renderPng();
    assert.ok(png!.equals((await renderPages({ pages: [] }, caps))[0]!));
  });

  it('judges messages: CRC first, then MULTI syntax, then fit; a refusal keeps what is shown', () => {
    const screen = VmsScreen.fromProfile('ramp-1', ramp);
    const ok = message('OK');
    screen.display(ok.multi, ok.crc);
    const refused = (multi: string, crc = messageCrc(multi)) => {
      const r = screen.display(multi, crc);
      assert.equal(r.ok, false);
      return r.ok ? undefined : [r.rejection.code, r.message, screen.status().lastError, screen.status().activationRejected];
    };
    assert.deepEqual(refused('HELLO', 1)?.slice(0, 1), ['CrcMismatch']);
    assert.deepEqual(refused('[nl9x]')?.slice(0, 1), ['MultiSyntax']);
    assert.match(String(refused('[fo7]X')?.[1]), /^does not fit the sign: page 1/);
    assert.deepEqual(refused('A'.repeat(1025))?.slice(2), [3, true]);
    assert.equal(screen.shown().multi, ok.multi);
    screen.display(ok.multi, ok.crc);
    assert.deepEqual([screen.status().lastError, screen.status().activationRejected], [0, false]);
  });

  it('keeps a history of what was shown, and refuses bad faults naming the field', () => {
    let now = 1000;
    const screen = new VmsScreen({ id: 's', capabilities: caps, now: () => now, historyLimit: 3 });
    for (const text of ['A', 'B', 'C']) {
      now += 10;
      const m = message(text);
      screen.display(m.multi, m.crc);
    }
    assert.deepEqual(
      screen.history().map((m) => [m.multi, m.since]),
      [
        ['A', 1010],
        ['B', 1020],
        ['C', 1030],
      ],
    );
    assert.throws(() => screen.setFaults({ slowMs: -1 }), /slowMs must be an integer 0\.\.600000, got -1/);
    assert.throws(() => screen.setFaults({ melt: true } as never), /unknown fault 'melt' \(known: offline, slowMs/);
    assert.throws(() => screen.setFaults({ pixelFailures: 128 * 32 + 1 }), /pixelFailures must be an integer 0\.\.4096/);
    assert.throws(() => screen.setFaults({ reject: 'yes' } as never), /reject must be true or false/);
    assert.deepEqual(screen.faults().slowMs, 0, 'a refused change changes nothing');
  });

  it('fails the same pixels for the same id and count', () => {
    const a = VmsScreen.fromProfile('ramp-1', ramp);
    const b = VmsScreen.fromProfile('ramp-1', ramp);
    a.setFaults({ pixelFailures: 30 });
    b.setFaults({ pixelFailures: 30 });
    assert.deepEqual(a.deadPixels(), b.deadPixels());
    assert.equal(new Set(a.deadPixels().map((p) => `${p.x},${p.y}`)).size, 30);
    assert.ok(a.deadPixels().every((p) => p.x >= 0 && p.x < 128 && p.y >= 0 && p.y < 32));
  });

  it('refuses a profile that is not a sign', () => {
    assert.throws(() => VmsScreen.fromProfile('x', profiles.get('quanlink-lc8')!), /profile quanlink-lc8 is a loop-detector profile, not a vms/);
  });
});

describe('issue 4: in-process sign driver', () => {
  it('drives a screen like the wire drivers do, with their error codes', async () => {
    const screen = VmsScreen.fromProfile('ramp-9', ramp);
    const driver = createInProcessSignDriver(screen, { latencyMs: 1 });
    const m = message('[jl3]CLOSED');
    await driver.display(m.multi, m.crc);
    assert.equal((await driver.readState()).displayedCrc, m.crc);
    const err = await driver.display(m.multi, m.crc ^ 1).catch((e: unknown) => e);
    assert.ok(err instanceof DeviceError);
    assert.equal(err.code, 'SignRejected');
    assert.match(err.message, /^ramp-9: display: sign rejected the message: CRC mismatch/);
    screen.setFaults({ offline: true });
    assert.equal(driver.state, 'backoff');
    assert.equal(((await driver.readState().catch((e: unknown) => e)) as DeviceError).code, 'SignUnreachable');
    screen.clearFaults();
    await driver.blank();
    assert.equal((await driver.readState()).displayedCrc, 0);
    await driver.close();
    assert.equal(driver.state, 'closed');
  });
});
