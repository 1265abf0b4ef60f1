/**
 * Decoding and validation of payloads. Errors name the channel, the field path and the problem,
 * e.g. `events: events[3].data.lanes.2: Expected integer`.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import {
  CHANNEL_SCHEMAS,
  DEVICE_EVENT_TYPES,
  EVENT_DATA_SCHEMAS,
  EventEnvelope,
  NewEventEnvelope,
  type ChannelPayloads,
  type EventType,
  type GatewayEvent,
} from './messages.js';
import { COMMAND_ARGS, type CommandName } from './commands.js';
import type { SignCommandName } from './signs.js';
import type { Channel } from './topics.js';

export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(
    /** What was being decoded: a channel name or 'event'. */
    readonly subject: string,
    /** Field path inside the payload, e.g. events[3].data.lanes.2; '' for the payload as a whole. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${subject}: ${path === '' ? '(payload)' : path}: ${problem}`);
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ContractError };

/** JSON pointer (/events/3/data) -> readable path (events[3].data). */
export function readablePath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) && acc !== '' ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
}

const compiled = new Map<TSchema, TypeCheck<TSchema>>();
function checker(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/** First error of a value against a schema, as [path, problem]; undefined when valid. */
export function firstError(schema: TSchema, value: unknown): [string, string] | undefined {
  const check = checker(schema);
  if (check.Check(value)) return undefined;
  const first = check.Errors(value).First();
  if (!first) return ['', 'invalid'];
  return [readablePath(first.path), first.message];
}

/** Every error of a value against a schema (one per path, at most `max`), as [path, problem]. */
export function allErrors(schema: TSchema, value: unknown, max = 100): [string, string][] {
  const check = checker(schema);
  if (check.Check(value)) return [];
  const byPath = new Map<string, string>();
  for (const error of check.Errors(value)) {
    const path = readablePath(error.path);
    if (!byPath.has(path)) byPath.set(path, error.message);
    if (byPath.size >= max) break;
  }
  return byPath.size === 0 ? [['', 'invalid']] : [...byPath];
}

function parseJson(subject: string, raw: Buffer | string): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8')) };
  } catch (err) {
    return { ok: false, error: new ContractError(subject, '', `not valid JSON (${(err as Error).message})`) };
  }
}

/**
 * Parses and validates a channel's payload. For `events` only the batch envelope is checked here
 * (and that seqs run first..last without gaps); each event's data is checked by checkEvent, so that
 * one bad event is quarantined without refusing its neighbours.
 */
export function decodeMessage<C extends Channel>(channel: C, raw: Buffer | string): Decoded<ChannelPayloads[C]> {
  const parsed = parseJson(channel, raw);
  if (!parsed.ok) return parsed;
  return validateMessage(channel, parsed.value);
}

export function validateMessage<C extends Channel>(channel: C, value: unknown): Decoded<ChannelPayloads[C]> {
  const err = firstError(CHANNEL_SCHEMAS[channel], value);
  if (err) return { ok: false, error: new ContractError(channel, err[0], err[1]) };
  if (channel === 'events') {
    const seqErr = checkBatchSequence(value as ChannelPayloads['events']);
    if (seqErr) return { ok: false, error: new ContractError(channel, seqErr[0], seqErr[1]) };
  }
  return { ok: true, value: value as ChannelPayloads[C] };
}

function checkBatchSequence(batch: ChannelPayloads['events']): [string, string] | undefined {
  const events = batch.events;
  if (events[0]!.seq !== batch.first) return ['first', `is ${batch.first} but events[0].seq is ${events[0]!.seq}`];
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.seq !== events[i - 1]!.seq + 1) {
      return [`events[${i}].seq`, `is ${events[i]!.seq}, expected ${events[i - 1]!.seq + 1} (seqs must be consecutive)`];
    }
  }
  if (events[events.length - 1]!.seq !== batch.last) return ['last', `is ${batch.last} but the last event's seq is ${events[events.length - 1]!.seq}`];
  return undefined;
}

/** Checks one numbered event (envelope, then data against the schema of its type); returns the error or undefined. */
export function checkEvent(event: unknown, where = 'event'): ContractError | undefined {
  return checkEventAgainst(EventEnvelope, event, where);
}

/** The same for an event the outbox has not numbered yet. */
export function checkNewEvent(event: unknown, where = 'event'): ContractError | undefined {
  return checkEventAgainst(NewEventEnvelope, event, where);
}

function checkEventAgainst(envelope: TSchema, event: unknown, where: string): ContractError | undefined {
  const envelopeErr = firstError(envelope, event);
  if (envelopeErr) return new ContractError(where, envelopeErr[0], envelopeErr[1]);
  const { type, device, data } = event as { type: string; device?: string; data: unknown };
  const schema = (EVENT_DATA_SCHEMAS as Record<string, TSchema>)[type];
  if (!schema) return new ContractError(where, 'type', `unknown event type '${type}' (known: ${Object.keys(EVENT_DATA_SCHEMAS).join(', ')})`);
  if (device === undefined && DEVICE_EVENT_TYPES.has(type)) return new ContractError(where, 'device', `is required for '${type}' events`);
  const err = firstError(schema, data);
  if (!err) return undefined;
  return new ContractError(where, err[0] === '' ? 'data' : `data.${err[0]}`, err[1]);
}

/** Type guard form of checkEvent. */
export function isValidEvent(event: unknown): event is GatewayEvent {
  return checkEvent(event) === undefined;
}

/** Throws ContractError when a payload about to be sent does not match its channel's schema. */
export function assertMessage<C extends Channel>(channel: C, value: ChannelPayloads[C]): void {
  const result = validateMessage(channel, value);
  if (!result.ok) throw result.error;
}

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_DATA_SCHEMAS, type);
}

export type { GatewayEvent };

/** Checks a command's args against the schema of its name (sign.display...); the error names `args.<path>`. */
export function checkCommandArgs<N extends CommandName>(name: N, args: unknown): Decoded<Static<(typeof COMMAND_ARGS)[N]>> {
  const err = firstError(COMMAND_ARGS[name], args);
  if (err) return { ok: false, error: new ContractError(`command ${name}`, err[0] === '' ? 'args' : `args.${err[0]}`, err[1]) };
  return { ok: true, value: args as Static<(typeof COMMAND_ARGS)[N]> };
}

export function isSignCommand(name: string): name is SignCommandName {
  return isCommand(name) && name.startsWith('sign.');
}

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_ARGS, name);
}
