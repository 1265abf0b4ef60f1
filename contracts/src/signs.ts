/**
 * Guidance-screen (VMS) payloads: the commands the cloud sends to a gateway's screens, their
 * results, and the events a gateway reports about them. Content travels as NTCIP 1203 MULTI with
 * its CRC; the cloud validates and renders it, the edge only arbitrates and drives.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN } from './ids.js';

const EpochMs = Type.Integer({ minimum: 0, description: 'Unix epoch milliseconds' });
const RecordId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const ScreenId = Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id of the screen on its gateway' });
const Crc16 = Type.Integer({ minimum: 0, maximum: 0xffff, description: 'NTCIP 1203 message CRC-16' });

export const MESSAGE_SOURCES = ['operator', 'auto'] as const;
export type MessageSource = (typeof MESSAGE_SOURCES)[number];

/** A message as the edge needs it to arbitrate and display. */
export const SignMessage = Type.Object(
  {
    id: RecordId,
    /** Canonical MULTI (as produced by the cloud's content model); the CRC is computed over it. */
    multi: Type.String({ minLength: 0, maxLength: 8192 }),
    crc: Crc16,
    /** NTCIP 1203 run-time priority: 255 wins over 1. */
    priority: Type.Integer({ minimum: 1, maximum: 255 }),
    startAt: EpochMs,
    /** Absent: until cancelled. */
    endAt: Type.Optional(EpochMs),
    /** Equal priority: the newest (latest createdAt, then id) wins. */
    createdAt: EpochMs,
    source: Type.Union(MESSAGE_SOURCES.map((s) => Type.Literal(s))),
  },
  { additionalProperties: false },
);
export type SignMessage = Static<typeof SignMessage>;

export const SignTarget = Type.Object(
  { screen: ScreenId, dispatchId: RecordId },
  { additionalProperties: false },
);
export type SignTarget = Static<typeof SignTarget>;

/** `sign.display`: add a message to these screens' active sets (idempotent on message id + screen). */
export const SignDisplayArgs = Type.Object(
  { message: SignMessage, targets: Type.Array(SignTarget, { minItems: 1, maxItems: 4096 }) },
  { additionalProperties: false },
);
export type SignDisplayArgs = Static<typeof SignDisplayArgs>;

/** `sign.cancel`: remove a message from the active sets of these screens (all of its screens when absent). */
export const SignCancelArgs = Type.Object(
  { messageId: RecordId, screens: Type.Optional(Type.Array(ScreenId, { minItems: 1, maxItems: 4096 })) },
  { additionalProperties: false },
);
export type SignCancelArgs = Static<typeof SignCancelArgs>;

/**
 * `sign.sync`: the complete set of cloud messages that should be active on this gateway's screens
 * now. Sent when a gateway comes (back) online; the edge replaces its active set with it, so
 * cancels and expiries it missed while offline take effect too.
 */
export const SignSyncArgs = Type.Object(
  { entries: Type.Array(SignDisplayArgs, { maxItems: 10000 }) },
  { additionalProperties: false },
);
export type SignSyncArgs = Static<typeof SignSyncArgs>;

/** The `data` of an ok result of sign.display / sign.sync: which targets the edge took on. */
export const SignAcceptResult = Type.Object(
  {
    accepted: Type.Array(RecordId, { description: 'dispatch ids now in an active set' }),
    rejected: Type.Array(
      Type.Object({ dispatchId: RecordId, code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 2000 }) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type SignAcceptResult = Static<typeof SignAcceptResult>;

/** The `data` of an ok result of sign.cancel. */
export const SignCancelResult = Type.Object(
  { cancelled: Type.Array(RecordId, { description: 'dispatch ids removed' }) },
  { additionalProperties: false },
);
export type SignCancelResult = Static<typeof SignCancelResult>;

export const SIGN_COMMAND_ARGS = {
  'sign.display': SignDisplayArgs,
  'sign.cancel': SignCancelArgs,
  'sign.sync': SignSyncArgs,
} as const;
export type SignCommandName = keyof typeof SIGN_COMMAND_ARGS;

/**
 * What happened to one dispatch on the edge (device = the screen). The cloud moves the dispatch
 * record to this state. `displayed` carries the CRC read back from the screen; `superseded` means a
 * higher-priority (or newer) message took the screen and this one waits; `failed` says why.
 */
export const DISPATCH_EDGE_STATES = ['displayed', 'superseded', 'failed', 'expired', 'cancelled'] as const;
export type DispatchEdgeState = (typeof DISPATCH_EDGE_STATES)[number];

export const SignDispatchData = Type.Object(
  {
    dispatchId: RecordId,
    messageId: RecordId,
    state: Type.Union(DISPATCH_EDGE_STATES.map((s) => Type.Literal(s))),
    /** CRC the screen reported showing, when it was read. */
    readbackCrc: Type.Optional(Crc16),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type SignDispatchData = Static<typeof SignDispatchData>;

/**
 * A screen's own condition changed: door, power, controller, pixels, brightness (sent on change
 * only; comm loss is a device.status event, and a new message on the screen is a sign.dispatch).
 */
export const SignStatusData = Type.Object(
  {
    doorOpen: Type.Boolean(),
    powerFault: Type.Boolean(),
    controllerFault: Type.Boolean(),
    pixelFailures: Type.Integer({ minimum: 0 }),
    brightness: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    /** CRC of what the screen shows now (0 = blank). */
    displayedCrc: Crc16,
    /** Message the edge's arbitration chose for this screen, when any. */
    activeMessageId: Type.Optional(RecordId),
  },
  { additionalProperties: false },
);
export type SignStatusData = Static<typeof SignStatusData>;
