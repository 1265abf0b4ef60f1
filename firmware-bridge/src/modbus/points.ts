/** What every Modbus driver does with points, whatever the transport: plan reads, decode them, check writes. */
import { DeviceProtocolError, InvalidRequestError, messageOf } from '../errors.js';
import type { PointRef, RawValues } from '../types.js';
import { encodeProblem, encodeValue, isWritableTable } from './codec.js';
import { MODBUS_LIMITS } from './frame.js';
import { decodeBlock, planReads, pointProblem, type ReadBlock, type ReadPlanOptions } from './plan.js';

export const readOperation = (block: ReadBlock): string => `read ${block.table} ${block.address}+${block.count}`;

/** Plans reads once per points array (a poller passes the same array every cycle) and decodes what they return. */
export class ReadPlanner {
  readonly #plans = new WeakMap<readonly PointRef[], ReadBlock[]>();

  /** Throws RangeError for bad limits now rather than at the first read. */
  constructor(
    private readonly device: string,
    private readonly options: ReadPlanOptions,
  ) {
    planReads([], options);
  }

  blocks(points: readonly PointRef[]): ReadBlock[] {
    let blocks = this.#plans.get(points);
    if (!blocks) {
      try {
        blocks = planReads(points, this.options);
      } catch (err) {
        throw new InvalidRequestError(this.device, `plan reads of ${points.length} points`, messageOf(err));
      }
      this.#plans.set(points, blocks);
    }
    return blocks;
  }

  /** Decodes a block's data into `values`; too little data is the device's fault. */
  decode(block: ReadBlock, data: ArrayLike<number | boolean>, values: RawValues): void {
    try {
      decodeBlock(block, data, values);
    } catch (err) {
      throw new DeviceProtocolError(this.device, readOperation(block), messageOf(err), { cause: err });
    }
  }
}

export interface CheckedWrite {
  operation: string;
  /** The value in device order: [0|1] for a coil, else 16-bit words. */
  words: number[];
}

/** Checks that `point` can take `value` before anything goes on the wire; throws InvalidRequestError. */
export function checkWrite(device: string, point: PointRef, value: number): CheckedWrite {
  const { table, address, type } = point.wire;
  const operation = `write ${point.key} = ${value} to ${table} ${address}`;
  const problem =
    pointProblem(point.wire) ??
    (isWritableTable(table) ? undefined : `a ${table} is read-only: only coils and holding registers can be written`) ??
    encodeProblem(type, value);
  if (problem) throw new InvalidRequestError(device, operation, problem);
  return { operation, words: encodeValue(value, point.wire) };
}

export interface RegisterChunk {
  address: number;
  values: number[];
  /** e.g. `write holding-register 100+123`, for errors. */
  operation: string;
}

/**
 * Checks a block write of holding registers and cuts it into FC16 requests of at most 123
 * registers (Application Protocol §6.12), before anything goes on the wire; throws InvalidRequestError.
 */
export function planRegisterWrite(device: string, address: number, values: readonly number[]): RegisterChunk[] {
  const operation = `write holding-register ${address}+${values.length}`;
  const fail = (problem: string): never => {
    throw new InvalidRequestError(device, operation, problem);
  };
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) fail(`address ${address} is outside 0..65535`);
  if (values.length === 0) fail('nothing to write');
  if (address + values.length > 0x10000) fail(`${values.length} registers from ${address} run past address 65535`);
  values.forEach((word, i) => {
    if (!Number.isInteger(word) || word < 0 || word > 0xffff) fail(`value ${word} at register ${address + i} is not a 16-bit unsigned word`);
  });
  const chunks: RegisterChunk[] = [];
  for (let offset = 0; offset < values.length; offset += MODBUS_LIMITS.maxWriteRegisters) {
    const chunk = values.slice(offset, offset + MODBUS_LIMITS.maxWriteRegisters);
    chunks.push({ address: address + offset, values: chunk, operation: `write holding-register ${address + offset}+${chunk.length}` });
  }
  return chunks;
}
