/**
 * The Modbus RTU driver of one device: one unit id on a shared bus (serial, or RTU over TCP).
 * It owns no connection: the bus does, and closing the driver leaves the bus and the other
 * devices on it alone.
 */
import { EventEmitter } from 'node:events';
import { DeviceUnreachableError } from '../errors.js';
import type { DriverLogger, DriverState, PointRef, RawValues } from '../types.js';
import { FUNCTION_CODES, type ModbusRequest, type ModbusResponse, type ReadFunctionCode } from './frame.js';
import type { ReadBlock } from './plan.js';
import { checkWrite, planRegisterWrite, readOperation, ReadPlanner } from './points.js';
import type { BusState, ModbusBus } from './rtu-bus.js';
import type { ModbusDriver } from './tcp-driver.js';
import type { UnitState } from './unit-health.js';
import type { ModbusTable } from './wire.js';

export interface ModbusRtuOptions {
  bus: ModbusBus;
  /** 1..247 (Serial Line §2.2: 0 is broadcast, which has no answer; 248..255 are reserved). */
  unitId: number;
  /** Turnaround timeout per request; default 1000. */
  timeoutMs?: number;
  /** Name used in errors and logs; default `BUS unit N`. */
  device?: string;
  /** Registers per read request; default 125, the protocol's most. */
  maxRegistersPerRead?: number;
  /** Unused registers a read may span to merge two points; default 0. */
  maxGap?: number;
  logger?: DriverLogger;
}

export interface ModbusRtuDriver extends ModbusDriver {
  readonly unitId: number;
  readonly bus: ModbusBus;
  /** e.g. modbus-rtu:///dev/ttyUSB0?unit=3&baud=9600, for birth messages. */
  readonly endpoint: string;
}

const READ_FUNCTION: Record<ModbusTable, ReadFunctionCode> = {
  coil: FUNCTION_CODES.readCoils,
  'discrete-input': FUNCTION_CODES.readDiscreteInputs,
  'holding-register': FUNCTION_CODES.readHoldingRegisters,
  'input-register': FUNCTION_CODES.readInputRegisters,
};

export function createModbusRtuDriver(opts: ModbusRtuOptions): ModbusRtuDriver {
  return new RtuDriver(opts);
}

function driverState(bus: BusState, unit: UnitState): DriverState {
  if (bus !== 'connected') return bus;
  return unit === 'backoff' ? 'backoff' : 'connected';
}

class RtuDriver implements ModbusRtuDriver {
  readonly unitId: number;
  readonly bus: ModbusBus;
  readonly endpoint: string;
  readonly #device: string;
  readonly #timeoutMs: number;
  readonly #logger: DriverLogger | undefined;
  readonly #planner: ReadPlanner;
  readonly #events = new EventEmitter();
  /** Aborted by close(): fails this driver's requests, queued or on the wire. */
  readonly #closing = new AbortController();
  #closed = false;
  #state: DriverState;

  readonly #onBusState = (): void => this.#refreshState();
  readonly #onUnitState = (unitId: number): void => {
    if (unitId === this.unitId) this.#refreshState();
  };

  constructor(opts: ModbusRtuOptions) {
    const { bus, unitId } = opts;
    const where = `modbus rtu driver ${opts.device ?? `unit ${unitId}`}`;
    if (!bus || typeof bus.request !== 'function') throw new TypeError(`${where}: bus is missing`);
    if (!Number.isInteger(unitId) || unitId < 1 || unitId > 247) throw new RangeError(`${where}: unitId ${unitId} is outside 1..247`);
    const timeoutMs = opts.timeoutMs ?? 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`${where}: timeoutMs must be > 0, got ${timeoutMs}`);
    this.bus = bus;
    this.unitId = unitId;
    this.endpoint = bus.endpoint(unitId);
    this.#timeoutMs = timeoutMs;
    this.#device = opts.device ?? `${bus.name} unit ${unitId}`;
    this.#logger = opts.logger;
    this.#planner = new ReadPlanner(this.#device, { maxRegistersPerRead: opts.maxRegistersPerRead, maxGap: opts.maxGap });
    this.#state = driverState(bus.state, bus.unitState(unitId));
    bus.on('state', this.#onBusState);
    bus.on('unit', this.#onUnitState);
  }

  get state(): DriverState {
    return this.#state;
  }

  on(event: 'state', cb: (s: DriverState) => void): void {
    this.#events.on(event, cb);
  }

  async read(points: readonly PointRef[]): Promise<RawValues> {
    const values: RawValues = new Map();
    for (const block of this.#planner.blocks(points)) {
      const request: ModbusRequest = { functionCode: READ_FUNCTION[block.table], address: block.address, quantity: block.count };
      const response = await this.#request(readOperation(block), request);
      this.#planner.decode(block, dataOf(response, block), values);
    }
    return values;
  }

  async write(point: PointRef, value: number): Promise<void> {
    const { operation, words } = checkWrite(this.#device, point, value);
    const { table, address } = point.wire;
    const request: ModbusRequest =
      table === 'coil'
        ? { functionCode: FUNCTION_CODES.writeSingleCoil, address, value: words[0] === 1 }
        : words.length === 1
          ? { functionCode: FUNCTION_CODES.writeSingleRegister, address, value: words[0]! }
          : // FC16 so that the words of a 32/64-bit value change together.
            { functionCode: FUNCTION_CODES.writeMultipleRegisters, address, values: words };
    await this.#request(operation, request);
  }

  async writeRegisters(address: number, values: readonly number[]): Promise<void> {
    for (const chunk of planRegisterWrite(this.#device, address, values)) {
      await this.#request(chunk.operation, { functionCode: FUNCTION_CODES.writeMultipleRegisters, address: chunk.address, values: chunk.values });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort('the driver was closed');
    this.bus.off('state', this.#onBusState);
    this.bus.off('unit', this.#onUnitState);
    this.#refreshState();
    this.#events.removeAllListeners();
  }

  #request(operation: string, request: ModbusRequest): Promise<ModbusResponse> {
    if (this.#closed) return Promise.reject(new DeviceUnreachableError(this.#device, operation, 'the driver is closed'));
    return this.bus.request(this.unitId, request, { timeoutMs: this.#timeoutMs, device: this.#device, operation, signal: this.#closing.signal });
  }

  #refreshState(): void {
    const state = this.#closed ? 'closed' : driverState(this.bus.state, this.bus.unitState(this.unitId));
    if (state === this.#state) return;
    this.#state = state;
    this.#logger?.debug({ device: this.#device, state }, 'modbus driver state');
    this.#events.emit('state', state);
  }
}

/** The registers or bits of a read answer (the bus has checked that it answers this block's request). */
function dataOf(response: ModbusResponse, block: ReadBlock): readonly (number | boolean)[] {
  if ('registers' in response) return response.registers;
  if ('bits' in response) return response.bits;
  throw new Error(`answer to ${readOperation(block)} carries no data`);
}
