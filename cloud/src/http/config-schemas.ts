/** Schemas of the configuration shadow routes (desired vs reported gateway configuration). */
import { Type, type Static } from '@sinclair/typebox';
import { ManagedConfig } from '@quanlink/contracts';
import { Nullable } from './schemas.js';

const EpochMs = Type.Integer({ description: 'epoch ms' });
const Sha256 = Type.String({ description: 'sha256 of the canonical JSON of the config without secrets' });
const ErrorInfo = Type.Object({ code: Type.String(), message: Type.String() });

export const PutConfigBody = Type.Object(
  {
    config: ManagedConfig,
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, description: 'the desired version this change is based on (0: none yet); 409 when it is not the current one' })),
  },
  { additionalProperties: false, description: "A gateway's devices and settings; transport passwords may be left out (the gateway keeps its own)" },
);
export type PutConfigBody = Static<typeof PutConfigBody>;

export const ConfigShadowView = Type.Object({
  desired: Nullable(
    Type.Object({
      version: Type.Integer(),
      sha256: Sha256,
      config: ManagedConfig,
      setBy: Type.String(),
      setAt: EpochMs,
      outcome: Type.Union([Type.Literal('pending'), Type.Literal('applied'), Type.Literal('rejected')], { description: 'what the gateway answered' }),
    }),
  ),
  reported: Nullable(
    Type.Object({
      version: Type.Integer({ description: 'applied version (a local edit keeps the version it diverged from; 0: never set by the cloud)' }),
      sha256: Sha256,
      source: Type.Union([Type.Literal('cloud'), Type.Literal('local')]),
      at: Type.Integer({ description: 'when the gateway applied it (gateway clock, epoch ms)' }),
      receivedAt: EpochMs,
      config: Type.Optional(ManagedConfig),
    }),
  ),
  inSync: Type.Boolean({ description: 'a desired config exists and the gateway runs exactly it' }),
  lastError: Type.Optional(Type.Object({ version: Type.Integer(), code: Type.String(), message: Type.String(), at: EpochMs })),
});

export const ConfigHistoryQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);
export type ConfigHistoryQuery = Static<typeof ConfigHistoryQuery>;

export const ConfigHistoryView = Type.Array(
  Type.Object({
    at: EpochMs,
    kind: Type.Union([Type.Literal('desired'), Type.Literal('applied'), Type.Literal('rejected'), Type.Literal('reported')]),
    version: Type.Integer(),
    sha256: Nullable(Type.String()),
    actor: Nullable(Type.String({ description: 'who set a desired version' })),
    source: Nullable(Type.Union([Type.Literal('cloud'), Type.Literal('local')])),
    error: Nullable(ErrorInfo),
  }),
);
