/**
 * Device firmware updates on the gateway (device.firmware.apply). A firmware bundle is a signed
 * update bundle of product device-firmware (verified exactly like an agent bundle: trusted key,
 * signature, sha256 of payload and image, size limits) whose manifest names the target profile; its
 * one file is the image. Nothing is sent to the device before all of that holds and the device's
 * profile declares a `firmware` section for that profile. The device's poller or screen controller is
 * paused for the transfer and resumed afterwards, whatever the outcome. Progress goes to the cloud as
 * firmware.status events carrying the device id.
 *
 * Method modbus-block-transfer (device-profiles firmware.ts): begin (size, CRC-32), per block: the
 * block's bytes into the window, then "block N"; commit; the device verifies, applies and reboots;
 * success only when its version registers then read the manifest's version.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import {
  canonicalManifestBytes,
  checkCommandArgs,
  compareVersions,
  keyIdOf,
  FIRMWARE_PRODUCT,
  UpdateVerifyError,
  type Command,
  type DeviceFirmwareApplyArgs,
  type FirmwareStatusData,
  type SignatureEnvelope,
  type UpdateManifest,
} from '@quanlink/contracts';
import {
  firmwareFailureText,
  imageCrc32,
  parseFirmwareImageHeader,
  versionFromRegisters,
  type DeviceProfile,
  type FirmwareSpec,
  type FirmwareState,
} from '@quanlink/device-profiles';
import type { ProtocolDriver } from '@quanlink/firmware-bridge';
import type { DeviceBinding } from '../config/index.js';
import type { Extension } from '../events/bus.js';
import { CommandError } from '../link/command-router.js';
import { checkEnvelope, verifyBundle } from './bundle.js';
import { configuredTrustedKeys, downloadBundle, type UpdatableAgent } from './agent-updates.js';

export const FIRMWARE_COMMANDS = ['device.firmware.apply'] as const;

/** A device taken off its poller or controller for a transfer; `resume` puts it back. */
export interface PausedDevice {
  /** A driver of its own for the transfer (closed by the caller). */
  driver: ProtocolDriver;
  resume(): Promise<void>;
}

/** What firmware updates need of the agent (EdgeAgent has all of it). */
export interface FirmwareAgent extends UpdatableAgent {
  /** The running device's binding and profile, or undefined when it is not bound (or not running). */
  deviceOf(id: string): { binding: DeviceBinding; profile: DeviceProfile } | undefined;
  /** Stops the device's poller or controller and hands out a driver for it. */
  pauseDevice(id: string): Promise<PausedDevice>;
}

export interface DeviceFirmwareOptions {
  /** Pause between status reads while the device verifies and reboots; default 500 ms. */
  pollMs?: number;
}

/** Registers device.firmware.apply on the agent's router. */
export function deviceFirmware(agent: FirmwareAgent, options: DeviceFirmwareOptions = {}): Extension {
  return new DeviceFirmwareUpdates(agent, options);
}

/**
 * Signs a firmware image into a bundle (the agent bundle format, product device-firmware, one file:
 * the image). The image header must name the same profile and version.
 */
export function packFirmware(options: { privateKey: KeyObject | string; image: Buffer; createdAt?: number }): { bundle: Buffer; envelope: SignatureEnvelope } {
  const key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new UpdateVerifyError('BadKey', `signing key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  const header = parseFirmwareImageHeader(options.image);
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  const payload = gzipSync(options.image);
  const path = `${header.profile}-${header.version}.qlfw`;
  const manifest: UpdateManifest = {
    format: 1,
    product: FIRMWARE_PRODUCT,
    version: header.version,
    profile: header.profile,
    createdAt: options.createdAt ?? Date.now(),
    entry: path,
    files: [{ path, sha256: sha256(options.image), size: options.image.length }],
    payloadSha256: sha256(payload),
  };
  const envelope: SignatureEnvelope = { format: 1, keyId: keyIdOf(createPublicKey(key)), signature: sign(null, canonicalManifestBytes(manifest), key).toString('base64'), manifest };
  return { bundle: Buffer.concat([Buffer.from(`${JSON.stringify(envelope)}\n`, 'utf8'), payload]), envelope };
}

/** A refusal or failure of one step, in words for the operator. */
class FirmwareFailure extends Error {}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

class DeviceFirmwareUpdates implements Extension {
  readonly name = 'device-firmware';
  private readonly logger: Logger;
  private readonly gatewayId: string;
  /** Devices with an update under way, and the work itself (awaited on stop). */
  private readonly busy = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(
    private readonly agent: FirmwareAgent,
    private readonly options: DeviceFirmwareOptions,
  ) {
    this.logger = agent.logger.child({ component: 'device-firmware' });
    this.gatewayId = agent.config.data.gateway.id;
    agent.router.register(FIRMWARE_COMMANDS, (command) => this.apply(command));
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.busy.values()]);
  }

  /** Refuses at once what the command tells (device, profile, product, signature); downloads and transfers in the background. */
  private async apply(command: Command): Promise<Record<string, unknown>> {
    const checked = checkCommandArgs('device.firmware.apply', command.args);
    if (!checked.ok) throw new CommandError('InvalidCommand', checked.error.message, checked.error.path);
    const args = checked.value;
    const where = `gateway ${this.gatewayId}, device ${args.device}`;
    if (this.busy.has(args.device)) throw new CommandError('FirmwareUpdateInProgress', `${where}: a firmware update is already under way`);
    if (args.version !== args.manifest.version) throw new CommandError('InvalidCommand', `version ${args.version} is not the manifest's ${args.manifest.version}`, 'args.version');
    if (args.manifest.product !== FIRMWARE_PRODUCT) {
      throw new CommandError('WrongProduct', `${where}: update ${args.updateId} is a ${args.manifest.product} bundle, not ${FIRMWARE_PRODUCT}`);
    }
    const spec = this.targetOf(args.device, args.manifest.profile);
    let trusted: Map<string, KeyObject>;
    try {
      trusted = configuredTrustedKeys(this.agent.config);
      if (trusted.size === 0) throw new UpdateVerifyError('UpdatesDisabled', `gateway ${this.gatewayId} trusts no update key (updates.trustedKeys in its config)`);
      checkEnvelope({ format: 1, keyId: args.keyId, signature: args.signature, manifest: args.manifest }, { trusted, product: FIRMWARE_PRODUCT });
    } catch (err) {
      if (err instanceof UpdateVerifyError) {
        this.logger.error({ gateway: this.gatewayId, device: args.device, update: args.updateId, code: err.code, operation: 'device.firmware.apply' }, err.message);
        throw new CommandError(err.code, `${where}: firmware ${args.version} refused: ${err.message}`);
      }
      throw err;
    }
    const work = this.run(args, spec, trusted).finally(() => this.busy.delete(args.device));
    this.busy.set(args.device, work);
    return { accepted: true, device: args.device, updateId: args.updateId, version: args.version };
  }

  /** The device's firmware method, or a refusal saying why it cannot take this image. */
  private targetOf(device: string, manifestProfile: string | undefined): FirmwareSpec {
    const where = `gateway ${this.gatewayId}, device ${device}`;
    const found = this.agent.deviceOf(device);
    if (!found) throw new CommandError('UnknownDevice', `${where}: no such device is bound and running`);
    const { profile } = found;
    if (!profile.firmware) {
      throw new CommandError('FirmwareNotSupported', `${where}: profile ${profile.id} cannot be updated in the field (it declares no firmware section)`);
    }
    if (manifestProfile !== profile.id) {
      throw new CommandError('WrongProfile', `${where}: the firmware is for profile ${manifestProfile ?? '(none)'}, the device is a ${profile.id}`);
    }
    return profile.firmware;
  }

  private emit(device: string, data: FirmwareStatusData): void {
    try {
      const stored = this.agent.outbox.append([{ ts: Date.now(), type: 'firmware.status', device, data }]);
      if (stored.length > 0) this.agent.bus.emit('outbox.appended', { lastSeq: stored[stored.length - 1]!.seq });
    } catch (err) {
      this.logger.error({ gateway: this.gatewayId, device, err, operation: 'firmware report' }, 'could not report firmware progress');
    }
  }

  private async run(args: DeviceFirmwareApplyArgs, spec: FirmwareSpec, trusted: Map<string, KeyObject>): Promise<void> {
    const { device, updateId, version } = args;
    const base = { updateId, version };
    const log = { gateway: this.gatewayId, device, update: updateId, version };
    let operation = 'download';
    let paused: PausedDevice | undefined;
    try {
      this.emit(device, { ...base, state: 'downloading' });
      const bundle = await downloadBundle(this.agent.config, args.url);
      operation = 'verify';
      this.emit(device, { ...base, state: 'verifying' });
      const verified = verifyBundle(bundle, { trusted, product: FIRMWARE_PRODUCT, expected: { manifest: args.manifest } });
      const image = verified.files[0]!.data;
      if (image.length > spec.maxImageBytes) throw new FirmwareFailure(`image is ${image.length} bytes, the device takes at most ${spec.maxImageBytes}`);
      const header = parseFirmwareImageHeader(image);
      if (header.profile !== args.manifest.profile || header.version !== version) {
        throw new FirmwareFailure(`the image header says ${header.profile} ${header.version}, the signed manifest ${args.manifest.profile ?? '?'} ${version}`);
      }
      operation = 'pause';
      paused = await this.agent.pauseDevice(device);
      const transfer = new BlockTransfer(paused.driver, spec, device);
      operation = 'read version';
      const running = await transfer.readVersion();
      if (compareVersions(version, running) <= 0) throw new FirmwareFailure(`the device runs ${running}, not older than ${version}`);
      operation = 'transfer';
      let reported = -1;
      await transfer.send(image, (percent) => {
        // Every 10 %: enough to follow, few enough events for a slow line.
        const step = Math.floor(percent / 10) * 10;
        if (step > reported) {
          reported = step;
          this.emit(device, { ...base, state: 'transferring', percent: step });
        }
      });
      operation = 'commit';
      await transfer.commit();
      this.emit(device, { ...base, state: 'rebooting' });
      operation = 'reboot';
      const back = await transfer.awaitReboot(this.options.pollMs ?? 500, () => this.stopping);
      if (back !== version) throw new FirmwareFailure(`the device came back running ${back}, not ${version}`);
      this.emit(device, { ...base, state: 'healthy' });
      this.logger.info({ ...log, operation: 'device firmware' }, 'device runs the new firmware');
    } catch (err) {
      const reason = `${operation}: ${(err as Error).message}`.slice(0, 2000);
      this.logger.error({ ...log, operation: `device firmware ${operation}`, err: (err as Error).message }, 'device firmware update failed');
      this.emit(device, { ...base, state: 'failed', reason });
    } finally {
      if (paused) {
        await paused.driver.close().catch(() => undefined);
        await paused.resume().catch((err: unknown) => this.logger.error({ ...log, err, operation: 'resume device' }, 'could not resume the device after its firmware update'));
      }
    }
  }
}

const word = (address: number, table: 'input-register' | 'holding-register') => ({ table, address, type: 'uint16', byteOrder: 'big', wordOrder: 'big' }) as const;

/** The modbus-block-transfer procedure over a driver's reads and FC16 writes. */
export class BlockTransfer {
  constructor(
    private readonly driver: ProtocolDriver,
    private readonly spec: FirmwareSpec,
    private readonly device: string,
  ) {
    if (!driver.writeRegisters) throw new FirmwareFailure(`device ${device}: its driver cannot write register blocks`);
  }

  private async words(table: 'input-register' | 'holding-register', address: number, count: number): Promise<number[]> {
    const points = Array.from({ length: count }, (_, i) => ({ key: `fw${i}`, wire: word(address + i, table) }));
    const values = await this.driver.read(points);
    return points.map((p) => values.get(p.key) ?? 0);
  }

  async readVersion(): Promise<string> {
    const { version } = this.spec.wire;
    return versionFromRegisters(await this.words(version.table, version.address, 3));
  }

  /** State, failure code and next block expected, from the status registers. */
  async status(): Promise<{ state: FirmwareState | `code ${number}`; failure: number; nextBlock: number }> {
    const [code = 0, failure = 0, nextBlock = 0] = await this.words('input-register', this.spec.wire.status.address, 3);
    const state = (Object.entries(this.spec.states).find(([, c]) => c === code)?.[0] as FirmwareState | undefined) ?? (`code ${code}` as const);
    return { state, failure, nextBlock };
  }

  private async control(command: number, argument: number, crc = 0): Promise<void> {
    await this.driver.writeRegisters!(this.spec.wire.control.address, [command, Math.floor(argument / 0x10000) & 0xffff, argument & 0xffff, crc >>> 16, crc & 0xffff]);
  }

  private async expect(state: FirmwareState, step: string): Promise<{ nextBlock: number }> {
    const now = await this.status();
    if (now.state === 'failed') throw new FirmwareFailure(`the device refused ${step}: ${firmwareFailureText(now.failure)}`);
    if (now.state !== state) throw new FirmwareFailure(`after ${step} the device is ${now.state}, not ${state}`);
    return now;
  }

  /** begin, every block, then checks the device took them all. */
  async send(image: Buffer, progress: (percent: number) => void): Promise<void> {
    const blockBytes = this.spec.wire.window.registers * 2;
    const blocks = Math.ceil(image.length / blockBytes);
    await this.control(this.spec.commands.begin, image.length, imageCrc32(image));
    await this.expect('receiving', 'begin');
    progress(0);
    for (let n = 0; n < blocks; n++) {
      const bytes = image.subarray(n * blockBytes, (n + 1) * blockBytes);
      const words: number[] = [];
      for (let i = 0; i < bytes.length; i += 2) words.push((bytes[i]! << 8) | (bytes[i + 1] ?? 0));
      await this.driver.writeRegisters!(this.spec.wire.window.address, words);
      await this.control(this.spec.commands.block, n);
      progress(Math.floor(((n + 1) * 100) / blocks));
    }
    const { nextBlock } = await this.expect('receiving', `block ${blocks - 1}`);
    if (nextBlock !== (blocks & 0xffff)) throw new FirmwareFailure(`the device took ${nextBlock} blocks of ${blocks}`);
  }

  /** commit: the device checks CRC and header; a refusal shows at once in the status registers. */
  async commit(): Promise<void> {
    await this.control(this.spec.commands.commit, 0);
    let now;
    try {
      now = await this.status();
    } catch {
      return; // already silent: it is applying the image
    }
    if (now.state === 'failed') throw new FirmwareFailure(`the device refused the image: ${firmwareFailureText(now.failure)}`);
  }

  /**
   * Waits for the device to answer again, idle, and returns the version it runs. Gives up after
   * twice the declared reboot time plus 5 s, or when a reported failure shows.
   */
  async awaitReboot(pollMs: number, stopping: () => boolean): Promise<string> {
    const limitMs = this.spec.rebootS * 2000 + 5000;
    const deadline = Date.now() + limitMs;
    let last = 'no answer';
    while (Date.now() < deadline && !stopping()) {
      await sleep(pollMs);
      try {
        const now = await this.status();
        if (now.state === 'failed') throw new FirmwareFailure(`applying failed: ${firmwareFailureText(now.failure)}`);
        last = `state ${now.state}`;
        if (now.state === 'idle') return await this.readVersion();
      } catch (err) {
        if (err instanceof FirmwareFailure) throw err;
        last = (err as Error).message;
      }
    }
    throw new FirmwareFailure(
      stopping()
        ? `device ${this.device}: the gateway stopped while the device rebooted`
        : `device ${this.device} did not come back within ${Math.round(limitMs / 1000)} s of commit (last: ${last})`,
    );
  }
}
