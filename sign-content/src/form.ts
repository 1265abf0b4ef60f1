/**
 * The structured form: what an operator fills in instead of writing MULTI. It becomes the same
 * canonical content (and so the same MULTI and CRC) as the equivalent MULTI. Text is literal:
 * brackets in it are characters, not tags.
 */
import { normaliseColour } from './colours.js';
import { DEFAULT_LINE_JUSTIFICATION, DEFAULT_PAGE_JUSTIFICATION, normaliseContent, type MultiDefaults } from './content.js';
import type { LineJustification, PageJustification, SignContent, SignLine, SignPage } from './types.js';

export type FormLine = string | { text: string; colour?: string; font?: number; align?: LineJustification };

export interface FormPage {
  lines: FormLine[];
  /** Seconds the page shows (tenths of a second resolution); the sign's default when absent. */
  pageTimeS?: number;
  align?: PageJustification;
}

export interface ContentForm {
  pages: FormPage[];
  font?: number;
  /** '#rrggbb' or a classic colour name ('amber'). */
  colour?: string;
  align?: LineJustification;
}

export class ContentFormError extends Error {
  override readonly name = 'ContentFormError';
  constructor(
    /** Where in the form, e.g. `pages[1].lines[0].colour`; '' for the form as a whole. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path === '' ? '(form)' : path}: ${problem}`);
  }
}

const LINE_ALIGNS: readonly LineJustification[] = ['left', 'center', 'right', 'full'];
const PAGE_ALIGNS: readonly PageJustification[] = ['top', 'middle', 'bottom'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(value: Record<string, unknown>, allowed: string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ContentFormError(path === '' ? key : `${path}.${key}`, `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function font(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 255) {
    throw new ContentFormError(path, `font must be a whole number 1-255, got ${JSON.stringify(value)}`);
  }
  return value;
}

function colour(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  const hex = typeof value === 'string' ? normaliseColour(value) : undefined;
  if (hex === undefined) throw new ContentFormError(path, `colour must be '#rrggbb' or a classic colour name, got ${JSON.stringify(value)}`);
  return hex;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new ContentFormError(path, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ContentFormError(path, `text must be a string, got ${JSON.stringify(value)}`);
  if (/[\r\n]/.test(value)) throw new ContentFormError(path, 'text contains a line break; put each line in its own entry');
  return value;
}

function pageTime(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  const ds = typeof value === 'number' ? Math.round(value * 10) : NaN;
  if (!(ds >= 1 && ds <= 255) || Math.abs(ds - (value as number) * 10) > 1e-6) {
    throw new ContentFormError(path, `page time must be 0.1-25.5 seconds in steps of 0.1, got ${JSON.stringify(value)}`);
  }
  return ds;
}

/** The form as content in canonical shape. Throws ContentFormError naming the field. */
export function contentFromForm(form: ContentForm, defaults: MultiDefaults): SignContent {
  if (!isObject(form)) throw new ContentFormError('', 'the form must be an object with pages');
  onlyKeys(form, ['pages', 'font', 'colour', 'align'], '');
  if (!Array.isArray(form.pages)) throw new ContentFormError('pages', 'must be a list of pages');
  const formFont = font(form.font, 'font') ?? defaults.font;
  const formColour = colour(form.colour, 'colour') ?? defaults.colour.toLowerCase();
  const formAlign = oneOf(form.align, LINE_ALIGNS, 'align') ?? DEFAULT_LINE_JUSTIFICATION;

  const pages = form.pages.map((page: unknown, p): SignPage => {
    const at = `pages[${p}]`;
    if (!isObject(page)) throw new ContentFormError(at, 'a page must be an object with lines');
    onlyKeys(page, ['lines', 'pageTimeS', 'align'], at);
    if (!Array.isArray(page.lines)) throw new ContentFormError(`${at}.lines`, 'must be a list of lines');
    const lines = page.lines.map((line: unknown, l): SignLine => {
      const lineAt = `${at}.lines[${l}]`;
      if (typeof line === 'string') return { justification: formAlign, runs: [{ text: text(line, lineAt), font: formFont, colour: formColour }] };
      if (!isObject(line)) throw new ContentFormError(lineAt, 'a line must be text or an object with text');
      onlyKeys(line, ['text', 'colour', 'font', 'align'], lineAt);
      return {
        justification: oneOf(line.align, LINE_ALIGNS, `${lineAt}.align`) ?? formAlign,
        runs: [{
          text: text(line.text, `${lineAt}.text`),
          font: font(line.font, `${lineAt}.font`) ?? formFont,
          colour: colour(line.colour, `${lineAt}.colour`) ?? formColour,
        }],
      };
    });
    const onTimeDs = pageTime(page.pageTimeS, `${at}.pageTimeS`);
    return {
      justification: oneOf(page.align, PAGE_ALIGNS, `${at}.align`) ?? DEFAULT_PAGE_JUSTIFICATION,
      ...(onTimeDs === undefined ? {} : { onTimeDs }),
      lines,
    };
  });
  return normaliseContent({ pages }, defaults);
}
