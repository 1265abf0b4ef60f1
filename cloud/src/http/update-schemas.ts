/** Schemas of the update and rollout routes. */
import { Type, type Static } from '@sinclair/typebox';
import { GATEWAY_ID_PATTERN, UpdateManifest, VERSION_PATTERN } from '@quanlink/contracts';
import { TARGET_STATES } from '../updates/types.js';
import { Nullable } from './schemas.js';

const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

export const UpdateParams = Type.Object({ updateId: Id }, { additionalProperties: false });
export const RolloutParams = Type.Object({ rolloutId: Id }, { additionalProperties: false });

export const UpdateView = Type.Object({
  id: Type.String(),
  version: Type.String({ pattern: VERSION_PATTERN }),
  keyId: Type.String(),
  bundleSha256: Type.String(),
  size: Type.Integer(),
  createdAt: Type.Integer(),
  createdBy: Type.String(),
  manifest: UpdateManifest,
});
export type UpdateView = Static<typeof UpdateView>;

const TargetState = Type.Union(TARGET_STATES.map((s) => Type.Literal(s)));

export const NewRolloutBody = Type.Object(
  {
    updateId: Id,
    /** Exactly one of gateways, site, all. */
    gateways: Type.Optional(Type.Array(Type.String({ pattern: GATEWAY_ID_PATTERN }), { minItems: 1, maxItems: 10_000, uniqueItems: true })),
    site: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    all: Type.Optional(Type.Literal(true)),
    /** At most this many gateways updating at once (default 1). */
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    /** At most this many gateways started per minute. */
    perMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Abort after this many failed gateways (an integer), or this share of them ("25%"); default 1. */
    abortAfterFailures: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.String({ pattern: '^(100|[1-9][0-9]?)(\\.[0-9]+)?%$' })])),
    /** A gateway that has not reported healthy this long after update.apply counts as failed (default 600). */
    healthTimeoutS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
export type NewRolloutBody = Static<typeof NewRolloutBody>;

export const AbortRolloutBody = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false });
export type AbortRolloutBody = Static<typeof AbortRolloutBody>;

export const RolloutTargetView = Type.Object({
  gatewayId: Type.String(),
  state: TargetState,
  reason: Nullable(Type.String()),
  startedAt: Nullable(Type.Integer()),
  updatedAt: Type.Integer(),
});

export const RolloutView = Type.Object({
  id: Type.String(),
  updateId: Type.String(),
  version: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('aborted')]),
  reason: Nullable(Type.String()),
  maxConcurrent: Type.Integer(),
  perMinute: Nullable(Type.Integer()),
  abortAfterFailures: Nullable(Type.Integer()),
  abortAfterPercent: Nullable(Type.Number()),
  healthTimeoutMs: Type.Integer(),
  createdAt: Type.Integer(),
  createdBy: Type.String(),
  finishedAt: Nullable(Type.Integer()),
  counts: Type.Record(Type.String(), Type.Integer()),
});

export const RolloutDetailView = Type.Composite([RolloutView, Type.Object({ targets: Type.Array(RolloutTargetView) })]);
export type UpdateParams = Static<typeof UpdateParams>;
export type RolloutParams = Static<typeof RolloutParams>;
