import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLASSIC, MultiSyntaxError, parseMulti, toMulti, type MultiDefaults, type SignContent } from '@quanlink/sign-content';

const D: MultiDefaults = { font: 1, colour: '#ffbf00', pageOnTimeDs: 30 };
const amber = '#ffbf00';
const run = (text: string, extra: Partial<{ font: number; colour: string; flash: { onDs: number; offDs: number } }> = {}) => ({ text, font: 1, colour: amber, ...extra });

test('NTCIP 1203 MULTI: plain text is one page, one left line, in the default font and colour', () => {
  assert.deepEqual(parseMulti('ABC', D), { pages: [{ justification: 'top', lines: [{ justification: 'left', runs: [run('ABC')] }] }] });
});

test('NTCIP 1203 MULTI: empty MULTI is blank (no pages)', () => {
  assert.deepEqual(parseMulti('', D), { pages: [] });
  assert.equal(toMulti({ pages: [] }, D), '');
});

test('NTCIP 1203 MULTI: [nl] starts a new line, [nlN] with N px above it', () => {
  const c = parseMulti('A[nl]B[nl4]C', D);
  assert.deepEqual(c.pages[0]!.lines, [
    { justification: 'left', runs: [run('A')] },
    { justification: 'left', runs: [run('B')] },
    { justification: 'left', runs: [run('C')], spacingPx: 4 },
  ]);
});

test('NTCIP 1203 MULTI: [np] starts a new page; empty pages and lines are kept', () => {
  const c = parseMulti('A[np][np]B[nl]', D);
  assert.equal(c.pages.length, 3);
  assert.deepEqual(c.pages[1]!.lines, []);
  assert.deepEqual(c.pages[2]!.lines.map((l) => l.runs.length), [1, 0]);
});

test('NTCIP 1203 MULTI: [jlN] 2-5 and [jpN] 2-4 set justification, [jl]/[jp] restore the default', () => {
  const c = parseMulti('[jl3]A[nl][jl4]B[nl][jl5]C[nl][jl]D[np][jp3]E[np][jp4]F[np][jp]G', D);
  assert.deepEqual(c.pages[0]!.lines.map((l) => l.justification), ['center', 'right', 'full', 'left']);
  assert.deepEqual(c.pages.map((p) => p.justification), ['top', 'middle', 'bottom', 'top']);
});

test('NTCIP 1203 MULTI: values persist across lines and pages until changed', () => {
  const c = parseMulti('[jl3][fo2][cf1][pt50o2]A[nl]B[np]C', D);
  const style = { font: 2, colour: CLASSIC.red };
  assert.deepEqual(c, {
    pages: [
      { justification: 'top', onTimeDs: 50, offTimeDs: 2, lines: [{ justification: 'center', runs: [{ text: 'A', ...style }] }, { justification: 'center', runs: [{ text: 'B', ...style }] }] },
      { justification: 'top', onTimeDs: 50, offTimeDs: 2, lines: [{ justification: 'center', runs: [{ text: 'C', ...style }] }] },
    ],
  });
});

test('NTCIP 1203 MULTI: [ptAoB] with either part optional; the default on-time and 0 off-time are not stored', () => {
  assert.deepEqual(pick(parseMulti('[pt50]A', D)), { onTimeDs: 50 });
  assert.deepEqual(pick(parseMulti('[pto7]A', D)), { offTimeDs: 7 });
  assert.deepEqual(pick(parseMulti('[pt20o7]A', D)), { onTimeDs: 20, offTimeDs: 7 });
  assert.deepEqual(pick(parseMulti('[pt30o0]A', D)), {});
  assert.deepEqual(pick(parseMulti('[pt50][pt]A', D)), {});
  function pick(c: SignContent) {
    const { onTimeDs, offTimeDs } = c.pages[0]!;
    return { ...(onTimeDs === undefined ? {} : { onTimeDs }), ...(offTimeDs === undefined ? {} : { offTimeDs }) };
  }
});

test('NTCIP 1203 MULTI: [foN] and [foN,cccc] (checksum ignored) select a font, [fo] the default', () => {
  const c = parseMulti('A[fo2]B[fo3,1A2b]C[fo]D', D);
  assert.deepEqual(c.pages[0]!.lines[0]!.runs, [run('A'), run('B', { font: 2 }), run('C', { font: 3 }), run('D')]);
});

test('NTCIP 1203 MULTI: [cfN] classic palette 0-9, [cfR,G,B], [cf] the default', () => {
  const c = parseMulti('[cf0]a[cf1]b[cf2]c[cf3]d[cf4]e[cf5]f[cf6]g[cf7]h[cf8]i[cf9]j[cf10,20,255]k[cf]l', D);
  assert.deepEqual(c.pages[0]!.lines[0]!.runs.map((r) => r.colour), [
    '#000000', '#ff0000', '#ffff00', '#00ff00', '#00ffff', '#0000ff', '#ff00ff', '#ffffff', CLASSIC.orange, CLASSIC.amber, '#0a14ff', amber,
  ]);
});

test('NTCIP 1203 MULTI: [fl] ... [/fl] flashes with default times, [fltXoY] with its own', () => {
  const c = parseMulti('[fl]A[/fl]B[flt3o7]C[/fl][flt2]D[/fl][flo4]E', D);
  assert.deepEqual(c.pages[0]!.lines[0]!.runs, [
    run('A', { flash: { onDs: 5, offDs: 5 } }), run('B'), run('C', { flash: { onDs: 3, offDs: 7 } }),
    run('D', { flash: { onDs: 2, offDs: 5 } }), run('E', { flash: { onDs: 5, offDs: 4 } }),
  ]);
});

test('NTCIP 1203 MULTI: [[ and ]] are literal brackets', () => {
  assert.equal(parseMulti('[[A]][[[[]]', D).pages[0]!.lines[0]!.runs[0]!.text, '[A][[]');
  assert.equal(toMulti(parseMulti('[[A]]', D), D), '[[A]]');
});

test('NTCIP 1203 MULTI: tags are case-insensitive', () => {
  assert.deepEqual(parseMulti('[JL3][CF2][FO2]A[NL]B[NP][FLT3O4]C[/FL]', D), parseMulti('[jl3][cf2][fo2]A[nl]B[np][flt3o4]C[/fl]', D));
});

test('NTCIP 1203 MULTI: CJK and Latin mix in one line; position counts UTF-16 units', () => {
  const c = parseMulti('前方 2 km[cf1]拥堵', D);
  assert.deepEqual(c.pages[0]!.lines[0]!.runs, [run('前方 2 km'), run('拥堵', { colour: CLASSIC.red })]);
  assert.throws(() => parseMulti('前方[xy]', D), { message: 'MULTI at 2: unknown tag [xy]' });
});

// Every malformed case: [input, position, message].
const MALFORMED: [string, number, string][] = [
  ['Slow down now [xy] please', 14, 'MULTI at 14: unknown tag [xy]'],
  ['abc[jl3', 3, 'MULTI at 3: unclosed tag starting at 3'],
  ['ab[fo1[nl]', 2, 'MULTI at 2: unclosed tag starting at 2'],
  ['[jl7]', 0, 'MULTI at 0: [jl7]: justification 7 is not one of 2 (left), 3 (center), 4 (right), 5 (full)'],
  ['A[jl1]', 1, 'MULTI at 1: [jl1]: justification 1 is not one of 2 (left), 3 (center), 4 (right), 5 (full)'],
  ['[jp5]A', 0, 'MULTI at 0: [jp5]: page justification 5 is not one of 2 (top), 3 (middle), 4 (bottom)'],
  ['abcdefghi]x', 9, "MULTI at 9: stray ']' at 9"],
  [']]]', 2, "MULTI at 2: stray ']' at 2"],
  ['A[/fl]', 1, 'MULTI at 1: [/fl] without [fl]'],
  ['[fl]A[/fl][/FL]', 10, 'MULTI at 10: [/FL] without [fl]'],
  ['[fl]A[fl]B', 5, 'MULTI at 5: [fl] inside the flash opened at 0; close it with [/fl] first'],
  ['[flt10]A', 0, 'MULTI at 0: [flt10]: flash on-time 10 is not 0-9'],
  ['[flx]A', 0, 'MULTI at 0: malformed tag [flx] (expected [fl] or [fltXoY], X and Y tenths 0-9)'],
  ['[cf10]A', 0, 'MULTI at 0: [cf10]: classic colour 10 is not 0-9'],
  ['[cf256,0,0]A', 0, 'MULTI at 0: [cf256,0,0]: colour component 256 is not 0-255'],
  ['[cf1,2]A', 0, 'MULTI at 0: malformed tag [cf1,2] (expected [cfN] with N 0-9 or [cfR,G,B])'],
  ['[fo0]A', 0, 'MULTI at 0: [fo0]: font number 0 is not 1-255'],
  ['[fox]A', 0, 'MULTI at 0: malformed tag [fox] (expected [foN] or [foN,cccc])'],
  ['[pt300]A', 0, 'MULTI at 0: [pt300]: page on-time 300 is not 0-255'],
  ['[ptx]A', 0, 'MULTI at 0: malformed tag [ptx] (expected [ptAoB], tenths of a second, either part optional)'],
  ['A[nl100]B', 1, 'MULTI at 1: [nl100]: line spacing 100 is not 0-99'],
  ['A[]B', 1, 'MULTI at 1: empty tag []'],
  ['[g1]', 0, 'MULTI at 0: tag [g1] is not supported (graphics)'],
  ['[mvtl1,1,10]x', 0, 'MULTI at 0: tag [mvtl1,1,10] is not supported (moving text)'],
  ['A[jl3]B', 1, 'MULTI at 1: [jl3] changes the justification after text on the same line; one justification per line, put it at the start of the line'],
  ['A[nl][jp3]B', 5, 'MULTI at 5: [jp3] changes the page justification after text on the same page; put it at the start of the page'],
];

for (const [multi, position, message] of MALFORMED) {
  test(`NTCIP 1203 MULTI: malformed ${JSON.stringify(multi)} is refused at ${position}`, () => {
    assert.throws(() => parseMulti(multi, D), (err: unknown) => {
      assert.ok(err instanceof MultiSyntaxError);
      assert.ok(err instanceof Error);
      assert.equal(err.position, position);
      assert.equal(err.message, message);
      assert.equal(err.message, `MULTI at ${position}: ${err.problem}`);
      return true;
    });
  });
}

test('NTCIP 1203 MULTI: a syntax error names its page', () => {
  assert.throws(() => parseMulti('A[np]B[np]C[xy]', D), (err: unknown) => err instanceof MultiSyntaxError && err.page === 3 && err.position === 11);
});

test('NTCIP 1203 MULTI: a justification change at the end of a line applies to the next line', () => {
  const c = parseMulti('A[jl3][nl]B', D);
  assert.deepEqual(c.pages[0]!.lines.map((l) => l.justification), ['left', 'center']);
  assert.equal(toMulti(c, D), 'A[nl][jl3]B');
});

test('NTCIP 1203 MULTI: an unclosed [fl] flashes to the end; the writer closes flash at the end of each line', () => {
  const c = parseMulti('[fl]A[nl]B', D);
  assert.ok(c.pages[0]!.lines.every((l) => l.runs[0]!.flash));
  assert.equal(toMulti(c, D), '[fl]A[/fl][nl][fl]B[/fl]');
});

test('canonical MULTI: only tags that differ from what is in effect, in a fixed order', () => {
  const canonical = (m: string) => toMulti(parseMulti(m, D), D);
  assert.equal(canonical('[cf9][fo1][jl2][jp2][pt30]A[nl]B'), 'A[nl]B');
  assert.equal(canonical('[fl][cf1][fo2][jl3][jp3][pt50]A'), '[pt50][jp3][jl3][fo2][cf1][fl]A[/fl]');
  assert.equal(canonical('[cf255,255,0]A'), '[cf2]A');
  assert.equal(canonical('[cf10,20,30]A'), '[cf10,20,30]A');
  assert.equal(canonical('[pt50]A[np][pt]B'), '[pt50]A[np][pt]B');
  assert.equal(canonical('[pt30o5]A'), '[pto5]A');
  assert.equal(canonical('[flt5o5]A[/fl][flt3o5]B'), '[fl]A[/fl][flt3]B[/fl]');
  assert.equal(canonical('[fo2]A[fo2]B[fo1][fo2]C'), '[fo2]ABC');
  // Justification does not show on an empty page: it is dropped; the page time is not.
  assert.equal(canonical('[jp3][jl3]'), '');
  assert.equal(canonical('[pt50][jp3]'), '[pt50]');
});

test('canonical MULTI: the writer refuses values MULTI cannot express', () => {
  const page = (run: object) => ({ pages: [{ justification: 'top' as const, lines: [{ justification: 'left' as const, runs: [{ text: 'A', font: 1, colour: amber, ...run }] }] }] });
  assert.throws(() => toMulti(page({ colour: 'red' }), D), { message: "page 1 line 1: colour 'red' is not '#rrggbb'" });
  assert.throws(() => toMulti(page({ font: 0 }), D), { message: 'page 1 line 1: font 0 is not 1-255' });
  assert.throws(() => toMulti(page({ flash: { onDs: 12, offDs: 1 } }), D), { message: 'page 1 line 1: flash times 12/1 are not tenths 0-9' });
});
