/**
 * The JSON-over-MQTT wire of a guidance screen (see mqtt-sign-driver.ts for the protocol): topic
 * names and a parser for every payload, shared by the driver and the simulator. Parsers throw
 * SignPayloadError with what is wrong; they never trust a payload's shape.
 */

export interface SignTopics {
  /** driver -> sign: display, blank, brightness */
  set: string;
  /** driver -> sign: ask for the state */
  get: string;
  /** sign -> driver: the answer to a set */
  reply: string;
  /** sign -> driver, retained: what the sign shows and its condition */
  state: string;
  /** sign -> driver, retained: 'online' | 'offline' (the sign's last will) */
  availability: string;
}

export function signTopics(topicBase: string): SignTopics {
  return {
    set: `${topicBase}/set`,
    get: `${topicBase}/get`,
    reply: `${topicBase}/reply`,
    state: `${topicBase}/state`,
    availability: `${topicBase}/availability`,
  };
}

/** A profile's topic pattern for one device: 'vms/{device}' -> 'vms/sign-1'. */
export function topicBaseFor(pattern: string, device: string): string {
  return pattern.replaceAll('{device}', device);
}

/** Transaction ids: short, printable, no MQTT wildcards. */
export const TX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export type SignSetRequest =
  | { tx: string; multi: string; crc: number }
  | { tx: string; blank: true }
  | { tx: string; brightness: number };

export interface SignGetRequest {
  tx: string;
}

export type SignReply = { tx: string; ok: true } | { tx: string; ok: false; error: { code: string; message: string } };

export interface SignStatePayload {
  displayedCrc: number;
  multi: string;
  doorOpen: boolean;
  powerFault: boolean;
  controllerFault: boolean;
  pixelFailures: number;
  brightness?: number;
  ts: number;
  /** Present when the state answers a get. */
  tx?: string;
}

export type SignAvailability = 'online' | 'offline';

export class SignPayloadError extends Error {
  override readonly name = 'SignPayloadError';
}

const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_MULTI_LENGTH = 8192;

type Json = Record<string, unknown>;

function parseObject(payload: Buffer | string): Json {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new SignPayloadError(`payload of ${payload.length} bytes is larger than ${MAX_PAYLOAD_BYTES}`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch (err) {
    throw new SignPayloadError(`not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SignPayloadError('not a JSON object');
  return value as Json;
}

function onlyKeys(obj: Json, allowed: readonly string[]): void {
  const extra = Object.keys(obj).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new SignPayloadError(`unknown field '${extra}' (known: ${allowed.join(', ')})`);
}

function tx(obj: Json): string {
  const value = obj['tx'];
  if (typeof value !== 'string' || !TX_PATTERN.test(value)) throw new SignPayloadError(`tx must be a string matching ${TX_PATTERN.source}, got ${JSON.stringify(value)}`);
  return value;
}

function integer(obj: Json, key: string, min: number, max: number): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SignPayloadError(`${key} must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function boolean(obj: Json, key: string): boolean {
  const value = obj[key];
  if (typeof value !== 'boolean') throw new SignPayloadError(`${key} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function multi(obj: Json): string {
  const value = obj['multi'];
  if (typeof value !== 'string' || value.length > MAX_MULTI_LENGTH) throw new SignPayloadError(`multi must be a string of at most ${MAX_MULTI_LENGTH} characters`);
  return value;
}

export function parseSignSet(payload: Buffer | string): SignSetRequest {
  const obj = parseObject(payload);
  const id = tx(obj);
  if ('multi' in obj) {
    onlyKeys(obj, ['tx', 'multi', 'crc']);
    return { tx: id, multi: multi(obj), crc: integer(obj, 'crc', 0, 0xffff) };
  }
  if ('blank' in obj) {
    onlyKeys(obj, ['tx', 'blank']);
    if (obj['blank'] !== true) throw new SignPayloadError(`blank must be true, got ${JSON.stringify(obj['blank'])}`);
    return { tx: id, blank: true };
  }
  if ('brightness' in obj) {
    onlyKeys(obj, ['tx', 'brightness']);
    return { tx: id, brightness: integer(obj, 'brightness', 0, 100) };
  }
  throw new SignPayloadError('a set request carries multi and crc, blank, or brightness');
}

export function parseSignGet(payload: Buffer | string): SignGetRequest {
  const obj = parseObject(payload);
  onlyKeys(obj, ['tx']);
  return { tx: tx(obj) };
}

export function parseSignReply(payload: Buffer | string): SignReply {
  const obj = parseObject(payload);
  const id = tx(obj);
  const ok = boolean(obj, 'ok');
  if (ok) {
    onlyKeys(obj, ['tx', 'ok']);
    return { tx: id, ok };
  }
  onlyKeys(obj, ['tx', 'ok', 'error']);
  const error = obj['error'];
  if (typeof error !== 'object' || error === null) throw new SignPayloadError('a failed reply carries error: {code, message}');
  const { code, message } = error as Json;
  if (typeof code !== 'string' || code.length === 0 || code.length > 64) throw new SignPayloadError(`error.code must be a string of 1..64 characters, got ${JSON.stringify(code)}`);
  if (typeof message !== 'string' || message.length > 2000) throw new SignPayloadError('error.message must be a string of at most 2000 characters');
  return { tx: id, ok, error: { code, message } };
}

export function parseSignState(payload: Buffer | string): SignStatePayload {
  const obj = parseObject(payload);
  onlyKeys(obj, ['displayedCrc', 'multi', 'doorOpen', 'powerFault', 'controllerFault', 'pixelFailures', 'brightness', 'ts', 'tx']);
  const state: SignStatePayload = {
    displayedCrc: integer(obj, 'displayedCrc', 0, 0xffff),
    multi: multi(obj),
    doorOpen: boolean(obj, 'doorOpen'),
    powerFault: boolean(obj, 'powerFault'),
    controllerFault: boolean(obj, 'controllerFault'),
    pixelFailures: integer(obj, 'pixelFailures', 0, 2 ** 31),
    ts: integer(obj, 'ts', 0, Number.MAX_SAFE_INTEGER),
  };
  if (obj['brightness'] !== undefined) state.brightness = integer(obj, 'brightness', 0, 100);
  if (obj['tx'] !== undefined) state.tx = tx(obj);
  return state;
}

export function parseSignAvailability(payload: Buffer | string): SignAvailability {
  const text = payload.toString().trim();
  if (text !== 'online' && text !== 'offline') throw new SignPayloadError(`availability must be online or offline, got ${JSON.stringify(text.slice(0, 40))}`);
  return text;
}
