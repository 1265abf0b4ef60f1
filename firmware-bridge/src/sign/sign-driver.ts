/**
 * The driver interface of a guidance screen (VMS), whatever its wire, and the vocabulary both
 * wires share: why a sign refuses a message. The edge arbitrates which message a screen shows and
 * drives it through this interface; the CRC read back proves what is displayed (NTCIP 1203).
 */
import { DeviceError } from '../errors.js';
import type { DriverState } from '../types.js';

export interface SignState {
  /** CRC of what the sign shows now; 0 when blank. */
  displayedCrc: number;
  doorOpen: boolean;
  powerFault: boolean;
  controllerFault: boolean;
  pixelFailures: number;
  /** 0-100, when the sign reports it. */
  brightness?: number;
}

export interface SignDriver {
  /** Writes the message and activates it; resolves when the sign accepted it; throws DeviceError (code 'SignRejected' with the sign's reason, or a transport error) */
  display(multi: string, crc: number): Promise<void>;
  blank(): Promise<void>;
  readState(): Promise<SignState>;
  setBrightness?(percent: number): Promise<void>;
  close(): Promise<void>;
  readonly state: DriverState;
}

/** Error codes of the sign drivers (besides the transport's DeviceTimeout, DeviceUnreachable, Modbus...). */
export const SIGN_ERROR_CODES = {
  /** The sign refused the message; the detail says why. */
  rejected: 'SignRejected',
  /** The message does not fit the sign's message area; nothing was written. */
  tooLong: 'SignMessageTooLong',
  /** No answer from the sign in time (MQTT). */
  timeout: 'SignTimeout',
  /** The sign says it is offline (MQTT availability). */
  unreachable: 'SignUnreachable',
} as const;

/**
 * Why a sign refuses an activation: the number in the Modbus last-error register and the code in
 * an MQTT error reply are two spellings of the same reason.
 */
export interface SignRejection {
  lastError: number;
  code: string;
  reason: string;
}

export const SIGN_REJECTIONS = {
  crcMismatch: { lastError: 1, code: 'CrcMismatch', reason: 'CRC mismatch' },
  multiSyntax: { lastError: 2, code: 'MultiSyntax', reason: 'MULTI syntax error' },
  doesNotFit: { lastError: 3, code: 'DoesNotFit', reason: 'does not fit the sign' },
  other: { lastError: 4, code: 'Rejected', reason: 'refused by the sign' },
} as const satisfies Record<string, SignRejection>;

export type SignRejectionKind = keyof typeof SIGN_REJECTIONS;

/** Last-error register value 0: the last activation succeeded. */
export const SIGN_LAST_ERROR_OK = 0;

/** The rejection for a last-error register value, or undefined for 0 and unknown values. */
export function rejectionOfLastError(lastError: number): SignRejection | undefined {
  return Object.values(SIGN_REJECTIONS).find((r) => r.lastError === lastError);
}

/** DeviceError 'SignRejected': `sign rejected the message: CRC mismatch`. */
export function signRejected(device: string, operation: string, reason: string, options?: { cause?: unknown }): DeviceError {
  return new DeviceError(SIGN_ERROR_CODES.rejected, device, operation, `sign rejected the message: ${reason}`, options);
}

/** Checks what a caller passes to display(); throws DeviceError InvalidRequest. */
export function checkDisplayArgs(device: string, multi: unknown, crc: unknown): void {
  if (typeof multi !== 'string') throw new DeviceError('InvalidRequest', device, 'display', `multi must be a string, got ${typeof multi}`);
  if (typeof crc !== 'number' || !Number.isInteger(crc) || crc < 0 || crc > 0xffff) {
    throw new DeviceError('InvalidRequest', device, 'display', `crc must be an integer 0..65535, got ${String(crc)}`);
  }
}

export function checkBrightness(device: string, percent: unknown): void {
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new DeviceError('InvalidRequest', device, 'set brightness', `brightness must be an integer 0..100, got ${String(percent)}`);
  }
}

/** Runs tasks one after another: a display must not interleave with a blank of the same sign. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
