/** JSON schemas (TypeBox) of the guidance-screen routes: messages, dispatches, screens, audit, guidance. */
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN, GATEWAY_ID_PATTERN, MESSAGE_SOURCES, SignStatusData } from '@quanlink/contracts';
import { DISPATCH_STATES, PROPOSAL_STATUSES } from '../dispatch/types.js';
import { GRADE_NAMES } from '../traffic/grades.js';
import { RULE_ID_PATTERN } from '../dispatch/guidance.js';
import { Nullable, TimeParam, Limit, ProblemSchema } from './schemas.js';

const EpochMs = Type.Integer({ minimum: 0, description: 'epoch ms' });
const ScreenRef = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: "'gateway/device'" });
const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\s/][^/]*$' });
const RecordIdParam = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** The structured form is checked by sign-content (it names page and line); here only its shape is open. */
const Form = Type.Object({}, { additionalProperties: true, description: 'structured content (sign-content ContentForm)' });
const Multi = Type.String({ maxLength: 8192, description: 'NTCIP 1203 MULTI' });

export const Targets = Type.Object(
  {
    screens: Type.Optional(Type.Array(ScreenRef, { maxItems: 4096 })),
    groups: Type.Optional(Type.Array(Name, { maxItems: 256 })),
    segments: Type.Optional(Type.Array(Name, { maxItems: 256 })),
    corridors: Type.Optional(Type.Array(Name, { maxItems: 256 })),
    all: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const NewMessageBody = Type.Object(
  {
    multi: Type.Optional(Multi),
    form: Type.Optional(Form),
    targets: Targets,
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, description: 'NTCIP 1203 run-time priority; default 100' })),
    startAt: Type.Optional(EpochMs),
    endAt: Type.Optional(EpochMs),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type NewMessageBody = Static<typeof NewMessageBody>;

export const MessageView = Type.Object({
  id: Type.String(),
  multi: Type.String(),
  crc: Type.Integer(),
  form: Nullable(Type.Object({}, { additionalProperties: true })),
  priority: Type.Integer(),
  startAt: Type.Integer(),
  endAt: Nullable(Type.Integer()),
  createdAt: Type.Integer(),
  source: Type.Union(MESSAGE_SOURCES.map((s) => Type.Literal(s))),
  targets: Targets,
  note: Nullable(Type.String()),
  createdBy: Type.String(),
  ruleId: Nullable(Type.String()),
  cancelledAt: Nullable(Type.Integer()),
  cancelledBy: Nullable(Type.String()),
});

const DispatchStateSchema = Type.Union(DISPATCH_STATES.map((s) => Type.Literal(s)));

export const DispatchView = Type.Object({
  id: Type.String(),
  messageId: Type.String(),
  gatewayId: Type.String(),
  deviceId: Type.String(),
  state: DispatchStateSchema,
  reason: Nullable(Type.String()),
  readbackCrc: Nullable(Type.Integer()),
  lastTx: Nullable(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});

export const MessageWithDispatches = Type.Object({ message: MessageView, dispatches: Type.Array(DispatchView) });

export const HistoryView = Type.Object({
  dispatchId: Type.String(),
  from: DispatchStateSchema,
  to: DispatchStateSchema,
  applied: Type.Boolean({ description: 'false: the move was refused and only recorded' }),
  reason: Nullable(Type.String()),
  readbackCrc: Nullable(Type.Integer()),
  actor: Type.String(),
  at: Type.Integer(),
});

export const MessageQuery = Type.Object({
  active: Type.Optional(Type.Boolean()),
  source: Type.Optional(Type.Union(MESSAGE_SOURCES.map((s) => Type.Literal(s)))),
  limit: Type.Optional(Limit),
});

export const DispatchQuery = Type.Object({
  gateway: Type.Optional(Type.String({ pattern: GATEWAY_ID_PATTERN })),
  device: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN })),
  state: Type.Optional(DispatchStateSchema),
  message: Type.Optional(RecordIdParam),
  limit: Type.Optional(Limit),
});

export const IdParams = Type.Object({ id: RecordIdParam });
export const PageParams = Type.Object({ id: RecordIdParam, n: Type.Integer({ minimum: 1, maximum: 255 }) });
export const PageQuery = Type.Object({
  screen: Type.Optional(ScreenRef),
  scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, default: 4 })),
});

export const PreviewBody = Type.Object(
  {
    multi: Type.Optional(Multi),
    form: Type.Optional(Form),
    profile: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    screen: Type.Optional(ScreenRef),
    scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
  },
  { additionalProperties: false },
);
export type PreviewBody = Static<typeof PreviewBody>;

export const PreviewView = Type.Object({
  profile: Type.String(),
  multi: Nullable(Type.String()),
  crc: Nullable(Type.Integer()),
  problems: Type.Array(ProblemSchema),
  pages: Type.Array(Type.String({ description: 'base64 PNG' })),
});

const Location = Type.Object({ lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) }, { additionalProperties: false });

export const ScreenView = Type.Object({
  gatewayId: Type.String(),
  deviceId: Type.String(),
  key: Type.String(),
  profile: Nullable(Type.String()),
  name: Nullable(Type.String()),
  groups: Type.Array(Type.String()),
  segment: Nullable(Type.String()),
  corridor: Nullable(Type.String()),
  location: Nullable(Location),
  state: Type.String({ description: 'device health from device.status' }),
  condition: Nullable(Type.Composite([SignStatusData, Type.Object({ ts: Type.Integer(), updatedAt: Type.Integer() })])),
  displayed: Nullable(MessageView),
});

export const ScreenParams = Type.Object({
  gateway: Type.String({ pattern: GATEWAY_ID_PATTERN }),
  device: Type.String({ pattern: DEVICE_ID_PATTERN }),
});
export type ScreenParams = Static<typeof ScreenParams>;

export const ScreenPatch = Type.Object(
  {
    name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    groups: Type.Optional(Type.Array(Name, { maxItems: 64 })),
    segment: Type.Optional(Nullable(Name)),
    corridor: Type.Optional(Nullable(Name)),
    location: Type.Optional(Nullable(Location)),
  },
  { additionalProperties: false },
);
export type ScreenPatch = Static<typeof ScreenPatch>;

export const AuditView = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  actor: Type.String(),
  action: Type.String(),
  subject: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
});

export const AuditQuery = Type.Object({
  since: Type.Optional(TimeParam),
  actor: Type.Optional(Type.String({ maxLength: 200 })),
  action: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Limit),
});
export type AuditQuery = Static<typeof AuditQuery>;

const GradeName = Type.Union(GRADE_NAMES.map((g) => Type.Literal(g)), { description: 'GB/T 33171 grade' });

export const RuleBody = Type.Object(
  {
    segment: Type.String({ minLength: 1, maxLength: 64 }),
    whenGradeAtLeast: GradeName,
    clearWhenGradeAtMost: Type.Optional(GradeName),
    holdS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: 'default 60' })),
    targets: Targets,
    multi: Type.Optional(Multi),
    form: Type.Optional(Form),
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 99, description: 'default 50' })),
    approval: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RuleBody = Static<typeof RuleBody>;

export const RuleParams = Type.Object({ id: Type.String({ pattern: RULE_ID_PATTERN }) });

export const RuleView = Type.Composite([
  RuleBody,
  Type.Object({
    id: Type.String(),
    createdAt: Type.Integer(),
    updatedAt: Type.Integer(),
    state: Nullable(
      Type.Object({ since: Type.Integer(), messageId: Nullable(Type.String()), proposalId: Nullable(Type.String()) }),
    ),
  }),
]);

export const ProposalView = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  segment: Type.String(),
  grade: Type.String(),
  status: Type.Union(PROPOSAL_STATUSES.map((s) => Type.Literal(s))),
  createdAt: Type.Integer(),
  decidedAt: Nullable(Type.Integer()),
  decidedBy: Nullable(Type.String()),
  messageId: Nullable(Type.String()),
});

export const ProposalQuery = Type.Object({ status: Type.Optional(Type.Union(PROPOSAL_STATUSES.map((s) => Type.Literal(s)))) });
