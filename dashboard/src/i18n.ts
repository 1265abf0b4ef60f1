/** The interface language and text lookup (the texts themselves: logic/texts.ts). */
import { DICTIONARIES, en, type Lang, type TextKey } from './logic/texts.js';

export type { Lang, TextKey } from './logic/texts.js';

let current: Lang = (localStorage.getItem('quanlink.lang') as Lang | null) === 'en' ? 'en' : 'zh';

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem('quanlink.lang', next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
}

export function t(key: TextKey, params: Record<string, string | number> = {}): string {
  return DICTIONARIES[current][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** A text whose key is built at run time (a device kind, a role); falls back to the raw value. */
export function tMaybe(key: string, fallback: string): string {
  return key in en ? t(key as TextKey) : fallback;
}
