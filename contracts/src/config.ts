/**
 * Configuration from the cloud (a device shadow): the cloud keeps a gateway's desired configuration
 * by version and sends it with `config.apply`; the gateway validates and applies it all or nothing
 * and reports what runs with a `config.reported` event.
 *
 * "The configuration" is the managed part of the gateway's config file: its devices and settings.
 * Gateway identity, cloud credentials and the machine's layout (data and profile folders, link
 * tuning) stay on the gateway and never travel. The edge checks every field in full (it knows the
 * profiles and the transports); this schema is the shape both sides agree on, so that the cloud can
 * refuse a malformed document early.
 *
 * Secrets: a transport's `password` may be omitted in a desired config; the gateway then keeps the
 * password it has for the same device id. Passwords never count in the sha256 (so the cloud, which
 * forgets them once applied, and the gateway compute the same digest) and are never reported.
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN } from './ids.js';

const EpochMs = Type.Integer({ minimum: 0, description: 'Unix epoch milliseconds' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 (hex) of the managed config without secrets, canonical JSON' });

/** One device binding: id, profile and transport kind are checked here, the rest by the gateway. */
export const ManagedDevice = Type.Object(
  {
    id: Type.String({ pattern: DEVICE_ID_PATTERN }),
    profile: Type.String({ minLength: 1, maxLength: 128 }),
    transport: Type.Object({ kind: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: true }),
  },
  { additionalProperties: true },
);

/** The part of a gateway's configuration the cloud manages. */
export const ManagedConfig = Type.Object(
  {
    devices: Type.Array(ManagedDevice, { maxItems: 1024 }),
    telemetryIntervalS: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
/** A device binding as both sides type it: the fields the gateway knows besides these are open. */
export type ManagedDevice = { id: string; profile: string; transport: { kind: string; [field: string]: unknown }; [field: string]: unknown };
export type ManagedConfig = Omit<Static<typeof ManagedConfig>, 'devices'> & { devices: ManagedDevice[] };

/** The keys of a gateway config file that belong to the managed part (everything else stays local). */
export const MANAGED_CONFIG_KEYS = ['devices', 'telemetryIntervalS'] as const;

/** config.apply: make `config` the gateway's managed configuration, as version `version`. */
export const ConfigApplyArgs = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    config: ManagedConfig,
  },
  { additionalProperties: false },
);
export type ConfigApplyArgs = Static<typeof ConfigApplyArgs>;

/** The answer of a successful config.apply. */
export interface ConfigApplyResult {
  version: number;
  sha256: string;
}

export const CONFIG_SOURCES = ['cloud', 'local'] as const;
export type ConfigSource = (typeof CONFIG_SOURCES)[number];

/**
 * What the gateway runs (event `config.reported`, no device): after a config.apply (source cloud) or
 * when it finds its file's managed part changed by hand or by the CLI (source local, with the version
 * it diverged from; 0 when the cloud never set one).
 */
export const ConfigReportedData = Type.Object(
  {
    version: Type.Integer({ minimum: 0 }),
    sha256: Sha256,
    source: Type.Union(CONFIG_SOURCES.map((s) => Type.Literal(s))),
    appliedAt: EpochMs,
    /** The managed config without secrets. */
    config: Type.Optional(ManagedConfig),
  },
  { additionalProperties: false },
);
export type ConfigReportedData = Static<typeof ConfigReportedData>;

/** Field names that hold secrets anywhere in a managed config. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['password']);

/** A deep copy without secret fields (what is hashed, reported, shown and audited). */
export function withoutSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (!SECRET_KEYS.has(key)) out[key] = withoutSecrets(item);
  }
  return out as T;
}

/** Paths of the secret fields a config carries (e.g. devices[1].transport.password), never their values. */
export function secretPaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => secretPaths(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => {
    const at = path === '' ? key : `${path}.${key}`;
    return SECRET_KEYS.has(key) ? [at] : secretPaths(item, at);
  });
}

/** JSON with object keys sorted at every level, so equal documents give equal bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** The digest both sides compare: sha256 of the canonical JSON of the config without secrets. */
export function configSha256(config: ManagedConfig): string {
  return createHash('sha256').update(canonicalJson(withoutSecrets(config))).digest('hex');
}
