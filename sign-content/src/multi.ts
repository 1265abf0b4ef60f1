/**
 * NTCIP 1203 MULTI: the parser into the content model and the canonical writer.
 *
 * Supported tags (case-insensitive): [nl] [nlN] [np] [jlN] [jpN] [ptAoB] [foN] [foN,cccc] [cfN]
 * [cfR,G,B] [fl] [fltXoY] [/fl]; '[[' and ']]' are literal brackets. Tags without a value ([jl],
 * [jp], [fo], [cf], [pt]) restore the default. Like on a sign, every value stays in effect (across
 * lines and pages) until changed.
 *
 * The model has one justification per line and per page, so a [jlN] that changes the
 * justification after text on a line is refused when more text follows on that line (likewise
 * [jpN] within a page); at the end of a line it simply applies to the lines that follow.
 */
import { CLASSIC_COLOURS, classicIndex, hexToRgb, isHexColour, rgbToHex } from './colours.js';
import {
  DEFAULT_FLASH,
  DEFAULT_LINE_JUSTIFICATION,
  DEFAULT_PAGE_JUSTIFICATION,
  normaliseContent,
  sameFlash,
  type MultiDefaults,
} from './content.js';
import type { LineJustification, PageJustification, SignCapabilities, SignContent, SignLine, SignPage, TextRun } from './types.js';

export class MultiSyntaxError extends Error {
  override readonly name = 'MultiSyntaxError';
  constructor(
    /** 0-based character (UTF-16 code unit) index where the problem starts. */
    readonly position: number,
    readonly problem: string,
    /** 1-based page the problem is on (counting [np] before it). */
    readonly page: number = 1,
  ) {
    super(`MULTI at ${position}: ${problem}`);
  }
}

export function defaultsFor(caps: SignCapabilities): MultiDefaults {
  return { font: caps.defaultFont, colour: caps.defaultColour.toLowerCase(), pageOnTimeDs: caps.defaultPageOnTimeDs };
}

const LINE_CODES: Record<string, LineJustification> = { '2': 'left', '3': 'center', '4': 'right', '5': 'full' };
const PAGE_CODES: Record<string, PageJustification> = { '2': 'top', '3': 'middle', '4': 'bottom' };
const lineCode = (j: LineJustification) => Object.keys(LINE_CODES).find((k) => LINE_CODES[k] === j)!;
const pageCode = (j: PageJustification) => Object.keys(PAGE_CODES).find((k) => PAGE_CODES[k] === j)!;
const listCodes = (codes: Record<string, string>) => Object.entries(codes).map(([k, v]) => `${k} (${v})`).join(', ');

/** NTCIP tags this implementation recognises but does not render. */
const UNSUPPORTED: [RegExp, string][] = [
  [/^g\d/, 'graphics'],
  [/^(cb|pb|cr)/, 'colour rectangles and backgrounds'],
  [/^f\d/, 'fields'],
  [/^(hc|sc|\/sc)/, 'character and spacing tags'],
  [/^(mv|ms)/, 'moving text'],
  [/^tr/, 'text rectangles'],
];

type Flash = { onDs: number; offDs: number };

interface ParseState {
  font: number;
  colour: string;
  flash: Flash | undefined;
  flashAt: number;
  line: LineJustification;
  lineAt: number;
  page: PageJustification;
  pageAt: number;
  onTimeDs: number | undefined;
  offTimeDs: number | undefined;
}

interface OpenLine { runs: TextRun[]; justification?: LineJustification; spacingPx?: number }
interface OpenPage { lines: SignLine[]; justification?: PageJustification }

/** Parses MULTI into the canonical content model. Throws MultiSyntaxError. */
export function parseMulti(multi: string, defaults: MultiDefaults): SignContent {
  const defaultColour = defaults.colour.toLowerCase();
  const state: ParseState = {
    font: defaults.font, colour: defaultColour, flash: undefined, flashAt: 0,
    line: DEFAULT_LINE_JUSTIFICATION, lineAt: 0, page: DEFAULT_PAGE_JUSTIFICATION, pageAt: 0,
    onTimeDs: undefined, offTimeDs: undefined,
  };
  const pages: SignPage[] = [];
  let page: OpenPage = { lines: [] };
  let line: OpenLine = { runs: [] };
  const fail = (position: number, problem: string): never => {
    throw new MultiSyntaxError(position, problem, pages.length + 1);
  };

  const closeLine = () => {
    const out: SignLine = { justification: line.justification ?? state.line, runs: line.runs };
    if (line.spacingPx !== undefined) out.spacingPx = line.spacingPx;
    page.lines.push(out);
  };
  const closePage = () => {
    closeLine();
    const out: SignPage = { justification: page.justification ?? state.page, lines: page.lines };
    if (state.onTimeDs !== undefined) out.onTimeDs = state.onTimeDs;
    if (state.offTimeDs !== undefined) out.offTimeDs = state.offTimeDs;
    pages.push(out);
  };

  const addText = (text: string) => {
    if (line.justification === undefined) line.justification = state.line;
    else if (line.justification !== state.line) {
      fail(state.lineAt, `[jl${lineCode(state.line)}] changes the justification after text on the same line; one justification per line, put it at the start of the line`);
    }
    if (page.justification === undefined) page.justification = state.page;
    else if (page.justification !== state.page) {
      fail(state.pageAt, `[jp${pageCode(state.page)}] changes the page justification after text on the same page; put it at the start of the page`);
    }
    const run: TextRun = { text, font: state.font, colour: state.colour };
    if (state.flash) run.flash = { ...state.flash };
    line.runs.push(run);
  };

  const number = (digits: string, min: number, max: number, at: number, tag: string, what: string): number => {
    const value = Number.parseInt(digits, 10);
    if (!(value >= min && value <= max)) fail(at, `[${tag}]: ${what} ${digits} is not ${min}-${max}`);
    return value;
  };

  const handleTag = (tag: string, at: number) => {
    const t = tag.toLowerCase();
    let m: RegExpMatchArray | null;
    if (t === '') return fail(at, 'empty tag []');
    if ((m = t.match(/^nl(\d*)$/))) {
      const spacing = m[1] ? number(m[1], 0, 99, at, tag, 'line spacing') : undefined;
      closeLine();
      line = spacing === undefined ? { runs: [] } : { runs: [], spacingPx: spacing };
      return;
    }
    if (t === 'np') {
      closePage();
      page = { lines: [] };
      line = { runs: [] };
      return;
    }
    if (t.startsWith('jl')) {
      const code = t.slice(2);
      if (code === '') state.line = DEFAULT_LINE_JUSTIFICATION;
      else if (LINE_CODES[code]) state.line = LINE_CODES[code];
      else fail(at, `[${tag}]: justification ${code} is not one of ${listCodes(LINE_CODES)}`);
      state.lineAt = at;
      return;
    }
    if (t.startsWith('jp')) {
      const code = t.slice(2);
      if (code === '') state.page = DEFAULT_PAGE_JUSTIFICATION;
      else if (PAGE_CODES[code]) state.page = PAGE_CODES[code];
      else fail(at, `[${tag}]: page justification ${code} is not one of ${listCodes(PAGE_CODES)}`);
      state.pageAt = at;
      return;
    }
    if (t.startsWith('pt')) {
      m = t.match(/^pt(\d*)(?:o(\d*))?$/);
      if (!m) return fail(at, `malformed tag [${tag}] (expected [ptAoB], tenths of a second, either part optional)`);
      state.onTimeDs = m[1] ? number(m[1], 0, 255, at, tag, 'page on-time') : undefined;
      state.offTimeDs = m[2] ? number(m[2], 0, 255, at, tag, 'page off-time') : undefined;
      if (state.onTimeDs === defaults.pageOnTimeDs) state.onTimeDs = undefined;
      if (state.offTimeDs === 0) state.offTimeDs = undefined;
      return;
    }
    if (t.startsWith('fo')) {
      m = t.match(/^fo(\d*)(?:,[0-9a-f]{4})?$/);
      if (!m) return fail(at, `malformed tag [${tag}] (expected [foN] or [foN,cccc])`);
      state.font = m[1] ? number(m[1], 1, 255, at, tag, 'font number') : defaults.font;
      return;
    }
    if (t.startsWith('cf')) {
      const value = t.slice(2);
      if (value === '') state.colour = defaultColour;
      else if ((m = value.match(/^(\d+)$/))) {
        const index = number(m[1]!, 0, 9, at, tag, 'classic colour');
        state.colour = CLASSIC_COLOURS[index]!.hex;
      } else if ((m = value.match(/^(\d+),(\d+),(\d+)$/))) {
        const [r, g, b] = [m[1]!, m[2]!, m[3]!].map((v) => number(v, 0, 255, at, tag, 'colour component')) as [number, number, number];
        state.colour = rgbToHex(r, g, b);
      } else fail(at, `malformed tag [${tag}] (expected [cfN] with N 0-9 or [cfR,G,B])`);
      return;
    }
    if (t.startsWith('fl')) {
      m = t.match(/^fl(?:t(\d+))?(?:o(\d+))?$/);
      if (!m) return fail(at, `malformed tag [${tag}] (expected [fl] or [fltXoY], X and Y tenths 0-9)`);
      if (state.flash) fail(at, `[${tag}] inside the flash opened at ${state.flashAt}; close it with [/fl] first`);
      state.flash = {
        onDs: m[1] ? number(m[1], 0, 9, at, tag, 'flash on-time') : DEFAULT_FLASH.onDs,
        offDs: m[2] ? number(m[2], 0, 9, at, tag, 'flash off-time') : DEFAULT_FLASH.offDs,
      };
      state.flashAt = at;
      return;
    }
    if (t === '/fl') {
      if (!state.flash) fail(at, `[${tag}] without [fl]`);
      state.flash = undefined;
      return;
    }
    const unsupported = UNSUPPORTED.find(([re]) => re.test(t));
    if (unsupported) return fail(at, `tag [${tag}] is not supported (${unsupported[1]})`);
    fail(at, `unknown tag [${tag}]`);
  };

  let text = '';
  const flushText = () => {
    if (text !== '') addText(text);
    text = '';
  };
  let i = 0;
  while (i < multi.length) {
    const c = multi[i]!;
    if (c === '[') {
      if (multi[i + 1] === '[') {
        text += '[';
        i += 2;
        continue;
      }
      const close = multi.indexOf(']', i + 1);
      const nextOpen = multi.indexOf('[', i + 1);
      if (close < 0 || (nextOpen >= 0 && nextOpen < close)) fail(i, `unclosed tag starting at ${i}`);
      flushText();
      handleTag(multi.slice(i + 1, close), i);
      i = close + 1;
    } else if (c === ']') {
      if (multi[i + 1] !== ']') fail(i, `stray ']' at ${i}`);
      text += ']';
      i += 2;
    } else {
      text += c;
      i += 1;
    }
  }
  flushText();
  closePage();
  return normaliseContent({ pages }, defaults);
}

function escapeText(text: string): string {
  return text.replace(/\[/g, '[[').replace(/\]/g, ']]');
}

function colourTag(colour: string): string {
  const index = classicIndex(colour);
  if (index !== undefined) return `[cf${index}]`;
  return `[cf${hexToRgb(colour).join(',')}]`;
}

function flashTag(flash: Flash): string {
  const on = flash.onDs === DEFAULT_FLASH.onDs ? '' : `t${flash.onDs}`;
  const off = flash.offDs === DEFAULT_FLASH.offDs ? '' : `o${flash.offDs}`;
  return `[fl${on}${off}]`;
}

function checkWritable(content: SignContent): void {
  content.pages.forEach((page, p) => {
    const where = `page ${p + 1}`;
    if (!Object.values(PAGE_CODES).includes(page.justification)) throw new Error(`${where}: page justification '${page.justification}' is not top, middle or bottom`);
    for (const [name, v] of [['onTimeDs', page.onTimeDs], ['offTimeDs', page.offTimeDs]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 255)) throw new Error(`${where}: ${name} ${v} is not 0-255`);
    }
    page.lines.forEach((line, l) => {
      const at = `${where} line ${l + 1}`;
      if (!Object.values(LINE_CODES).includes(line.justification)) throw new Error(`${at}: justification '${line.justification}' is not left, center, right or full`);
      if (line.spacingPx !== undefined && !(Number.isInteger(line.spacingPx) && line.spacingPx >= 0 && line.spacingPx <= 99)) {
        throw new Error(`${at}: spacingPx ${line.spacingPx} is not 0-99`);
      }
      for (const run of line.runs) {
        if (!(Number.isInteger(run.font) && run.font >= 1 && run.font <= 255)) throw new Error(`${at}: font ${run.font} is not 1-255`);
        if (!isHexColour(run.colour)) throw new Error(`${at}: colour '${run.colour}' is not '#rrggbb'`);
        const f = run.flash;
        if (f && !([f.onDs, f.offDs].every((v) => Number.isInteger(v) && v >= 0 && v <= 9))) {
          throw new Error(`${at}: flash times ${f.onDs}/${f.offDs} are not tenths 0-9`);
        }
      }
    });
  });
}

/**
 * Canonical MULTI of a content: tags only where a value differs from what is in effect (starting
 * from the defaults), in a fixed order — page: [np] [pt] [jp]; line: [nl] [jl]; run: [/fl] [fo]
 * [cf] [fl]; an open flash is closed at the end of each line. parseMulti(toMulti(c)) equals c for
 * canonical content. Throws Error for values MULTI cannot express.
 */
export function toMulti(content: SignContent, defaults: MultiDefaults): string {
  checkWritable(content);
  const c = normaliseContent(content, defaults);
  let font = defaults.font;
  let colour = defaults.colour.toLowerCase();
  let flash: Flash | undefined;
  let lineJ: LineJustification = DEFAULT_LINE_JUSTIFICATION;
  let pageJ: PageJustification = DEFAULT_PAGE_JUSTIFICATION;
  let onTime: number | undefined;
  let offTime: number | undefined;
  let out = '';
  c.pages.forEach((page, p) => {
    if (p > 0) out += '[np]';
    if (page.onTimeDs !== onTime || page.offTimeDs !== offTime) {
      onTime = page.onTimeDs;
      offTime = page.offTimeDs;
      out += `[pt${onTime ?? ''}${offTime === undefined ? '' : `o${offTime}`}]`;
    }
    if (page.justification !== pageJ) {
      pageJ = page.justification;
      out += `[jp${pageCode(pageJ)}]`;
    }
    page.lines.forEach((line, l) => {
      if (l > 0) out += line.spacingPx === undefined ? '[nl]' : `[nl${line.spacingPx}]`;
      if (line.justification !== lineJ) {
        lineJ = line.justification;
        out += `[jl${lineCode(lineJ)}]`;
      }
      for (const run of line.runs) {
        if (flash && !sameFlash(flash, run.flash)) {
          out += '[/fl]';
          flash = undefined;
        }
        if (run.font !== font) {
          font = run.font;
          out += `[fo${font}]`;
        }
        if (run.colour !== colour) {
          colour = run.colour;
          out += colourTag(colour);
        }
        if (run.flash && !flash) {
          flash = run.flash;
          out += flashTag(flash);
        }
        out += escapeText(run.text);
      }
      if (flash) {
        out += '[/fl]';
        flash = undefined;
      }
    });
  });
  return out;
}
