/**
 * `firmware`: how a device model takes a new firmware image in the field and where it tells the
 * version it runs. Like the rest of the profile, the wire (which registers) is kept apart from the
 * meaning (which code means which state or command). A profile without the section cannot be updated
 * in the field, and the gateway refuses a firmware update for it.
 *
 * Method `modbus-block-transfer` (the only one so far), all registers 16-bit big-endian words:
 *   wire.version   3 registers: major, minor, patch of the running firmware.
 *   wire.status    3 input registers: state (see `states`), failure code (FIRMWARE_FAILURES), next block expected.
 *   wire.control   5 holding registers, written in one FC16: command, argument (uint32, high word first),
 *                  CRC-32 of the whole image (uint32, begin only).
 *                  begin: argument = image size in bytes; block: argument = block number (0-based),
 *                  after its bytes were written to the window; commit: the device checks the CRC-32 over
 *                  the image and its header, then applies it and reboots (silent for `rebootS`); abort.
 *   wire.window    holding registers one block is written to (2 bytes per register, first byte high);
 *                  block N is bytes N * blockBytes .. of the image; the last one may be shorter.
 *
 * The image carries a small header (FIRMWARE_IMAGE_MAGIC): which profile it is for and its version,
 * so a device refuses an image for another model and reports the version it was given after reboot.
 */
import { crc32 } from 'node:zlib';
import { Type, type Static } from '@sinclair/typebox';
import { SIGN_HOLDING_FIELDS, registerCount, signInputSpan, type ModbusTable } from '@quanlink/firmware-bridge';
import type { Fail, FieldPath } from './resolve.js';
import type { ResolvedPoint, SignProfile } from './types.js';

const strict = { additionalProperties: false } as const;
const Address = (description: string) => Type.Integer({ minimum: 0, maximum: 0xffff, description });
const Code = (description: string) => Type.Integer({ minimum: 0, maximum: 0xffff, description });

export const FIRMWARE_METHODS = ['modbus-block-transfer'] as const;
export type FirmwareMethod = (typeof FIRMWARE_METHODS)[number];
/** Registers of each part of the wire. */
export const FIRMWARE_WIRE_SIZES = { version: 3, status: 3, control: 5 } as const;
/** One block fits one FC16 request (at most 123 registers). */
export const MAX_BLOCK_REGISTERS = 123;

export const FirmwareSchema = Type.Object(
  {
    method: Type.Union(FIRMWARE_METHODS.map((m) => Type.Literal(m)), { description: 'how the image reaches the device' }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    rebootS: Type.Integer({ minimum: 1, maximum: 600, description: 'seconds the device is silent while it applies the image and reboots' }),
    maxImageBytes: Type.Integer({ minimum: 64, maximum: 64 * 1024 * 1024, description: 'largest image the device takes' }),
    wire: Type.Object(
      {
        version: Type.Object(
          { table: Type.Union([Type.Literal('input-register'), Type.Literal('holding-register')]), address: Address('first of 3 registers: major, minor, patch') },
          strict,
        ),
        status: Type.Object({ address: Address('first of 3 input registers: state, failure code, next block') }, strict),
        control: Type.Object({ address: Address('first of 5 holding registers: command, argument (uint32), CRC-32 (uint32)') }, strict),
        window: Type.Object(
          {
            address: Address('first holding register of the transfer window'),
            registers: Type.Integer({ minimum: 1, maximum: MAX_BLOCK_REGISTERS, description: 'block size in registers (2 bytes each)' }),
          },
          strict,
        ),
      },
      strict,
    ),
    /** What the state register's codes mean. */
    states: Type.Object({ idle: Code('idle'), receiving: Code('receiving'), verifying: Code('verifying'), applying: Code('applying'), failed: Code('failed') }, strict),
    /** What the command register's codes do. */
    commands: Type.Object({ begin: Code('begin'), block: Code('block'), commit: Code('commit'), abort: Code('abort') }, strict),
  },
  strict,
);
export type FirmwareSource = Static<typeof FirmwareSchema>;

export type FirmwareState = keyof FirmwareSource['states'];
export type FirmwareCommand = keyof FirmwareSource['commands'];

/** A resolved firmware section (the source, checked against the rest of the profile). */
export interface FirmwareSpec {
  method: FirmwareMethod;
  description?: string;
  rebootS: number;
  maxImageBytes: number;
  wire: {
    version: { table: 'input-register' | 'holding-register'; address: number };
    status: { address: number };
    control: { address: number };
    window: { address: number; registers: number };
  };
  states: Record<FirmwareState, number>;
  commands: Record<FirmwareCommand, number>;
}

/** Failure codes (second status register): why the device refused or failed an image. */
export const FIRMWARE_FAILURES = {
  0: 'none',
  1: 'image CRC-32 does not match',
  2: 'image is for another device model',
  3: 'image header is not valid',
  4: 'block out of order or beyond the image',
  5: 'image size is not accepted',
  6: 'applying the image failed',
  7: 'command not expected in this state',
} as const satisfies Record<number, string>;
export const firmwareFailureText = (code: number): string => (FIRMWARE_FAILURES as Record<number, string>)[code] ?? `unknown failure code ${code}`;

interface Occupied {
  table: ModbusTable;
  start: number;
  end: number; // exclusive
  what: string;
  path: FieldPath;
}

/** Checks the firmware section against the rest of the profile: registers of its own and of the data and sign do not overlap. */
export function resolveFirmware(firmware: FirmwareSource, protocol: string, points: readonly ResolvedPoint[], sign: SignProfile | undefined, fail: Fail): FirmwareSpec {
  if (protocol !== 'modbus') fail(['firmware', 'method'], `${firmware.method} needs a Modbus device, this profile speaks ${protocol}`);
  const { wire } = firmware;
  const own: Occupied[] = [
    { table: wire.version.table, start: wire.version.address, end: wire.version.address + FIRMWARE_WIRE_SIZES.version, what: 'firmware version registers', path: ['firmware', 'wire', 'version', 'address'] },
    { table: 'input-register', start: wire.status.address, end: wire.status.address + FIRMWARE_WIRE_SIZES.status, what: 'firmware status registers', path: ['firmware', 'wire', 'status', 'address'] },
    { table: 'holding-register', start: wire.control.address, end: wire.control.address + FIRMWARE_WIRE_SIZES.control, what: 'firmware control registers', path: ['firmware', 'wire', 'control', 'address'] },
    { table: 'holding-register', start: wire.window.address, end: wire.window.address + wire.window.registers, what: 'firmware transfer window', path: ['firmware', 'wire', 'window', 'address'] },
  ];
  for (const part of own) if (part.end > 0x10000) fail(part.path, `${part.what} ${part.start}..${part.end - 1} run past the last address 65535`);
  const others: Occupied[] = points.map((p) => ({ table: p.wire.table, start: p.wire.address, end: p.wire.address + registerCount(p.wire.type), what: `point ${p.key}`, path: [] }));
  if (sign?.modbus) {
    const m = sign.modbus;
    others.push({ table: 'holding-register', start: m.messageArea.address, end: m.messageArea.address + m.messageArea.registers, what: 'sign message area', path: [] });
    for (const field of SIGN_HOLDING_FIELDS) {
      const address = m[field];
      if (address !== undefined) others.push({ table: 'holding-register', start: address, end: address + 1, what: `sign ${field}`, path: [] });
    }
    const inputs = signInputSpan(m);
    others.push({ table: 'input-register', start: inputs.first, end: inputs.first + inputs.count, what: 'sign status registers', path: [] });
  }
  own.forEach((part, i) => {
    const clash = [...others, ...own.slice(0, i)].find((o) => o.table === part.table && o.start < part.end && part.start < o.end);
    if (clash) fail(part.path, `${part.what} (${part.table} ${part.start}..${part.end - 1}) overlap ${clash.what} (${clash.table} ${clash.start}..${clash.end - 1})`);
  });
  distinct(firmware.states, ['firmware', 'states'], fail);
  distinct(firmware.commands, ['firmware', 'commands'], fail);
  if (Object.values(firmware.commands).includes(0)) fail(['firmware', 'commands'], 'no command may be 0: a cleared control register must not start anything');
  const spec: FirmwareSpec = {
    method: firmware.method,
    rebootS: firmware.rebootS,
    maxImageBytes: firmware.maxImageBytes,
    wire: {
      version: { ...wire.version },
      status: { ...wire.status },
      control: { ...wire.control },
      window: { ...wire.window },
    },
    states: { ...firmware.states },
    commands: { ...firmware.commands },
  };
  if (firmware.description !== undefined) spec.description = firmware.description;
  return spec;
}

function distinct(codes: Record<string, number>, path: FieldPath, fail: Fail): void {
  const seen = new Map<number, string>();
  for (const [name, code] of Object.entries(codes)) {
    const other = seen.get(code);
    if (other !== undefined) fail([...path, name], `code ${code} is also ${other}: every code must mean one thing`);
    seen.set(code, name);
  }
}

/** 'QLFW': the first bytes of a firmware image. */
export const FIRMWARE_IMAGE_MAGIC = Buffer.from('QLFW', 'ascii');
const HEADER_FORMAT = 1;
const FIXED_HEADER = 12;

/**
 * Image header (big-endian): 'QLFW', format 1 (1 byte), profile id length N (1 byte), major, minor,
 * patch (uint16 each), profile id (N ASCII bytes); the firmware body follows.
 */
export interface FirmwareImageHeader {
  profile: string;
  version: string;
  /** Bytes of the header; the body starts here. */
  headerBytes: number;
}

const PLAIN_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/** Builds an image: header + body. The version must be major.minor.patch, each 0..65535. */
export function encodeFirmwareImage(options: { profile: string; version: string; body: Buffer }): Buffer {
  const match = PLAIN_VERSION.exec(options.version);
  const parts = match ? match.slice(1).map(Number) : [];
  if (!match || parts.some((n) => n > 0xffff)) throw new RangeError(`firmware version '${options.version}' is not major.minor.patch with each part 0..65535`);
  const id = Buffer.from(options.profile, 'ascii');
  if (id.length < 1 || id.length > 64) throw new RangeError(`profile id '${options.profile}' must be 1..64 ASCII characters`);
  const header = Buffer.alloc(FIXED_HEADER);
  FIRMWARE_IMAGE_MAGIC.copy(header, 0);
  header.writeUInt8(HEADER_FORMAT, 4);
  header.writeUInt8(id.length, 5);
  parts.forEach((n, i) => header.writeUInt16BE(n, 6 + 2 * i));
  return Buffer.concat([header, id, options.body]);
}

/** Reads an image's header; throws saying what is wrong. */
export function parseFirmwareImageHeader(image: Buffer): FirmwareImageHeader {
  if (image.length < FIXED_HEADER + 1 || !image.subarray(0, 4).equals(FIRMWARE_IMAGE_MAGIC)) throw new Error("not a firmware image (no 'QLFW' header)");
  if (image.readUInt8(4) !== HEADER_FORMAT) throw new Error(`firmware image header format ${image.readUInt8(4)} is not ${HEADER_FORMAT}`);
  const length = image.readUInt8(5);
  if (length < 1 || image.length < FIXED_HEADER + length) throw new Error('firmware image header is cut short');
  const profile = image.subarray(FIXED_HEADER, FIXED_HEADER + length).toString('ascii');
  const version = [0, 1, 2].map((i) => image.readUInt16BE(6 + 2 * i)).join('.');
  return { profile, version, headerBytes: FIXED_HEADER + length };
}

/** CRC-32 (IEEE, as zlib) of a whole image. */
export const imageCrc32 = (image: Buffer): number => crc32(image) >>> 0;

/** Three version registers -> 'major.minor.patch'. */
export const versionFromRegisters = (words: readonly number[]): string => words.slice(0, 3).join('.');
/** 'major.minor.patch' -> three version registers. */
export function versionToRegisters(version: string): [number, number, number] {
  const match = PLAIN_VERSION.exec(version);
  if (!match) throw new RangeError(`firmware version '${version}' is not major.minor.patch`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}
