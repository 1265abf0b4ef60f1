/** Loading profiles from files and folders, and the builtin catalogue shipped in device-profiles/profiles. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProfileError } from './errors.js';
import { parseProfile } from './parse.js';
import type { DeviceProfile } from './types.js';

/** Absolute path of the builtin profiles folder. */
export const BUILTIN_PROFILES_DIR: string = fileURLToPath(new URL('../profiles', import.meta.url));

const PROFILE_FILE = /\.ya?ml$/i;

export async function loadProfileFile(file: string): Promise<DeviceProfile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ProfileError(file, '(file)', `cannot read: ${(err as Error).message}`);
  }
  return parseProfile(text, file);
}

/** Every *.yaml / *.yml below `dir`, in a stable order. */
async function profileFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await profileFiles(path)));
    else if (entry.isFile() && PROFILE_FILE.test(entry.name)) files.push(path);
  }
  return files;
}

/**
 * Loads every profile below `dir`. A bad file does not stop the others: its error is returned
 * instead. When two files define the same id, the first (in path order) is kept.
 */
export async function loadProfileDir(dir: string): Promise<{ profiles: DeviceProfile[]; errors: ProfileError[] }> {
  let files: string[];
  try {
    files = await profileFiles(dir);
  } catch (err) {
    return { profiles: [], errors: [new ProfileError(dir, '(directory)', `cannot read: ${(err as Error).message}`)] };
  }
  const profiles: DeviceProfile[] = [];
  const errors: ProfileError[] = [];
  const byId = new Map<string, DeviceProfile>();
  for (const file of files) {
    try {
      const profile = await loadProfileFile(file);
      const first = byId.get(profile.id);
      if (first) {
        errors.push(new ProfileError(file, 'id', `duplicate id '${profile.id}': already defined in ${first.source}`));
        continue;
      }
      byId.set(profile.id, profile);
      profiles.push(profile);
    } catch (err) {
      if (!(err instanceof ProfileError)) throw err;
      errors.push(err);
    }
  }
  return { profiles, errors };
}

/** The builtin profiles by id; throws the first ProfileError if any builtin profile is invalid. */
export async function loadBuiltinProfiles(): Promise<Map<string, DeviceProfile>> {
  const { profiles, errors } = await loadProfileDir(BUILTIN_PROFILES_DIR);
  if (errors[0]) throw errors[0];
  return new Map(profiles.map((p) => [p.id, p]));
}
