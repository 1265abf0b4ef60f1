import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkContent, checkMultiLength, defaultsFor, inCharset, parseMulti, prepareContent, crcOfDisplayed,
  GANTRY_SIGN_192x64 as GANTRY, RAMP_SIGN_128x32 as RAMP, type SignCapabilities,
} from '@quanlink/sign-content';

const problemsOf = (multi: string, caps: SignCapabilities = RAMP) => checkContent(parseMulti(multi, defaultsFor(caps)), caps);
const messages = (multi: string, caps: SignCapabilities = RAMP) => problemsOf(multi, caps).map((p) => p.message);

const MONO: SignCapabilities = { ...RAMP, colourScheme: 'monochrome1bit', monochromeColour: '#ffbf00', defaultColour: '#ffbf00', supportsFlash: false, charset: 'ascii' };
const SPACED: SignCapabilities = { ...RAMP, fonts: RAMP.fonts.map((f) => ({ ...f, charSpacingPx: 1 })), lineSpacingPx: 2 };

test('issue 4: the docs example — 9 CJK characters on the 128 px ramp sign', () => {
  assert.deepEqual(problemsOf('出口[nl]前方事故请减速慢行'), [{
    page: 1, line: 2, code: 'line-too-wide', message: 'page 1 line 2: 9 characters at 16 px need 144 px, sign is 128 px wide',
  }]);
});

test('issue 4: line width — 8 CJK characters fill 128 px exactly; Latin is half width; mixed lines; spacing', () => {
  assert.deepEqual(messages('前方事故请减速慢'), []);
  assert.deepEqual(messages('ABCDEFGHIJKLMNOP'), []);
  assert.deepEqual(messages('ABCDEFGHIJKLMNOPQ'), ['page 1 line 1: 17 characters at 8 px need 136 px, sign is 128 px wide']);
  assert.deepEqual(messages('ABCDEFGHIJKLMNO前'), ['page 1 line 1: 16 characters need 136 px, sign is 128 px wide']);
  assert.deepEqual(messages('[fo2]前方事故请'), ['page 1 line 1: 5 characters at 32 px need 160 px, sign is 128 px wide']);
  assert.deepEqual(messages('前方事故请减速慢', SPACED), ['page 1 line 1: 8 characters at 16 px with 1 px spacing need 135 px, sign is 128 px wide']);
  assert.deepEqual(messages('前方事故请减速', SPACED), []); // 7 * 16 + 6 = 118
  assert.deepEqual(messages('[jl5]前方事故请减速慢'), [], 'full justification needs no more room');
});

test('issue 4: page height — lines stack at their tallest font plus line spacing', () => {
  assert.deepEqual(messages('A[nl]B'), []);
  assert.deepEqual(problemsOf('A[nl]B[nl]C'), [{ page: 1, code: 'page-too-tall', message: 'page 1: 3 lines need 48 px, sign is 32 px high' }]);
  assert.deepEqual(messages('A[np][fo2]A[fo1]b[nl]B'), ['page 2: 2 lines need 48 px, sign is 32 px high']);
  assert.deepEqual(messages('A[nl1]B'), ['page 1: 2 lines need 33 px, sign is 32 px high']);
  assert.deepEqual(messages('A[nl]B', SPACED), ['page 1: 2 lines need 34 px, sign is 32 px high']);
  assert.deepEqual(messages('A[nl0]B', SPACED), [], '[nl0] overrides the sign line spacing');
  assert.deepEqual(messages('[nl][nl]'), ['page 1: 3 lines need 48 px, sign is 32 px high'], 'an empty line takes the default font height');
  assert.deepEqual(messages('[fo2]A', GANTRY), []);
});

test('issue 4: unknown font', () => {
  assert.deepEqual(problemsOf('[fo7]前方事故请减速慢行十[nl][fo]A[nl]B'), [
    { page: 1, line: 1, code: 'unknown-font', message: 'page 1 line 1: font 7 is not defined on this sign (fonts 1, 2)' },
  ]);
});

test('issue 4: colours a sign cannot show', () => {
  assert.deepEqual(messages('[cf2]A[cf9]B[cf1,2,3]C'), [
    'page 1 line 1: colour #010203 is not available on a colorClassic sign (only the classic colours 0 black, 1 red, 2 yellow, 3 green, 4 cyan, 5 blue, 6 magenta, 7 white, 8 orange, 9 amber)',
  ]);
  assert.deepEqual(messages('A[cf1]B', MONO), ['page 1 line 1: colour #ff0000 is not available on a monochrome1bit sign (only #ffbf00)']);
  assert.deepEqual(messages('A[cf255,191,0]B', MONO), []);
  assert.deepEqual(messages('[cf1,2,3]A[cf1]B', GANTRY), []);
});

test('issue 4: more pages than the sign shows', () => {
  assert.deepEqual(problemsOf('1[np]2[np]3[np]4'), []);
  assert.deepEqual(problemsOf('1[np]2[np]3[np]4[np]5'), [{ page: 5, code: 'too-many-pages', message: 'page 5: 5 pages, sign shows at most 4' }]);
});

test('issue 4: characters outside the charset — emoji and Korean are not GB2312', () => {
  assert.deepEqual(problemsOf('前方😀'), [{ page: 1, line: 1, code: 'charset', message: "page 1 line 1: character '😀' (U+1F600) is not in the sign's gb2312 character set" }]);
  assert.deepEqual(messages('A[nl]B한😀한'), ["page 1 line 2: characters '한' (U+D55C), '😀' (U+1F600) are not in the sign's gb2312 character set"]);
  assert.deepEqual(messages('前方拥堵请绕行，[nl]①→℃ ABC-9'), []);
  assert.deepEqual(messages('前', MONO), ["page 1 line 1: character '前' (U+524D) is not in the sign's ascii character set"]);
  assert.deepEqual(messages('😀한', { ...GANTRY, charset: 'unicode' }), []);
});

test('issue 4: charset membership', () => {
  assert.ok(inCharset('拥', 'gb2312'));
  assert.ok(inCharset('~', 'gb2312'));
  assert.ok(!inCharset('\t', 'gb2312'));
  assert.ok(!inCharset('é', 'ascii'));
  assert.ok(inCharset('\u00e8', 'gb2312'), 'è is a pinyin letter in GB2312 row 8');
  assert.ok(!inCharset('\u00f1', 'gb2312'));
  assert.ok(!inCharset('\ue000', 'gb2312'), 'GBK maps empty GB2312 rows to private use; those are not characters');
  assert.ok(!inCharset('\u200b', 'unicode'), 'a zero-width space is not printable');
  assert.ok(!inCharset('\u0007', 'unicode'));
  assert.ok(inCharset('😀', 'unicode'));
});

test('issue 4: flashing text on a sign that cannot flash', () => {
  assert.deepEqual(messages('[fl]SLOW[/fl]', MONO), ['page 1 line 1: flashing text, but this sign cannot flash']);
  assert.deepEqual(messages('[fl]SLOW[/fl]'), []);
});

test('issue 4: empty pages are allowed (blank)', () => {
  assert.deepEqual(messages('A[np][np]B'), []);
  assert.deepEqual(messages(''), []);
});

test('issue 4: MULTI length is counted in UTF-8 bytes', () => {
  assert.deepEqual(checkMultiLength('A'.repeat(1024), RAMP), []);
  assert.deepEqual(checkMultiLength('A'.repeat(1025), RAMP), [{ page: 0, code: 'multi-too-long', message: 'MULTI is 1025 bytes, sign accepts at most 1024' }]);
  assert.deepEqual(checkMultiLength('前'.repeat(341), RAMP), []);
  assert.equal(checkMultiLength('前'.repeat(342), RAMP)[0]?.message, 'MULTI is 1026 bytes, sign accepts at most 1024');
});

test('issue 4: prepareContent gives the canonical MULTI, its CRC and the content', () => {
  const r = prepareContent({ multi: '[cf9][JL3]前方拥堵[nl]请绕行' }, RAMP);
  assert.ok(r.ok);
  assert.equal(r.multi, '[jl3]前方拥堵[nl]请绕行');
  assert.equal(r.crc, crcOfDisplayed('[jl3]前方拥堵[nl]请绕行'));
  assert.equal(r.content.pages.length, 1);
  const blank = prepareContent({ multi: '' }, RAMP);
  assert.deepEqual(blank, { ok: true, multi: '', crc: 0, content: { pages: [] } });
});

test('issue 4: prepareContent turns a MULTI syntax error into one problem with its position', () => {
  assert.deepEqual(prepareContent({ multi: 'Slow down now [xy] please' }, RAMP), {
    ok: false, problems: [{ page: 1, code: 'multi-syntax', message: 'MULTI at 14: unknown tag [xy]' }],
  });
  const r = prepareContent({ multi: 'A[np]B[jl9]' }, RAMP);
  assert.ok(!r.ok && r.problems[0]!.page === 2);
});

test('issue 4: prepareContent reports form errors, every content problem, and wants exactly one input', () => {
  assert.deepEqual(prepareContent({ form: { pages: [{ lines: [{ text: 'A', colour: 'puce' }] }] } }, RAMP), {
    ok: false, problems: [{ page: 0, code: 'form', message: `form pages[0].lines[0].colour: colour must be '#rrggbb' or a classic colour name, got "puce"` }],
  });
  const many = prepareContent({ multi: '前方事故请减速慢行[nl]A[nl]한' }, RAMP);
  assert.ok(!many.ok);
  assert.deepEqual(many.problems.map((p) => p.code), ['line-too-wide', 'charset', 'page-too-tall']);
  const long = prepareContent({ multi: '[cf9]ABCDEFGHIJK' }, { ...RAMP, maxMultiLength: 10 }); // canonical is 11 bytes
  assert.ok(!long.ok);
  assert.deepEqual(long.problems.map((p) => p.code), ['multi-too-long']);
  for (const input of [{}, { multi: 'A', form: { pages: [] } }]) {
    assert.deepEqual(prepareContent(input, RAMP), { ok: false, problems: [{ page: 0, code: 'input', message: 'give exactly one of multi or form' }] });
  }
});
