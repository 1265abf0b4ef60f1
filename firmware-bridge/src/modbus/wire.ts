/** The Modbus wire vocabulary: tables, raw types, byte and word order. Device profiles use it too. */

export const MODBUS_TABLES = ['coil', 'discrete-input', 'input-register', 'holding-register'] as const;
export type ModbusTable = (typeof MODBUS_TABLES)[number];

export const RAW_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64'] as const;
export type RawType = (typeof RAW_TYPES)[number];

export type Endianness = 'big' | 'little';

/** Where a value sits on a Modbus device. Addresses are 0-based protocol addresses. */
export interface ModbusWire {
  table: ModbusTable;
  address: number;
  type: RawType;
  /** Byte order inside each 16-bit register. */
  byteOrder: Endianness;
  /** Order of the 16-bit words of a 32/64-bit value: big = most significant word first. */
  wordOrder: Endianness;
}
