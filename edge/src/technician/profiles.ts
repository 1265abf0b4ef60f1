/** The profiles a technician command can use: the builtin ones and those of the config's profileDirs. */
import { loadBuiltinProfiles, loadProfileDir, type DeviceProfile } from '@quanlink/device-profiles';
import type { ConfigFile } from '../config/index.js';

export async function knownProfiles(config?: ConfigFile): Promise<Map<string, DeviceProfile>> {
  const profiles = await loadBuiltinProfiles();
  for (const dir of config?.data.profileDirs ?? []) {
    const { profiles: extra, errors } = await loadProfileDir(config!.resolvePath(dir));
    for (const err of errors) process.stderr.write(`quanlink-edge: profile skipped: ${err.message}\n`);
    for (const profile of extra) profiles.set(profile.id, profile);
  }
  return profiles;
}
