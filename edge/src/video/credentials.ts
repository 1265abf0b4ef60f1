/**
 * Camera credentials live in the binding's own fields, in the owner-only config file. They are put
 * into a stream URL only at the moment ffmpeg is started, and scrubbed from anything ffmpeg says
 * before it is logged or reported.
 */

const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

/** The URL with user and password inserted (percent-encoded), for ffmpeg only. */
export function withCredentials(url: string, username?: string, password?: string): string {
  if (username === undefined && password === undefined) return url;
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(username ?? '');
  parsed.password = encodeURIComponent(password ?? '');
  return parsed.toString();
}

/** The URL without any user or password in it (what may be logged, stored in births, shown). */
export function withoutCredentials(url: string): string {
  return url.replace(USERINFO, '$1');
}

/** The text with every URL's userinfo removed and every secret (raw or percent-encoded) masked. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text.replace(USERINFO, '$1***@');
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  return out;
}
