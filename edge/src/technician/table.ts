/** One plain-text table for every technician command: aligned columns, a header, '-' for an empty cell. */

export type Cell = string | number | boolean | undefined | null;

/** East Asian wide characters (CJK, Hangul, full-width forms) take two columns on a terminal. */
const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += WIDE.test(char) ? 2 : 1;
  return width;
}

export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = (cell: Cell): string => (cell === undefined || cell === null || cell === '' ? '-' : String(cell).replace(/\s*\n\s*/g, ' '));
  const all = [header.map(text), ...rows.map((row) => header.map((_, i) => text(row[i])))];
  const widths = header.map((_, i) => Math.max(...all.map((row) => displayWidth(row[i]!))));
  return all.map((row) => row.map((cell, i) => cell + ' '.repeat(widths[i]! - displayWidth(cell))).join('  ').trimEnd()).join('\n');
}
