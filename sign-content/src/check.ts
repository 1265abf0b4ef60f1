/**
 * Does a content fit a sign? Every problem names its page (and line) and says what does not fit,
 * e.g. `page 1 line 2: 9 characters at 16 px need 144 px, sign is 128 px wide`.
 */
import { CLASSIC_COLOURS, classicIndex } from './colours.js';
import { inCharset } from './charset.js';
import { lineChars, type MultiDefaults } from './content.js';
import { crcOfDisplayed } from './crc.js';
import { contentFromForm, ContentFormError, type ContentForm } from './form.js';
import { measureLine, spacingAbovePx } from './measure.js';
import { defaultsFor, MultiSyntaxError, parseMulti, toMulti } from './multi.js';
import type { SignCapabilities, SignContent, SignLine } from './types.js';

export interface ContentProblem {
  /** 1-based; 0 for a problem of the message as a whole (its input or its length). */
  page: number;
  /** 1-based, when the problem is on one line. */
  line?: number;
  code: ContentProblemCode;
  message: string;
}

export type ContentProblemCode =
  | 'line-too-wide'
  | 'page-too-tall'
  | 'unknown-font'
  | 'colour-unavailable'
  | 'too-many-pages'
  | 'charset'
  | 'flash-unsupported'
  | 'multi-too-long'
  | 'multi-syntax'
  | 'form'
  | 'input';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function problem(page: number, line: number | undefined, code: ContentProblemCode, what: string): ContentProblem {
  const where = line === undefined ? `page ${page}` : `page ${page} line ${line}`;
  return line === undefined ? { page, code, message: `${where}: ${what}` } : { page, line, code, message: `${where}: ${what}` };
}

function colourProblem(colour: string, caps: SignCapabilities): string | undefined {
  switch (caps.colourScheme) {
    case 'monochrome1bit':
      return colour === caps.monochromeColour?.toLowerCase() ? undefined : `colour ${colour} is not available on a monochrome1bit sign (only ${caps.monochromeColour})`;
    case 'colorClassic':
      return classicIndex(colour) !== undefined ? undefined
        : `colour ${colour} is not available on a colorClassic sign (only the classic colours ${CLASSIC_COLOURS.map((c) => `${c.index} ${c.name}`).join(', ')})`;
    case 'color24bit':
      return undefined;
  }
}

const describeChar = (char: string) => `'${char}' (U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;

function widthProblem(line: SignLine, caps: SignCapabilities): string | undefined {
  const m = measureLine(line, caps);
  if (m.widthPx <= caps.widthPx) return undefined;
  const widths = new Set(m.chars.map((c) => c.widthPx));
  const spacings = new Set(m.chars.slice(0, -1).map((c) => c.spacingAfterPx));
  const uniform = widths.size === 1 && spacings.size <= 1;
  const spacing = [...spacings][0] ?? 0;
  const how = uniform ? ` at ${[...widths][0]} px${spacing > 0 ? ` with ${spacing} px spacing` : ''}` : '';
  return `${plural(m.chars.length, 'character')}${how} need ${m.widthPx} px, sign is ${caps.widthPx} px wide`;
}

function lineProblems(line: SignLine, page: number, index: number, caps: SignCapabilities): ContentProblem[] {
  const out: ContentProblem[] = [];
  const n = index + 1;
  const unknown = measureLine(line, caps).unknownFonts;
  for (const font of unknown) {
    out.push(problem(page, n, 'unknown-font', `font ${font} is not defined on this sign (fonts ${caps.fonts.map((f) => f.number).join(', ')})`));
  }
  if (unknown.length === 0) {
    const wide = widthProblem(line, caps);
    if (wide) out.push(problem(page, n, 'line-too-wide', wide));
  }
  const colours = [...new Set(line.runs.map((r) => r.colour.toLowerCase()))];
  for (const colour of colours) {
    const bad = colourProblem(colour, caps);
    if (bad) out.push(problem(page, n, 'colour-unavailable', bad));
  }
  const outside = [...new Set(lineChars(line).map((c) => c.char).filter((c) => !inCharset(c, caps.charset)))];
  if (outside.length > 0) {
    const list = outside.map(describeChar).join(', ');
    out.push(problem(page, n, 'charset', `${outside.length === 1 ? `character ${list} is` : `characters ${list} are`} not in the sign's ${caps.charset} character set`));
  }
  if (!caps.supportsFlash && line.runs.some((r) => r.flash)) {
    out.push(problem(page, n, 'flash-unsupported', 'flashing text, but this sign cannot flash'));
  }
  return out;
}

/** Everything about a content that does not fit the sign; empty when it can be shown. Blank pages are fine. */
export function checkContent(content: SignContent, caps: SignCapabilities): ContentProblem[] {
  const out: ContentProblem[] = [];
  if (content.pages.length > caps.maxPages) {
    out.push(problem(caps.maxPages + 1, undefined, 'too-many-pages', `${plural(content.pages.length, 'page')}, sign shows at most ${caps.maxPages}`));
  }
  content.pages.forEach((page, p) => {
    const n = p + 1;
    page.lines.forEach((line, l) => out.push(...lineProblems(line, n, l, caps)));
    const measured = page.lines.map((line) => measureLine(line, caps));
    if (measured.every((m) => m.unknownFonts.length === 0)) {
      const height = measured.reduce((sum, m, i) => sum + m.heightPx + spacingAbovePx(page.lines[i]!, i, caps), 0);
      if (height > caps.heightPx) {
        out.push(problem(n, undefined, 'page-too-tall', `${plural(page.lines.length, 'line')} need ${height} px, sign is ${caps.heightPx} px high`));
      }
    }
  });
  // Per page: its lines' problems in line order, then the page's own.
  const lineOrder = (p: ContentProblem) => p.line ?? Number.MAX_SAFE_INTEGER;
  return out.sort((a, b) => a.page - b.page || lineOrder(a) - lineOrder(b));
}

/** The MULTI's UTF-8 length against the sign's limit. */
export function checkMultiLength(multi: string, caps: SignCapabilities): ContentProblem[] {
  const bytes = Buffer.byteLength(multi, 'utf8');
  if (bytes <= caps.maxMultiLength) return [];
  return [{ page: 0, code: 'multi-too-long', message: `MULTI is ${bytes} bytes, sign accepts at most ${caps.maxMultiLength}` }];
}

export type PreparedContent =
  | { ok: true; multi: string; crc: number; content: SignContent }
  | { ok: false; problems: ContentProblem[] };

/**
 * From what an operator wrote (MULTI or the form; exactly one) to what is sent to a sign: the
 * canonical MULTI and its CRC, or every problem found.
 */
export function prepareContent(
  input: { multi?: string; form?: ContentForm },
  caps: SignCapabilities,
  defaults: MultiDefaults = defaultsFor(caps),
): PreparedContent {
  const fail = (p: ContentProblem[]): PreparedContent => ({ ok: false, problems: p });
  if ((input.multi === undefined) === (input.form === undefined)) {
    return fail([{ page: 0, code: 'input', message: 'give exactly one of multi or form' }]);
  }
  let content: SignContent;
  try {
    content = input.multi !== undefined ? parseMulti(input.multi, defaults) : contentFromForm(input.form!, defaults);
  } catch (err) {
    if (err instanceof MultiSyntaxError) return fail([{ page: err.page, code: 'multi-syntax', message: err.message }]);
    if (err instanceof ContentFormError) return fail([{ page: 0, code: 'form', message: `form ${err.message}` }]);
    throw err;
  }
  const problems = checkContent(content, caps);
  const multi = toMulti(content, defaults);
  problems.push(...checkMultiLength(multi, caps));
  if (problems.length > 0) return fail(problems);
  return { ok: true, multi, crc: crcOfDisplayed(multi), content };
}
