import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLASSIC_COLOURS, MultiSyntaxError, normaliseContent, parseMulti, toMulti,
  type LineJustification, type MultiDefaults, type PageJustification, type SignContent, type SignLine, type SignPage, type TextRun,
} from '@quanlink/sign-content';

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof seeded>;

const CHARS = ['A', 'b', '7', ' ', '[', ']', '前', '方', '拥', '堵', '.', 'é', '😀', '-', '→'];
const LINE_J: LineJustification[] = ['left', 'center', 'right', 'full'];
const PAGE_J: PageJustification[] = ['top', 'middle', 'bottom'];

function genRun(r: Rng): TextRun {
  const text = Array.from({ length: r.int(1, 5) }, () => r.pick(CHARS)).join('');
  const colour = r.next() < 0.6 ? r.pick(CLASSIC_COLOURS).hex : `#${r.int(0, 0xffffff).toString(16).padStart(6, '0')}`;
  const run: TextRun = { text, font: r.int(1, 3), colour };
  if (r.next() < 0.25) run.flash = { onDs: r.int(0, 9), offDs: r.int(0, 9) };
  return run;
}

const sameStyle = (a: TextRun, b: TextRun) =>
  a.font === b.font && a.colour === b.colour && JSON.stringify(a.flash) === JSON.stringify(b.flash);

/** Canonical content by construction (see normaliseContent for the rules). */
function genContent(r: Rng, defaults: MultiDefaults): SignContent {
  let lastLine: LineJustification = 'left';
  let lastPage: PageJustification = 'top';
  const pages: SignPage[] = Array.from({ length: r.int(0, 4) }, () => {
    const count = r.pick([0, 1, 1, 2, 3, 4]);
    const lines: SignLine[] = Array.from({ length: count }, (_, l) => {
      const empty = count > 1 && r.next() < 0.2;
      const runs: TextRun[] = [];
      if (!empty) {
        for (let i = r.int(1, 4); i > 0; i--) {
          const next = genRun(r);
          const last = runs[runs.length - 1];
          if (last && sameStyle(last, next)) last.text += next.text;
          else runs.push(next);
        }
      }
      const line: SignLine = { justification: empty ? lastLine : r.pick(LINE_J), runs };
      lastLine = line.justification;
      if (l > 0 && r.next() < 0.3) line.spacingPx = r.int(0, 99);
      return line;
    });
    const page: SignPage = { justification: lines.length === 0 ? lastPage : r.pick(PAGE_J), lines };
    lastPage = page.justification;
    if (r.next() < 0.3) {
      const on = r.int(0, 255);
      if (on !== defaults.pageOnTimeDs) page.onTimeDs = on;
    }
    if (r.next() < 0.2) page.offTimeDs = r.int(1, 255);
    return page;
  });
  const only = pages[0];
  if (pages.length === 1 && only!.lines.length === 0 && only!.justification === 'top' && only!.onTimeDs === undefined && only!.offTimeDs === undefined) {
    return { pages: [] };
  }
  return { pages };
}

const DEFAULTS: MultiDefaults[] = [
  { font: 1, colour: '#ffbf00', pageOnTimeDs: 30 },
  { font: 2, colour: '#123456' },
];

test('NTCIP 1203 MULTI: parseMulti(toMulti(c)) deep-equals c for 1500 generated contents (seeded)', () => {
  const r = seeded(20240611);
  for (let i = 0; i < 1500; i++) {
    const defaults = DEFAULTS[i % DEFAULTS.length]!;
    const content = genContent(r, defaults);
    assert.deepEqual(normaliseContent(content, defaults), content, `generated content #${i} is not canonical`);
    const multi = toMulti(content, defaults);
    assert.deepEqual(parseMulti(multi, defaults), content, `case #${i}: ${multi}`);
  }
});

const TOKENS = [
  'A', 'b', '前', '方', ' ', '[[', ']]', '[nl]', '[nl3]', '[NL0]', '[np]', '[jl2]', '[jl3]', '[jl4]', '[jl5]', '[jl]', '[jp2]', '[jp3]', '[jp4]', '[jp]',
  '[pt50]', '[pto3]', '[pt]', '[pt30o0]', '[fo1]', '[fo2]', '[fo3,abcd]', '[fo]', '[cf1]', '[cf2]', '[cf9]', '[cf1,2,3]', '[cf255,191,0]', '[cf]',
  '[fl]', '[flt3o2]', '[FLO4]', '[/fl]',
];

test('NTCIP 1203 MULTI: toMulti(parseMulti(m)) is idempotent and keeps the meaning, for random tag soup (seeded)', () => {
  const r = seeded(7);
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const defaults = DEFAULTS[i % DEFAULTS.length]!;
    const m = Array.from({ length: r.int(0, 25) }, () => r.pick(TOKENS)).join('');
    let content: SignContent;
    try {
      content = parseMulti(m, defaults);
    } catch (err) {
      assert.ok(err instanceof MultiSyntaxError, `case #${i}: ${m}: ${String(err)}`);
      continue;
    }
    accepted++;
    const once = toMulti(content, defaults);
    assert.deepEqual(parseMulti(once, defaults), content, `case #${i}: ${m} -> ${once}`);
    assert.equal(toMulti(parseMulti(once, defaults), defaults), once, `case #${i}: ${m}`);
  }
  assert.ok(accepted > 600, `only ${accepted} of 3000 random MULTI were valid; the generator does not exercise the writer`);
});
