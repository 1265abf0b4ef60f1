import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLASSIC, ContentFormError, contentFromForm, crcOfDisplayed, defaultsFor, parseMulti, prepareContent, toMulti, RAMP_SIGN_128x32 as RAMP,
  type ContentForm,
} from '@quanlink/sign-content';

const D = defaultsFor(RAMP);

test('issue 4: a message as MULTI and the same message as a form give the same canonical MULTI and CRC', () => {
  // Colour persists across pages in MULTI, so page 2 goes back to the default with [cf].
  const multi = '[jl3]前方拥堵[nl][cf2]请绕行[np][pt50][jp3][jl4][fo2][cf]慢';
  const form: ContentForm = {
    align: 'center',
    pages: [
      { lines: ['前方拥堵', { text: '请绕行', colour: 'yellow' }] },
      { pageTimeS: 5, align: 'middle', lines: [{ text: '慢', font: 2, align: 'right' }] },
    ],
  };
  const fromMulti = toMulti(parseMulti(multi, D), D);
  const fromForm = toMulti(contentFromForm(form, D), D);
  assert.equal(fromForm, fromMulti);
  assert.deepEqual(contentFromForm(form, D), parseMulti(multi, D));
  const a = prepareContent({ multi }, RAMP);
  const b = prepareContent({ form }, RAMP);
  assert.ok(a.ok && b.ok);
  assert.equal(a.multi, b.multi);
  assert.equal(a.crc, b.crc);
  assert.equal(a.crc, crcOfDisplayed(fromMulti));
});

test('issue 4: form text is literal (brackets are not tags) and defaults come from the sign', () => {
  const c = contentFromForm({ pages: [{ lines: ['[nl] 50%'] }] }, D);
  assert.deepEqual(c.pages[0]!.lines[0]!.runs, [{ text: '[nl] 50%', font: 1, colour: CLASSIC.amber }]);
  assert.equal(toMulti(c, D), '[[nl]] 50%');
});

test('issue 4: form colours accept #RRGGBB and classic names; the default page time is not stored', () => {
  const c = contentFromForm({ colour: '#FF0000', pages: [{ pageTimeS: 3, lines: [{ text: 'A', colour: 'Amber' }, 'B'] }] }, D);
  assert.deepEqual(c.pages[0]!.lines.map((l) => l.runs[0]!.colour), [CLASSIC.amber, '#ff0000']);
  assert.equal(c.pages[0]!.onTimeDs, undefined);
});

test('issue 4: an empty form is blank; an empty line is kept between two lines', () => {
  assert.deepEqual(contentFromForm({ pages: [] }, D), { pages: [] });
  assert.deepEqual(contentFromForm({ pages: [{ lines: [] }] }, D), { pages: [] });
  assert.deepEqual(contentFromForm({ pages: [{ lines: [''] }] }, D), { pages: [] });
  assert.equal(toMulti(contentFromForm({ pages: [{ lines: ['A', '', 'B'] }] }, D), D), 'A[nl][nl]B');
});

const BAD: [unknown, string, string][] = [
  [{ pages: [{ lines: ['A'] }, { lines: [{ text: 'B', colour: 'puce' }] }] }, 'pages[1].lines[0].colour', `colour must be '#rrggbb' or a classic colour name, got "puce"`],
  [{ pages: [{ lines: [{ text: 'B', font: 0 }] }] }, 'pages[0].lines[0].font', 'font must be a whole number 1-255, got 0'],
  [{ pages: [{ lines: [{ text: 'B', font: 1.5 }] }] }, 'pages[0].lines[0].font', 'font must be a whole number 1-255, got 1.5'],
  [{ pages: [{ lines: [{ text: 'B', align: 'middle' }] }] }, 'pages[0].lines[0].align', 'must be one of left, center, right, full, got "middle"'],
  [{ pages: [{ lines: ['A'], align: 'center' }] }, 'pages[0].align', 'must be one of top, middle, bottom, got "center"'],
  [{ pages: [{ lines: ['A\nB'] }] }, 'pages[0].lines[0]', 'text contains a line break; put each line in its own entry'],
  [{ pages: [{ lines: [{ text: 7 }] }] }, 'pages[0].lines[0].text', 'text must be a string, got 7'],
  [{ pages: [{ lines: [42] }] }, 'pages[0].lines[0]', 'a line must be text or an object with text'],
  [{ pages: [{ lines: ['A'], pageTimeS: 0 }] }, 'pages[0].pageTimeS', 'page time must be 0.1-25.5 seconds in steps of 0.1, got 0'],
  [{ pages: [{ lines: ['A'], pageTimeS: 1.25 }] }, 'pages[0].pageTimeS', 'page time must be 0.1-25.5 seconds in steps of 0.1, got 1.25'],
  [{ pages: [{ lines: ['A'], pageTimeS: 30 }] }, 'pages[0].pageTimeS', 'page time must be 0.1-25.5 seconds in steps of 0.1, got 30'],
  [{ pages: [{ lines: ['A'], colour: 'red' }] }, 'pages[0].colour', 'unknown field (allowed: lines, pageTimeS, align)'],
  [{ pages: [{ text: 'A' }] }, 'pages[0].text', 'unknown field (allowed: lines, pageTimeS, align)'],
  [{ pages: [{}] }, 'pages[0].lines', 'must be a list of lines'],
  [{ pages: 'A' }, 'pages', 'must be a list of pages'],
  [{ pages: [], colour: 12 }, 'colour', `colour must be '#rrggbb' or a classic colour name, got 12`],
  [null, '', 'the form must be an object with pages'],
];

for (const [form, path, problem] of BAD) {
  test(`issue 4: a bad form is refused at ${path || '(form)'}`, () => {
    assert.throws(() => contentFromForm(form as ContentForm, D), (err: unknown) => {
      assert.ok(err instanceof ContentFormError);
      assert.equal(err.path, path);
      assert.equal(err.problem, problem);
      assert.equal(err.message, `${path || '(form)'}: ${problem}`);
      return true;
    });
  });
}
