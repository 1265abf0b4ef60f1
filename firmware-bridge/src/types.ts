/**
 * The thin driver interface every device protocol implements (read, write, close); the edge
 * runtime owns polling, scheduling, health and storage.
 */
import type { ModbusWire } from './modbus/wire.js';

/** A value's address as the driver needs it: a key to report it under, and where it lives. */
export interface PointRef {
  key: string;
  wire: ModbusWire;
}

/** Raw (unscaled) values by point key. */
export type RawValues = Map<string, number>;

export type DriverState = 'connecting' | 'connected' | 'backoff' | 'closed';

export interface ProtocolDriver {
  /** Reads every point; throws a DeviceError (see errors.ts) naming device and operation. */
  read(points: readonly PointRef[]): Promise<RawValues>;
  /** Writes one raw value. */
  write(point: PointRef, value: number): Promise<void>;
  /**
   * Writes consecutive holding registers from `address` with function 16 (write multiple
   * registers), in requests of at most 123 registers each, in address order. Throws
   * InvalidRequestError before anything goes on the wire when a value is not a 16-bit word or the
   * block runs past address 65535. Drivers of protocols without register blocks leave it out.
   */
  writeRegisters?(address: number, values: readonly number[]): Promise<void>;
  /** Stops reconnecting and releases the connection. */
  close(): Promise<void>;
  readonly state: DriverState;
}

/** The part of a pino logger the drivers and buses use. */
export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
