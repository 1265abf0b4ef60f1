/**
 * A simulated device's firmware updater, as its profile's `firmware` section (method
 * modbus-block-transfer, see device-profiles firmware.ts) lays it out: it answers the requests to
 * its own registers (version, status, control, window), collects blocks, checks the image's CRC-32
 * and header on commit, then "reboots" (answers nothing for the reboot time) and comes back running
 * the image's version. Faults: failAtCommit (applying fails), neverComeBack (stays silent).
 */
import {
  FUNCTION_CODES,
  decodeRequestPdu,
  encodeResponsePdu,
  registersToBytes,
} from '@quanlink/firmware-bridge';
import { imageCrc32, parseFirmwareImageHeader, versionToRegisters, type FirmwareSpec, type FirmwareState } from '@quanlink/device-profiles';
import type { Logger } from 'pino';

export interface FirmwareFaults {
  /** The image is refused after its CRC checked out: state failed, "applying the image failed". */
  failAtCommit: boolean;
  /** After commit the device goes silent and never answers again. */
  neverComeBack: boolean;
}

export interface FirmwareUpdaterOptions {
  spec: FirmwareSpec;
  /** The profile id an image must name. */
  profileId: string;
  device: string;
  /** The version the device runs at start; default 1.0.0. */
  version?: string;
  /** Reboot time in ms; default the profile's rebootS. */
  rebootMs?: number;
  logger: Logger;
}

const inside = (address: number, count: number, start: number, size: number): boolean => address >= start && address + count <= start + size;

export class FirmwareUpdater {
  readonly spec: FirmwareSpec;
  #version: [number, number, number];
  #state: FirmwareState = 'idle';
  #failure = 0;
  #image: Buffer | undefined;
  #expectedCrc = 0;
  #nextBlock = 0;
  #silent = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #control: number[] = [0, 0, 0, 0, 0];
  readonly #window: number[];
  #faults: FirmwareFaults = { failAtCommit: false, neverComeBack: false };
  /** Blocks accepted since start (tests check that a refused update never sent one). */
  blocksReceived = 0;
  /** Images applied since start. */
  readonly applied: string[] = [];

  constructor(private readonly options: FirmwareUpdaterOptions) {
    this.spec = options.spec;
    this.#version = versionToRegisters(options.version ?? '1.0.0');
    this.#window = new Array<number>(this.spec.wire.window.registers).fill(0);
  }

  get version(): string {
    return this.#version.join('.');
  }

  get state(): FirmwareState {
    return this.#state;
  }

  /** True while the device applies an image and reboots: it answers nothing at all. */
  get silent(): boolean {
    return this.#silent;
  }

  setFaults(faults: Partial<FirmwareFaults>): void {
    this.#faults = { ...this.#faults, ...faults };
  }

  close(): void {
    clearTimeout(this.#timer);
  }

  /** Power off and on (what a technician does to a device that never came back): answers again, running what it ran before. */
  powerCycle(): void {
    clearTimeout(this.#timer);
    this.#silent = false;
    this.#state = 'idle';
    this.#failure = 0;
    this.#image = undefined;
    this.#nextBlock = 0;
    this.#control.fill(0);
  }

  /** The response to a request for the firmware registers, or undefined when the request is not for them. */
  answer(pdu: Buffer): Buffer | undefined {
    let request;
    try {
      request = decodeRequestPdu(pdu);
    } catch {
      return undefined; // malformed: the device's own registers answer the exception
    }
    const { version, status, control, window } = this.spec.wire;
    switch (request.functionCode) {
      case FUNCTION_CODES.readInputRegisters:
      case FUNCTION_CODES.readHoldingRegisters: {
        const table = request.functionCode === FUNCTION_CODES.readInputRegisters ? 'input-register' : 'holding-register';
        const { address, quantity } = request;
        let registers: number[] | undefined;
        if (table === version.table && inside(address, quantity, version.address, 3)) registers = this.#version.slice(address - version.address, address - version.address + quantity);
        else if (table === 'input-register' && inside(address, quantity, status.address, 3)) {
          registers = [this.spec.states[this.#state], this.#failure, this.#nextBlock & 0xffff].slice(address - status.address, address - status.address + quantity);
        } else if (table === 'holding-register' && inside(address, quantity, control.address, 5)) registers = this.#control.slice(address - control.address, address - control.address + quantity);
        else if (table === 'holding-register' && inside(address, quantity, window.address, window.registers)) registers = this.#window.slice(address - window.address, address - window.address + quantity);
        return registers ? encodeResponsePdu({ functionCode: request.functionCode, registers }) : undefined;
      }
      case FUNCTION_CODES.writeSingleRegister:
      case FUNCTION_CODES.writeMultipleRegisters: {
        const values = request.functionCode === FUNCTION_CODES.writeSingleRegister ? [request.value] : request.values;
        if (inside(request.address, values.length, window.address, window.registers)) {
          values.forEach((v, i) => (this.#window[request.address - window.address + i] = v));
        } else if (inside(request.address, values.length, control.address, 5)) {
          values.forEach((v, i) => (this.#control[request.address - control.address + i] = v));
          if (request.address === control.address) this.#command();
        } else return undefined;
        return request.functionCode === FUNCTION_CODES.writeSingleRegister
          ? encodeResponsePdu(request)
          : encodeResponsePdu({ functionCode: request.functionCode, address: request.address, quantity: values.length });
      }
      default:
        return undefined;
    }
  }

  #fail(code: number, why: string): void {
    this.#state = 'failed';
    this.#failure = code;
    this.#image = undefined;
    this.options.logger.info({ device: this.options.device, operation: 'firmware', failure: code }, `firmware update refused: ${why}`);
  }

  #command(): void {
    const [command, argHigh, argLow, crcHigh, crcLow] = this.#control as [number, number, number, number, number];
    const argument = argHigh * 0x10000 + argLow;
    const { commands } = this.spec;
    const blockBytes = this.spec.wire.window.registers * 2;
    if (command === commands.abort) {
      this.#state = 'idle';
      this.#failure = 0;
      this.#image = undefined;
      this.#nextBlock = 0;
    } else if (command === commands.begin) {
      if (argument < 1 || argument > this.spec.maxImageBytes) return this.#fail(5, `image of ${argument} bytes (limit ${this.spec.maxImageBytes})`);
      this.#image = Buffer.alloc(argument);
      this.#expectedCrc = (crcHigh * 0x10000 + crcLow) >>> 0;
      this.#nextBlock = 0;
      this.#failure = 0;
      this.#state = 'receiving';
    } else if (command === commands.block) {
      const image = this.#image;
      if (this.#state !== 'receiving' || !image) return this.#fail(7, `block ${argument} while ${this.#state}`);
      // The same block again is a retry after a lost answer; any other must be the next one.
      if (argument !== this.#nextBlock && argument !== this.#nextBlock - 1) return this.#fail(4, `block ${argument}, expected ${this.#nextBlock}`);
      const offset = argument * blockBytes;
      if (offset >= image.length) return this.#fail(4, `block ${argument} starts beyond the image's ${image.length} bytes`);
      const length = Math.min(blockBytes, image.length - offset);
      registersToBytes(this.#window, length).copy(image, offset);
      if (argument === this.#nextBlock) {
        this.#nextBlock++;
        this.blocksReceived++;
      }
    } else if (command === commands.commit) {
      const image = this.#image;
      if (this.#state !== 'receiving' || !image) return this.#fail(7, `commit while ${this.#state}`);
      if (this.#nextBlock * blockBytes < image.length) return this.#fail(4, `commit after ${this.#nextBlock} blocks, the image needs ${Math.ceil(image.length / blockBytes)}`);
      this.#state = 'verifying';
      if (imageCrc32(image) !== this.#expectedCrc) return this.#fail(1, `CRC-32 ${imageCrc32(image).toString(16)} is not the announced ${this.#expectedCrc.toString(16)}`);
      let header;
      try {
        header = parseFirmwareImageHeader(image);
      } catch (err) {
        return this.#fail(3, (err as Error).message);
      }
      if (header.profile !== this.options.profileId) return this.#fail(2, `image for ${header.profile}, this is ${this.options.profileId}`);
      if (this.#faults.failAtCommit) return this.#fail(6, 'fault failAtCommit');
      this.#reboot(header.version);
    } else {
      this.#fail(7, `unknown command ${command}`);
    }
  }

  /** Applies the image: answers "applying" briefly, then nothing until it is back with the new version. */
  #reboot(version: string): void {
    this.#state = 'applying';
    const rebootMs = this.options.rebootMs ?? this.spec.rebootS * 1000;
    this.options.logger.info({ device: this.options.device, operation: 'firmware', version, rebootMs }, 'firmware image accepted; rebooting');
    this.#timer = setTimeout(() => {
      this.#silent = true;
      if (this.#faults.neverComeBack) return;
      this.#timer = setTimeout(() => {
        this.#version = versionToRegisters(version);
        this.applied.push(version);
        this.#image = undefined;
        this.#state = 'idle';
        this.#failure = 0;
        this.#nextBlock = 0;
        this.#control.fill(0);
        this.#silent = false;
        this.options.logger.info({ device: this.options.device, operation: 'firmware', version }, 'back after firmware update');
      }, rebootMs);
    }, 100);
  }
}
