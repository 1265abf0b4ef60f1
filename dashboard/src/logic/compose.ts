/** Guidance content from the compose form (DOM-free, so the unit tests run it in node). */

/** The form's text as sign-content's ContentForm: one line per row, an empty row starts a new page. */
export function formOf(text: string): { pages: { lines: string[] }[] } {
  const pages = text
    .split(/\n\s*\n/)
    .map((page) => ({ lines: page.split('\n').map((l) => l.trim()).filter((l) => l !== '') }))
    .filter((p) => p.lines.length > 0);
  return { pages };
}
