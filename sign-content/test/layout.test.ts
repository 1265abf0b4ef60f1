import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultsFor, layoutContent, parseMulti, GANTRY_SIGN_192x64 as GANTRY, RAMP_SIGN_128x32 as RAMP, type SignCapabilities,
} from '@quanlink/sign-content';

const cells = (multi: string, caps: SignCapabilities = RAMP, page = 0) =>
  layoutContent(parseMulti(multi, defaultsFor(caps)), caps)[page]!.glyphs.map(({ char, x, y, width, height }) => ({ char, x, y, width, height }));

test('issue 4 layout: left, center, right and full line justification', () => {
  assert.deepEqual(cells('A前'), [{ char: 'A', x: 0, y: 0, width: 8, height: 16 }, { char: '前', x: 8, y: 0, width: 16, height: 16 }]);
  assert.deepEqual(cells('[jl3]前').map((c) => c.x), [56]);
  assert.deepEqual(cells('[jl3]A前').map((c) => c.x), [52, 60], 'odd free space rounds down');
  assert.deepEqual(cells('[jl4]AB').map((c) => c.x), [112, 120]);
  assert.deepEqual(cells('[jl5]ABC').map((c) => c.x), [0, 60, 120]);
  assert.deepEqual(cells('[jl5]ABCD').map((c) => c.x), [0, 40, 80, 120]);
  assert.deepEqual(cells('[jl5]前').map((c) => c.x), [0], 'one character cannot be spread');
});

test('issue 4 layout: top, middle and bottom page justification; lines stack with spacing', () => {
  assert.deepEqual(cells('[jp3]前').map((c) => c.y), [8]);
  assert.deepEqual(cells('[jp4]前').map((c) => c.y), [16]);
  assert.deepEqual(cells('A[nl]B').map((c) => c.y), [0, 16]);
  assert.deepEqual(cells('A[nl2][fo1]B', GANTRY).map((c) => c.y), [0, 26]);
  assert.deepEqual(cells('[jp3]A[nl]B', GANTRY).map((c) => c.y), [8, 32]);
  assert.deepEqual(cells('[jp4][fo1]A[nl][nl]B', GANTRY).map((c) => c.y), [8, 48], 'an empty line takes the default font height (24 px)');
});

test('issue 4 layout: characters of a smaller font sit on the bottom of the line; character spacing', () => {
  assert.deepEqual(cells('[fo2]A[fo1]b'), [{ char: 'A', x: 0, y: 0, width: 16, height: 32 }, { char: 'b', x: 16, y: 16, width: 8, height: 16 }]);
  const spaced = { ...RAMP, fonts: RAMP.fonts.map((f) => ({ ...f, charSpacingPx: 2 })) };
  assert.deepEqual(cells('[jl4]AB', spaced).map((c) => c.x), [110, 120]);
});

test('issue 4 layout: glyphs carry colour, font, flash and line number; unknown fonts are refused', () => {
  const [page] = layoutContent(parseMulti('A[nl][cf1][fo2][fl]B', defaultsFor(GANTRY)), GANTRY);
  assert.deepEqual(page!.glyphs.map((g) => [g.char, g.colour, g.font, g.line, g.flash]), [
    ['A', '#ffbf00', 2, 1, undefined],
    ['B', '#ff0000', 2, 2, { onDs: 5, offDs: 5 }],
  ]);
  assert.deepEqual(page!.lines, [{ x: 0, y: 0, width: 12, height: 24 }, { x: 0, y: 24, width: 12, height: 24 }]);
  assert.throws(() => layoutContent(parseMulti('A[nl][fo9]B', defaultsFor(RAMP)), RAMP), { message: 'page 1 line 2: font 9 is not defined on this sign' });
});
