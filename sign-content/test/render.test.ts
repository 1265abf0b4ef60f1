import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import {
  CLASSIC, defaultsFor, hexToRgb, parseMulti, renderDisplayed, renderPages, UNLIT_DOT_COLOUR,
  GANTRY_SIGN_192x64 as GANTRY, RAMP_SIGN_128x32 as RAMP, type RenderOptions, type SignCapabilities,
} from '@quanlink/sign-content';

interface Image { width: number; height: number; px(x: number, y: number): string; lit: { x: number; y: number; colour: string }[] }

async function decode(png: Buffer): Promise<Image> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return `#${[data[i]!, data[i + 1]!, data[i + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  };
  const lit: Image['lit'] = [];
  for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width; x++) if (px(x, y) !== '#000000') lit.push({ x, y, colour: px(x, y) });
  return { width: info.width, height: info.height, px, lit };
}

const render = async (multi: string, caps: SignCapabilities = RAMP, opts: RenderOptions = {}) =>
  Promise.all((await renderDisplayed(multi, caps, defaultsFor(caps), opts)).map(decode));
const first = async (multi: string, caps?: SignCapabilities, opts?: RenderOptions) => (await render(multi, caps, opts))[0]!;

test('issue 4 renderer: blank content is one all-black page at the sign size', async () => {
  const pages = await renderPages({ pages: [] }, RAMP);
  assert.equal(pages.length, 1);
  const img = await decode(pages[0]!);
  assert.deepEqual([img.width, img.height, img.lit.length], [128, 32, 0]);
});

test('issue 4 renderer: a centred character lights pixels only inside its cell', async () => {
  const img = await first('[jl3][jp3]前');
  assert.ok(img.lit.length > 30, `only ${img.lit.length} pixels lit`);
  for (const { x, y } of img.lit) assert.ok(x >= 56 && x < 72 && y >= 8 && y < 24, `pixel ${x},${y} is outside the cell 56,8 16x16`);
  // And it really is centred: lit on both halves of the cell.
  assert.ok(img.lit.some((p) => p.x < 64) && img.lit.some((p) => p.x >= 64));
});

test('issue 4 renderer: right justification lights pixels at the right edge only', async () => {
  const img = await first('[jl4]AB');
  assert.ok(img.lit.length > 10);
  assert.ok(img.lit.every((p) => p.x >= 112), 'a lit pixel left of the two right-most cells');
  assert.ok(img.lit.some((p) => p.x >= 120), 'nothing lit in the last cell');
});

test('issue 4 renderer: a yellow [cf2] run lights pixels of exactly #ffff00 and nothing else', async () => {
  const img = await first('[cf2]SLOW 慢');
  assert.ok(img.lit.length > 30);
  assert.deepEqual([...new Set(img.lit.map((p) => p.colour))], ['#ffff00']);
});

test('issue 4 renderer: no anti-aliasing survives — every pixel is off or exactly its character colour', async () => {
  const img = await first('A[cf1]B[cf3]前[nl][cf10,20,30]方', GANTRY);
  assert.deepEqual(new Set(img.lit.map((p) => p.colour)), new Set([CLASSIC.amber, '#ff0000', '#00ff00', '#0a141e']));
  // Colours land in their own cells: on line 1 (y 0-23) A is amber (x 0-11), B red (12-23).
  const line1 = img.lit.filter((p) => p.y < 24);
  assert.ok(line1.filter((p) => p.x < 12).every((p) => p.colour === CLASSIC.amber));
  assert.ok(line1.filter((p) => p.x >= 12 && p.x < 24).every((p) => p.colour === '#ff0000'));
  assert.ok(img.lit.filter((p) => p.y >= 24).every((p) => p.colour === '#0a141e'));
});

test('issue 4 renderer: CJK text lights pixels (the font is present), as does a CJK + Latin mix', async () => {
  const cjk = await first('前方拥堵');
  assert.ok(cjk.lit.length > 150, `only ${cjk.lit.length} pixels lit for four CJK characters`);
  for (const cell of [0, 1, 2, 3]) assert.ok(cjk.lit.some((p) => p.x >= cell * 16 && p.x < cell * 16 + 16), `character ${cell + 1} is dark`);
  const mixed = await first('G15 前方2km');
  assert.ok(mixed.lit.some((p) => p.x < 8), 'G is dark');
  assert.ok(mixed.lit.some((p) => p.x >= 32 && p.x < 48), '前 is dark');
});

test('issue 4 renderer: Latin letters fit a half-width cell (not clipped to a sliver)', async () => {
  const img = await first('M[jl]');
  const columns = new Set(img.lit.map((p) => p.x));
  assert.ok(columns.size >= 5 && [...columns].every((x) => x < 8), `M lights columns ${[...columns].join(',')}`);
});

test('issue 4 renderer: one PNG per page', async () => {
  const pages = await render('1[np]2[np][np]4');
  assert.equal(pages.length, 4);
  assert.ok(pages[0]!.lit.length > 0 && pages[1]!.lit.length > 0 && pages[3]!.lit.length > 0);
  assert.equal(pages[2]!.lit.length, 0, 'the empty page is blank');
  assert.notDeepEqual(pages[0]!.lit, pages[1]!.lit);
});

test('issue 4 renderer: deterministic — same input, byte-identical PNG', async () => {
  const multi = '[jl3]前方拥堵[nl][cf2][fl]请绕行[/fl]';
  const a = await renderDisplayed(multi, RAMP);
  const b = await renderPages(parseMulti(multi, defaultsFor(RAMP)), RAMP);
  assert.ok(a[0]!.equals(b[0]!));
  const c = await renderDisplayed(multi, RAMP, defaultsFor(RAMP), { scale: 3, dotGap: true });
  const d = await renderDisplayed(multi, RAMP, defaultsFor(RAMP), { scale: 3, dotGap: true });
  assert.ok(c[0]!.equals(d[0]!));
  assert.ok(a[0]!.equals((await renderDisplayed('[jl3]前方拥堵[nl][cf2][fl]请绕行', RAMP))[0]!), 'an unclosed flash is the same message');
  assert.ok(!a[0]!.equals((await renderDisplayed('[jl3]前方拥堵[nl][cf1]请绕行', RAMP))[0]!), 'another colour is another image');
});

test('issue 4 renderer: flashing text is dark in the off phase', async () => {
  const on = await first('[fl]A[/fl]B', RAMP, { flashPhase: 'on' });
  const off = await first('[fl]A[/fl]B', RAMP, { flashPhase: 'off' });
  assert.ok(on.lit.some((p) => p.x < 8));
  assert.ok(!off.lit.some((p) => p.x < 8));
  assert.deepEqual(off.lit, on.lit.filter((p) => p.x >= 8));
});

test('issue 4 renderer: dead pixels stay off', async () => {
  const normal = await first('[fo2]前');
  const dead = normal.lit.slice(0, 5).map(({ x, y }) => ({ x, y }));
  const img = await first('[fo2]前', RAMP, { deadPixels: [...dead, { x: 500, y: 500 }] });
  assert.equal(img.lit.length, normal.lit.length - 5);
  for (const { x, y } of dead) assert.equal(img.px(x, y), '#000000');
});

test('issue 4 renderer: scale is nearest-neighbour; dotGap draws LEDs as dots with a dark gap', async () => {
  const native = await first('[cf2]前');
  const big = await first('[cf2]前', RAMP, { scale: 4 });
  assert.deepEqual([big.width, big.height], [512, 128]);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
    for (const [dx, dy] of [[0, 0], [3, 3], [1, 2]]) assert.equal(big.px(x * 4 + dx!, y * 4 + dy!), native.px(x, y));
  }
  const dots = await first('[cf2]前', RAMP, { scale: 4, dotGap: true });
  assert.deepEqual([dots.width, dots.height], [512, 128]);
  const unlit = `#${hexToRgb(UNLIT_DOT_COLOUR).map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  for (let y = 0; y < 32; y++) for (let x = 0; x < 128; x++) {
    assert.equal(dots.px(x * 4 + 3, y * 4 + 1), '#000000', 'the gap column is dark');
    assert.equal(dots.px(x * 4 + 1, y * 4 + 3), '#000000', 'the gap row is dark');
    assert.equal(dots.px(x * 4 + 1, y * 4 + 1), native.px(x, y) === '#000000' ? unlit : '#ffff00');
  }
  await assert.rejects(renderPages({ pages: [] }, RAMP, { scale: 0 }), { message: 'renderer: scale 0 is not a whole number 1-32' });
});
