/**
 * Camera credentials never enter the cloud. The contract already forbids them in a birth's stream
 * URIs, but a gateway that gets this wrong must not leak a camera password into the registry, the
 * API or the logs: the cloud strips them (user:pass@ and credential-like query parameters) rather
 * than refusing the whole birth, which would also drop every other device it describes.
 */

const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*@)/;
/** Query parameters that carry credentials in camera URLs (e.g. ?user=admin&password=...). */
const CREDENTIAL_PARAM = /^(user(name)?|usr|login|pass(word|wd)?|pwd|auth(info)?|token|access_token|api[-_]?key|key|secret)$/i;

export interface StrippedUri {
  uri: string;
  /** True when something was removed. */
  stripped: boolean;
}

/** The URI without user:password@ and without credential query parameters; other text is left alone. */
export function stripUriCredentials(uri: string): StrippedUri {
  let out = uri;
  let stripped = false;
  if (USERINFO.test(out)) {
    out = out.replace(USERINFO, '$1');
    stripped = true;
  }
  const q = out.indexOf('?');
  if (q >= 0) {
    const hash = out.indexOf('#', q);
    const query = out.slice(q + 1, hash < 0 ? undefined : hash);
    const params = query.split('&');
    const kept = params.filter((param) => !CREDENTIAL_PARAM.test(decodeSafe(param.split('=')[0] ?? '')));
    if (kept.length !== params.length) {
      stripped = true;
      out = out.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '') + (hash < 0 ? '' : out.slice(hash));
    }
  }
  return { uri: out, stripped };
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** True when the URI carries credentials (what stripUriCredentials would remove). */
export function hasUriCredentials(uri: string): boolean {
  return stripUriCredentials(uri).stripped;
}

/**
 * Strips credentials from every device endpoint and camera stream URI of a birth, in place, before
 * it is validated. Returns where it removed something (e.g. `devices[2].camera.profiles[0].streamUri`),
 * never what it removed.
 */
export function stripBirthCredentials(birth: unknown): string[] {
  const where: string[] = [];
  const devices = (birth as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(devices)) return where;
  devices.forEach((device: unknown, i) => {
    if (device === null || typeof device !== 'object') return;
    const d = device as { endpoint?: unknown; camera?: { profiles?: unknown } };
    if (typeof d.endpoint === 'string') {
      const clean = stripUriCredentials(d.endpoint);
      if (clean.stripped) (d.endpoint = clean.uri), where.push(`devices[${i}].endpoint`);
    }
    const profiles = d.camera?.profiles;
    if (!Array.isArray(profiles)) return;
    profiles.forEach((profile: unknown, j) => {
      const p = profile as { streamUri?: unknown } | null;
      if (p === null || typeof p !== 'object' || typeof p.streamUri !== 'string') return;
      const clean = stripUriCredentials(p.streamUri);
      if (clean.stripped) (p.streamUri = clean.uri), where.push(`devices[${i}].camera.profiles[${j}].streamUri`);
    });
  });
  return where;
}
