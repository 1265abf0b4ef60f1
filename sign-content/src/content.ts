/**
 * One canonical shape for content, whatever it was written in (MULTI or the structured form), so
 * that the same message always gives the same canonical MULTI and therefore the same CRC.
 */
import type { LineJustification, PageJustification, SignContent, SignLine, SignPage, TextRun } from './types.js';

/** What a message falls back to where it says nothing; usually `defaultsFor(caps)`. */
export interface MultiDefaults {
  font: number;
  colour: string;
  pageOnTimeDs?: number;
}

/** NTCIP 1203 leaves the default justifications to the sign; ours are fixed so CRCs agree everywhere. */
export const DEFAULT_LINE_JUSTIFICATION: LineJustification = 'left';
export const DEFAULT_PAGE_JUSTIFICATION: PageJustification = 'top';
/** [fl] without times: 0.5 s on, 0.5 s off. */
export const DEFAULT_FLASH = { onDs: 5, offDs: 5 } as const;

export const BLANK: SignContent = { pages: [] };

export function sameFlash(a: TextRun['flash'], b: TextRun['flash']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.onDs === b.onDs && a.offDs === b.offDs;
}

export function sameRunStyle(a: TextRun, b: TextRun): boolean {
  return a.font === b.font && a.colour === b.colour && sameFlash(a.flash, b.flash);
}

/** Page times as the canonical model keeps them: absent when they are the defaults. */
export function canonicalTimes(page: Pick<SignPage, 'onTimeDs' | 'offTimeDs'>, defaults: MultiDefaults): Pick<SignPage, 'onTimeDs' | 'offTimeDs'> {
  const out: Pick<SignPage, 'onTimeDs' | 'offTimeDs'> = {};
  if (page.onTimeDs !== undefined && page.onTimeDs !== defaults.pageOnTimeDs) out.onTimeDs = page.onTimeDs;
  if (page.offTimeDs !== undefined && page.offTimeDs !== 0) out.offTimeDs = page.offTimeDs;
  return out;
}

function canonicalRuns(runs: TextRun[]): TextRun[] {
  const out: TextRun[] = [];
  for (const run of runs) {
    if (run.text === '') continue;
    const copy: TextRun = { text: run.text, font: run.font, colour: run.colour.toLowerCase() };
    if (run.flash) copy.flash = { onDs: run.flash.onDs, offDs: run.flash.offDs };
    const last = out[out.length - 1];
    if (last && sameRunStyle(last, copy)) last.text += copy.text;
    else out.push(copy);
  }
  return out;
}

/**
 * Canonical form: no empty runs, neighbouring runs differ in style, colours lower-case, default
 * page times absent, no spacing on a page's first line, a page whose only line is empty has no
 * lines, and a single empty default page is blank (no pages) — exactly what parseMulti returns.
 * Justification does not show on an empty line or an empty page, so those take the justification
 * of the line (page) before them: the same display then always gives the same MULTI.
 */
export function normaliseContent(content: SignContent, defaults: MultiDefaults): SignContent {
  let lastLine: LineJustification = DEFAULT_LINE_JUSTIFICATION;
  let lastPage: PageJustification = DEFAULT_PAGE_JUSTIFICATION;
  const pages = content.pages.map((page): SignPage => {
    let lines = page.lines.map((line, index): SignLine => {
      const out: SignLine = { justification: line.justification, runs: canonicalRuns(line.runs) };
      if (index > 0 && line.spacingPx !== undefined) out.spacingPx = line.spacingPx;
      return out;
    });
    if (lines.length === 1 && lines[0]!.runs.length === 0) lines = [];
    for (const line of lines) {
      if (line.runs.length === 0) line.justification = lastLine;
      lastLine = line.justification;
    }
    const justification = lines.length === 0 ? lastPage : page.justification;
    lastPage = justification;
    return { justification, ...canonicalTimes(page, defaults), lines };
  });
  const only = pages.length === 1 ? pages[0] : undefined;
  if (only && isBlankDefaultPage(only)) return { pages: [] };
  return { pages };
}

function isBlankDefaultPage(page: SignPage): boolean {
  return page.lines.length === 0 && page.justification === DEFAULT_PAGE_JUSTIFICATION && page.onTimeDs === undefined && page.offTimeDs === undefined;
}

/** Characters (code points) of a line, each with the run it belongs to. */
export function lineChars(line: SignLine): { char: string; run: TextRun }[] {
  return line.runs.flatMap((run) => Array.from(run.text, (char) => ({ char, run })));
}
