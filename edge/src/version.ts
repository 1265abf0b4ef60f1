import { readFileSync } from 'node:fs';

/** This code's version, from its package.json. */
export const AGENT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Set by the supervisor for the agent it starts: the release it runs (an installed release keeps its package.json). */
export const RELEASE_VERSION_ENV = 'QUANLINK_RELEASE_VERSION';

/** The version running now, as births, telemetry and status report it: the supervisor's release, else this code's own. */
export function runningAgentVersion(): string {
  return process.env[RELEASE_VERSION_ENV] || AGENT_VERSION;
}
