/** Which characters a sign can draw, by its charset. */
import type { SignCapabilities } from './types.js';

const isAscii = (cp: number) => cp >= 0x20 && cp <= 0x7e;

let gb2312: Set<number> | undefined;

/** Every character of GB2312 (rows 0xA1-0xF7, cells 0xA1-0xFE) plus printable ASCII; built once. */
function gb2312Set(): Set<number> {
  if (gb2312) return gb2312;
  const set = new Set<number>();
  for (let cp = 0x20; cp <= 0x7e; cp++) set.add(cp);
  const decoder = new TextDecoder('gbk');
  const pair = new Uint8Array(2);
  for (let hi = 0xa1; hi <= 0xf7; hi++) {
    for (let lo = 0xa1; lo <= 0xfe; lo++) {
      pair[0] = hi;
      pair[1] = lo;
      const cp = decoder.decode(pair).codePointAt(0)!;
      // Empty GB2312 positions decode to U+FFFD or to GBK's private-use mappings: not characters.
      if (cp === 0xfffd || (cp >= 0xe000 && cp <= 0xf8ff)) continue;
      set.add(cp);
    }
  }
  gb2312 = set;
  return set;
}

/** Printable: no control, format, surrogate, private-use or unassigned code points. */
const NOT_PRINTABLE = /\p{C}/u;

export function inCharset(char: string, charset: SignCapabilities['charset']): boolean {
  const cp = char.codePointAt(0) ?? 0;
  switch (charset) {
    case 'ascii':
      return isAscii(cp);
    case 'gb2312':
      return gb2312Set().has(cp);
    case 'unicode':
      return !NOT_PRINTABLE.test(char);
  }
}
