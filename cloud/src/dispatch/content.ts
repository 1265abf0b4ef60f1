/**
 * Content against screens: the sign capabilities of each device profile, validation of a message's
 * content against every distinct profile among its screens (a problem names the profile and how
 * many screens have it), and rendering for previews. The content model itself is sign-content's.
 */
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { prepareContent, renderPages, type ContentForm, type SignCapabilities } from '@quanlink/sign-content';
import type { Screen } from './screens.js';

export interface ContentInput {
  multi?: string | undefined;
  form?: ContentForm | undefined;
}

/** One thing wrong with the content, where it is, and for which profile/screens. */
export interface ContentProblem {
  page: number;
  line?: number | undefined;
  position?: number | undefined;
  code: string;
  message: string;
  profile?: string | undefined;
  screens?: string[] | undefined;
}

export interface PreparedContent {
  multi: string;
  crc: number;
}

export type ValidationResult = { ok: true; multi: string; crc: number } | { ok: false; problems: ContentProblem[] };

/** The sign capabilities of the known device profiles. */
export class SignCatalogue {
  constructor(private readonly byProfile: ReadonlyMap<string, SignCapabilities>) {}

  static async loadBuiltin(): Promise<SignCatalogue> {
    const profiles = await loadBuiltinProfiles();
    const caps = new Map<string, SignCapabilities>();
    for (const [id, profile] of profiles) {
      const capabilities = profile.sign?.capabilities;
      if (capabilities) caps.set(id, capabilities);
    }
    return new SignCatalogue(caps);
  }

  /** Births may name a profile by its id or by its path in the catalogue ('signs/quanlink-vms-r1'). */
  capabilities(profile: string | null): SignCapabilities | undefined {
    if (profile === null) return undefined;
    return this.byProfile.get(profile) ?? this.byProfile.get(profile.slice(profile.lastIndexOf('/') + 1));
  }

  profiles(): string[] {
    return [...this.byProfile.keys()].sort();
  }
}

/** sign-content's problems, with the MULTI offset of a syntax error as its own field. */
function problemsOf(result: ReturnType<typeof prepareContent>): ContentProblem[] {
  if (result.ok) return [];
  return result.problems.map((problem) => {
    const position = problem.code === 'multi-syntax' ? /MULTI at (\d+)/.exec(problem.message)?.[1] : undefined;
    return { ...problem, ...(position !== undefined && { position: Number(position) }) };
  });
}

/** Validates for one sign. */
export function validateFor(input: ContentInput, caps: SignCapabilities): ValidationResult {
  const result = prepareContent(input, caps);
  if (result.ok) return { ok: true, multi: result.multi, crc: result.crc };
  return { ok: false, problems: problemsOf(result) };
}

/**
 * Validates against each distinct profile of `screens`. The MULTI and CRC are those of the first
 * profile (the canonical MULTI does not depend on the sign).
 */
export function validateForScreens(input: ContentInput, screens: readonly Screen[], catalogue: SignCatalogue): ValidationResult {
  const byProfile = new Map<string, Screen[]>();
  for (const screen of screens) {
    const key = screen.profile ?? '(none)';
    byProfile.set(key, [...(byProfile.get(key) ?? []), screen]);
  }
  const problems: ContentProblem[] = [];
  let prepared: PreparedContent | undefined;
  for (const [profile, group] of byProfile) {
    const names = group.map((s) => s.key);
    const label = `${profile} (${group.length} screen${group.length === 1 ? '' : 's'})`;
    const caps = catalogue.capabilities(profile === '(none)' ? null : profile);
    if (!caps) {
      problems.push({
        page: 0,
        code: 'UnknownProfile',
        message: `${label}: profile '${profile}' has no sign capabilities this cloud knows (screens ${names.join(', ')})`,
        profile,
        screens: names,
      });
      continue;
    }
    const result = validateFor(input, caps);
    if (result.ok) {
      prepared ??= { multi: result.multi, crc: result.crc };
      continue;
    }
    for (const problem of result.problems) {
      problems.push({ ...problem, message: `${label}: ${problem.message}`, profile, screens: names });
    }
  }
  if (problems.length > 0 || !prepared) return { ok: false, problems };
  return { ok: true, ...prepared };
}

/** PNG pages of the content as this sign shows it; problems instead when it does not fit. */
export async function renderFor(
  input: ContentInput,
  caps: SignCapabilities,
  scale?: number,
): Promise<{ multi: string | null; crc: number | null; problems: ContentProblem[]; pages: Buffer[] }> {
  const result = prepareContent(input, caps);
  if (!result.ok) return { multi: null, crc: null, problems: problemsOf(result), pages: [] };
  const pages = await renderPages(result.content, caps, scale === undefined ? {} : { scale });
  return { multi: result.multi, crc: result.crc, problems: [], pages };
}
