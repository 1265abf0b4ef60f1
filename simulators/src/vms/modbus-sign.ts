/**
 * The Modbus face of a simulated screen: its registers as the profile's ModbusSignWire lays
 * them out (firmware-bridge modbus-sign-wire.ts), and its answer to one request PDU. Writing 1 to
 * the activate register hands the message area to the screen (a read of the model id the profile's
 * identify section names is answered with it); a refusal is answered with
 * exception 04 (server device failure), and the last-error register says why.
 */
import {
  EXCEPTION_CODES,
  FUNCTION_CODES,
  ModbusRequestError,
  SIGN_HOLDING_FIELDS,
  SIGN_STATUS_BITS,
  decodeRequestPdu,
  encodeExceptionPdu,
  encodeResponsePdu,
  messageAreaBytes,
  registersToBytes,
  signInputSpan,
  type ModbusRequest,
  type ModbusSignWire,
} from '@quanlink/firmware-bridge';
import type { Logger } from 'pino';
import { identifyConstants, type IdentifySpec } from '@quanlink/device-profiles';
import type { ServerReply } from '../modbus/reply.js';
import type { VmsScreen } from './screen.js';

class Refusal extends Error {
  constructor(readonly exceptionCode: number, message: string) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ModbusSignRegisters {
  /** Holding registers as written by the client (message area and the single fields). */
  readonly #holding = new Map<number, number>();
  readonly #writable = new Set<number>();
  readonly #holdingSpan: [number, number];
  readonly #inputSpan: { first: number; count: number };

  /** Input registers the profile's identify section says the sign serves as constants (its model id). */
  readonly #constantInputs = new Map<number, number>();

  constructor(
    private readonly screen: VmsScreen,
    private readonly wire: ModbusSignWire,
    private readonly logger: Logger,
    identify?: IdentifySpec,
  ) {
    for (const { table, address, words } of identifyConstants(identify)) {
      if (table === 'input-register') words.forEach((word, i) => this.#constantInputs.set(address + i, word));
    }
    const { address, registers } = wire.messageArea;
    for (let i = 0; i < registers; i++) this.#writable.add(address + i);
    for (const field of SIGN_HOLDING_FIELDS) if (wire[field] !== undefined) this.#writable.add(wire[field]);
    this.#holdingSpan = [Math.min(...this.#writable), Math.max(...this.#writable)];
    this.#inputSpan = signInputSpan(wire);
    if (wire.brightness !== undefined) this.#holding.set(wire.brightness, screen.status().brightness);
  }

  /** The answer to one request PDU addressed to this unit (not yet delayed or dropped). */
  answer(pdu: Buffer): ServerReply {
    const functionCode = pdu[0] ?? 0;
    if (functionCode < 1 || functionCode > 0x7f) return undefined; // no exception can name it
    try {
      const request = decodeRequestPdu(pdu);
      return { pdu: this.#serve(request) };
    } catch (err) {
      if (err instanceof ModbusRequestError) return { pdu: encodeExceptionPdu(err.functionCode, err.exceptionCode) };
      if (err instanceof Refusal) {
        this.logger.debug({ device: this.screen.id, functionCode, problem: err.message }, 'request refused');
        return { pdu: encodeExceptionPdu(functionCode, err.exceptionCode) };
      }
      throw err;
    }
  }

  #serve(request: ModbusRequest): Buffer {
    switch (request.functionCode) {
      case FUNCTION_CODES.readHoldingRegisters: {
        const registers = this.#addresses(request.address, request.quantity, this.#holdingSpan).map((a) => this.#holding.get(a) ?? 0);
        return encodeResponsePdu({ functionCode: request.functionCode, registers });
      }
      case FUNCTION_CODES.readInputRegisters: {
        const constants = Array.from({ length: request.quantity }, (_, i) => this.#constantInputs.get(request.address + i));
        if (constants.every((word) => word !== undefined)) return encodeResponsePdu({ functionCode: request.functionCode, registers: constants as number[] });
        const { first, count } = this.#inputSpan;
        const inputs = this.#inputs();
        const registers = this.#addresses(request.address, request.quantity, [first, first + count - 1]).map((a) => inputs.get(a) ?? 0);
        return encodeResponsePdu({ functionCode: request.functionCode, registers });
      }
      case FUNCTION_CODES.writeSingleRegister:
        this.#write(request.address, [request.value]);
        return encodeResponsePdu(request);
      case FUNCTION_CODES.writeMultipleRegisters:
        this.#write(request.address, request.values);
        return encodeResponsePdu({ functionCode: request.functionCode, address: request.address, quantity: request.values.length });
      default:
        throw new Refusal(EXCEPTION_CODES.illegalFunction, `function ${request.functionCode} is not served by a sign`);
    }
  }

  /** The addresses of a read, all inside [low, high] (holes between fields read as 0). */
  #addresses(address: number, quantity: number, [low, high]: [number, number]): number[] {
    if (address < low || address + quantity - 1 > high) {
      throw new Refusal(EXCEPTION_CODES.illegalDataAddress, `registers ${address}..${address + quantity - 1} are outside ${low}..${high}`);
    }
    return Array.from({ length: quantity }, (_, i) => address + i);
  }

  #inputs(): Map<number, number> {
    const s = this.screen.status();
    const flags: Record<(typeof SIGN_STATUS_BITS)[number], boolean> = {
      doorOpen: s.doorOpen,
      powerFault: s.powerFault,
      controllerFault: s.controllerFault,
      pixelFailure: s.pixelFailures > 0,
      activationRejected: s.activationRejected,
    };
    const status = SIGN_STATUS_BITS.reduce((word, flag) => (flags[flag] ? word | (1 << this.wire.statusBits[flag]) : word), 0);
    return new Map([
      [this.wire.status, status],
      [this.wire.pixelFailures, Math.min(0xffff, s.pixelFailures)],
      [this.wire.displayedCrc, s.displayedCrc],
      [this.wire.lastError, s.lastError],
    ]);
  }

  /** Checks the whole write first (nothing changes when a part is refused), then applies it. */
  #write(address: number, values: readonly number[]): void {
    const { messageLength, activate, brightness } = this.wire;
    values.forEach((value, i) => {
      const at = address + i;
      if (!this.#writable.has(at)) throw new Refusal(EXCEPTION_CODES.illegalDataAddress, `holding register ${at} is not writable`);
      if (at === messageLength && value > messageAreaBytes(this.wire)) {
        throw new Refusal(EXCEPTION_CODES.illegalDataValue, `message length ${value} is more than the message area's ${messageAreaBytes(this.wire)} bytes`);
      }
      if (at === activate && value !== 0 && value !== 1) throw new Refusal(EXCEPTION_CODES.illegalDataValue, `activate takes 0 or 1, got ${value}`);
      if (at === brightness && value > 100) throw new Refusal(EXCEPTION_CODES.illegalDataValue, `brightness takes 0..100, got ${value}`);
    });
    values.forEach((value, i) => this.#holding.set(address + i, value));
    const written = (field: number | undefined): number | undefined => {
      if (field === undefined || field < address || field >= address + values.length) return undefined;
      return values[field - address];
    };
    const level = written(brightness);
    if (level !== undefined) this.screen.setBrightness(level);
    const command = written(activate);
    if (command === 1) this.#activate();
    else if (command === 0) this.screen.blank();
  }

  #activate(): void {
    const { address, registers } = this.wire.messageArea;
    const words = Array.from({ length: registers }, (_, i) => this.#holding.get(address + i) ?? 0);
    const bytes = registersToBytes(words, this.#holding.get(this.wire.messageLength) ?? 0);
    let multi: string;
    try {
      multi = utf8.decode(bytes);
    } catch {
      this.screen.refuse('multiSyntax', 'the message area is not valid UTF-8');
      throw new Refusal(EXCEPTION_CODES.serverDeviceFailure, 'message is not valid UTF-8');
    }
    const result = this.screen.display(multi, this.#holding.get(this.wire.expectedCrc) ?? 0);
    if (!result.ok) {
      this.logger.info({ device: this.screen.id, operation: 'activate', problem: result.message }, 'activation refused');
      throw new Refusal(EXCEPTION_CODES.serverDeviceFailure, result.message);
    }
  }
}
