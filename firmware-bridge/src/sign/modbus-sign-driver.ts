/**
 * A guidance screen on Modbus (TCP or RTU): its registers are laid out by a ModbusSignWire (see
 * modbus-sign-wire.ts). A display writes the message area, its length and the expected CRC, then
 * activates; a sign that refuses answers the activation with exception 04 and says why in its
 * last-error register. The sign driver owns the protocol driver it is given and closes it.
 */
import { DeviceError, ModbusExceptionError, messageOf } from '../errors.js';
import { EXCEPTION_CODES } from '../modbus/frame.js';
import type { DriverLogger, DriverState, PointRef, ProtocolDriver } from '../types.js';
import {
  checkModbusSignWire,
  messageAreaBytes,
  multiToRegisters,
  signInputSpan,
  type ModbusSignWire,
  type SignStatusBit,
} from './modbus-sign-wire.js';
import {
  SIGN_ERROR_CODES,
  SerialQueue,
  checkBrightness,
  checkDisplayArgs,
  rejectionOfLastError,
  signRejected,
  type SignDriver,
  type SignState,
} from './sign-driver.js';

export interface ModbusSignDriverOptions {
  device: string;
  driver: ProtocolDriver;
  wire: ModbusSignWire;
  logger: DriverLogger;
}

export function createModbusSignDriver(opts: { device: string; driver: ProtocolDriver; wire: ModbusSignWire; logger: DriverLogger }): SignDriver {
  return new ModbusSignDriver(opts);
}

const word = (key: string, table: 'holding-register' | 'input-register', address: number): PointRef => ({
  key,
  wire: { table, address, type: 'uint16', byteOrder: 'big', wordOrder: 'big' },
});

/** Address -> value pairs as runs of consecutive addresses, so that neighbours go in one request. */
function runsOf(values: ReadonlyMap<number, number>): Array<{ address: number; values: number[] }> {
  const runs: Array<{ address: number; values: number[] }> = [];
  for (const address of [...values.keys()].sort((a, b) => a - b)) {
    const last = runs.at(-1);
    if (last && last.address + last.values.length === address) last.values.push(values.get(address)!);
    else runs.push({ address, values: [values.get(address)!] });
  }
  return runs;
}

type BlockWritingDriver = ProtocolDriver & Required<Pick<ProtocolDriver, 'writeRegisters'>>;

class ModbusSignDriver implements SignDriver {
  readonly #device: string;
  readonly #driver: BlockWritingDriver;
  readonly #wire: ModbusSignWire;
  readonly #logger: DriverLogger;
  readonly #queue = new SerialQueue();
  /** Every register of the input span, so that the driver's planner makes it one read request. */
  readonly #inputPoints: PointRef[];
  readonly #activatePoint: PointRef;
  readonly #brightnessPoints: PointRef[] | undefined;

  constructor(opts: ModbusSignDriverOptions) {
    const where = `modbus sign driver ${opts.device}`;
    if (typeof opts.device !== 'string' || opts.device === '') throw new TypeError('modbus sign driver: device is missing');
    if (typeof opts.driver?.writeRegisters !== 'function') throw new TypeError(`${where}: the protocol driver cannot write register blocks (writeRegisters)`);
    const problem = checkModbusSignWire(opts.wire);
    if (problem) throw new RangeError(`${where}: wire.${problem.path.join('.')}: ${problem.problem}`);
    this.#device = opts.device;
    this.#driver = opts.driver as BlockWritingDriver;
    this.#wire = opts.wire;
    this.#logger = opts.logger;
    const { first, count } = signInputSpan(opts.wire);
    this.#inputPoints = Array.from({ length: count }, (_, i) => word(`input${first + i}`, 'input-register', first + i));
    this.#activatePoint = word('activate', 'holding-register', opts.wire.activate);
    this.#brightnessPoints = opts.wire.brightness === undefined ? undefined : [word('brightness', 'holding-register', opts.wire.brightness)];
  }

  get state(): DriverState {
    return this.#driver.state;
  }

  async display(multi: string, crc: number): Promise<void> {
    checkDisplayArgs(this.#device, multi, crc);
    const { bytes, words } = multiToRegisters(multi);
    const room = messageAreaBytes(this.#wire);
    if (bytes > room) {
      const { address, registers } = this.#wire.messageArea;
      throw new DeviceError(
        SIGN_ERROR_CODES.tooLong,
        this.#device,
        'display',
        `the message is ${bytes} bytes of UTF-8; the message area holds ${room} (holding registers ${address}..${address + registers - 1})`,
      );
    }
    return this.#queue.run(async () => {
      const writes = new Map<number, number>();
      words.forEach((w, i) => writes.set(this.#wire.messageArea.address + i, w));
      writes.set(this.#wire.messageLength, bytes);
      writes.set(this.#wire.expectedCrc, crc);
      for (const run of runsOf(writes)) await this.#driver.writeRegisters(run.address, run.values);
      await this.#activate(1, 'display');
      this.#logger.debug({ device: this.#device, operation: 'display', crc, bytes }, 'sign accepted the message');
    });
  }

  blank(): Promise<void> {
    return this.#queue.run(() => this.#activate(0, 'blank'));
  }

  readState(): Promise<SignState> {
    return this.#queue.run(async () => {
      const inputs = await this.#readInputs();
      const bit = (flag: SignStatusBit): boolean => ((inputs.get(this.#wire.status)! >> this.#wire.statusBits[flag]) & 1) === 1;
      const state: SignState = {
        displayedCrc: inputs.get(this.#wire.displayedCrc)!,
        doorOpen: bit('doorOpen'),
        powerFault: bit('powerFault'),
        controllerFault: bit('controllerFault'),
        pixelFailures: inputs.get(this.#wire.pixelFailures)!,
      };
      if (this.#brightnessPoints) {
        const values = await this.#driver.read(this.#brightnessPoints);
        state.brightness = values.get('brightness')!;
      }
      return state;
    });
  }

  async setBrightness(percent: number): Promise<void> {
    checkBrightness(this.#device, percent);
    if (!this.#brightnessPoints) throw new DeviceError('InvalidRequest', this.#device, 'set brightness', 'this sign has no brightness register in its profile');
    const point = this.#brightnessPoints[0]!;
    return this.#queue.run(() => this.#driver.write(point, percent));
  }

  close(): Promise<void> {
    return this.#driver.close();
  }

  /** Input registers by address, in one read request. */
  async #readInputs(): Promise<Map<number, number>> {
    const values = await this.#driver.read(this.#inputPoints);
    return new Map(this.#inputPoints.map((p) => [p.wire.address, values.get(p.key)!]));
  }

  async #activate(value: 0 | 1, operation: string): Promise<void> {
    try {
      await this.#driver.write(this.#activatePoint, value);
    } catch (err) {
      if (err instanceof ModbusExceptionError && err.exceptionCode === EXCEPTION_CODES.serverDeviceFailure) throw await this.#rejection(operation, err);
      throw err;
    }
  }

  /** Why the sign refused, from its last-error register; the refusal stands even when that read fails. */
  async #rejection(operation: string, cause: ModbusExceptionError): Promise<DeviceError> {
    let reason: string;
    try {
      const lastError = (await this.#readInputs()).get(this.#wire.lastError)!;
      reason = rejectionOfLastError(lastError)?.reason ?? `last error ${lastError}`;
    } catch (err) {
      reason = `unknown (the last-error register could not be read: ${messageOf(err)})`;
    }
    this.#logger.warn({ device: this.#device, operation, reason }, 'sign rejected the activation');
    return signRejected(this.#device, operation, reason, { cause });
  }
}
