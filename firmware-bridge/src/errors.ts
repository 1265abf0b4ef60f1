/**
 * The errors every driver throws. Each names the device and the operation and carries a stable
 * code, so that the edge can turn it into a device status without parsing messages.
 */
import { EXCEPTION_CODES } from './modbus/frame.js';

export class DeviceError extends Error {
  override readonly name: string = 'DeviceError';
  /** Stable machine name, e.g. DeviceTimeout, ModbusIllegalDataAddress. */
  readonly code: string;
  /** Name of the device in errors and logs. */
  readonly device: string;
  /** What was being done, e.g. `read input-register 100+40`. */
  readonly operation: string;
  /** The problem alone, without device and operation. */
  readonly detail: string;

  constructor(code: string, device: string, operation: string, detail: string, options?: { cause?: unknown }) {
    super(`${device}: ${operation}: ${detail}`, options);
    this.code = code;
    this.device = device;
    this.operation = operation;
    this.detail = detail;
  }
}

/** Exception names by code (Modbus Application Protocol 1.1b3 §7), e.g. 2 -> IllegalDataAddress. */
export const MODBUS_EXCEPTION_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(EXCEPTION_CODES).map(([name, code]) => [code, name.charAt(0).toUpperCase() + name.slice(1)]),
);

/** The device answered with a Modbus exception response. */
export class ModbusExceptionError extends DeviceError {
  override readonly name: string = 'ModbusExceptionError';
  readonly exceptionCode: number;
  /** e.g. IllegalDataAddress; `Exception{n}` for a code the standard does not name. */
  readonly exceptionName: string;

  constructor(exceptionCode: number, device: string, operation: string, options?: { cause?: unknown }) {
    const exceptionName = MODBUS_EXCEPTION_NAMES.get(exceptionCode) ?? `Exception${exceptionCode}`;
    super(`Modbus${exceptionName}`, device, operation, `Modbus exception ${exceptionCode} (${exceptionName})`, options);
    this.exceptionCode = exceptionCode;
    this.exceptionName = exceptionName;
  }
}

/** The device did not answer in time. */
export class DeviceTimeoutError extends DeviceError {
  override readonly name: string = 'DeviceTimeoutError';
  constructor(device: string, operation: string, timeoutMs: number) {
    super('DeviceTimeout', device, operation, `no answer within ${timeoutMs} ms`);
  }
}

/** There is no connection to the device: not connected yet, refused, reset, or the driver is closed. */
export class DeviceUnreachableError extends DeviceError {
  override readonly name: string = 'DeviceUnreachableError';
  constructor(device: string, operation: string, detail: string, options?: { cause?: unknown }) {
    super('DeviceUnreachable', device, operation, detail, options);
  }
}

/** The device answered something malformed: wrong length, wrong function, too few values. */
export class DeviceProtocolError extends DeviceError {
  override readonly name: string = 'DeviceProtocolError';
  constructor(device: string, operation: string, detail: string, options?: { cause?: unknown }) {
    super('DeviceProtocolError', device, operation, detail, options);
  }
}

/** The caller asked for something the point cannot do (write to an input register, a value its type cannot hold). */
export class InvalidRequestError extends DeviceError {
  override readonly name: string = 'InvalidRequestError';
  constructor(device: string, operation: string, detail: string) {
    super('InvalidRequest', device, operation, detail);
  }
}

/** The shape of contracts' ErrorInfo, so that the edge can publish it as it is. */
export interface ErrorInfo {
  code: string;
  message: string;
  operation?: string;
}

/**
 * ErrorInfo for anything a driver call threw: a DeviceError as it is, anything else (a bug) as
 * InternalError, so that one device's failure is reported instead of thrown further.
 */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof DeviceError) return { code: err.code, message: err.message.slice(0, 2000), operation: err.operation.slice(0, 200) };
  return { code: 'InternalError', message: messageOf(err).slice(0, 2000) };
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return String(err);
}
