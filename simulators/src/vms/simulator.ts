/**
 * A simulated guidance screen on a real wire: Modbus TCP (its registers laid out by the
 * profile's sign.modbus) or JSON over MQTT (on a given broker, or on an aedes broker of its own).
 * Faults: offline (the port closes / the MQTT connection drops and the last will says offline),
 * slowMs (every answer late), reject, pixelFailures, displaysOther, doorOpen, powerFault.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { pino, type Logger } from 'pino';
import { loadBuiltinProfiles, loadProfileFile, type DeviceProfile } from '@quanlink/device-profiles';
import { topicBaseFor } from '@quanlink/firmware-bridge';
import { ModbusTcpServer } from '../modbus/tcp-server.js';
import type { ServerReply } from '../modbus/reply.js';
import { startVmsControlServer } from './control.js';
import type { ControlServer } from '../control-http.js';
import { ModbusSignRegisters } from './modbus-sign.js';
import { FirmwareUpdater } from '../firmware/block-transfer.js';
import { MqttSign } from './mqtt-sign.js';
import { VmsScreen, type ShownMessage, type VmsFaults } from './screen.js';

export type VmsWire = 'modbus-tcp' | 'mqtt';

export interface VmsSimulator {
  readonly id: string;
  readonly screen: VmsScreen;
  readonly wire: 'modbus-tcp' | 'mqtt';
  readonly port?: number;
  readonly unitId?: number;
  readonly brokerUrl?: string;
  readonly topicBase?: string;
  readonly controlUrl?: string;
  /** Modbus TCP with a profile that declares `firmware`: the sign's firmware updater. */
  readonly firmware?: FirmwareUpdater;
  shown(): ShownMessage;
  history(): ShownMessage[];
  renderPng(opts?: { scale?: number }): Promise<Buffer[]>;
  setFaults(f: Partial<VmsFaults>): void;
  clearFaults(): void;
  goOffline(): Promise<void>;
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

export interface VmsSimulatorOptions {
  id: string;
  /** A vms profile, or the id of a builtin one, or a profile file. */
  profile: DeviceProfile | string;
  wire: 'modbus-tcp' | 'mqtt';
  /** Modbus TCP: address to listen on; default 127.0.0.1. */
  host?: string;
  /** Modbus TCP: port; default 0 (any free port). */
  port?: number;
  /** Modbus TCP: unit id; default 1. */
  unitId?: number;
  /** MQTT: the broker; default an aedes broker of the simulator's own on 127.0.0.1, port 0. */
  brokerUrl?: string;
  /** MQTT: default the profile's sign.mqtt.topicBase for this id, else 'vms/{id}'. */
  topicBase?: string;
  /** HTTP control endpoint on this port (0 = any); none when absent. */
  controlPort?: number;
  /** Modbus TCP, a profile with `firmware`: the version the sign runs at start (default 1.0.0). */
  firmwareVersion?: string;
  /** Reboot time after a firmware update in ms; default the profile's firmware.rebootS. */
  firmwareRebootMs?: number;
  logger?: Logger;
}

let sharedLogger: Logger | undefined;
function defaultLogger(): Logger {
  sharedLogger ??= pino({ name: 'vms', level: process.env['LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  return sharedLogger;
}

/** A builtin profile by id, else a profile file; it must be a vms. */
export async function loadVmsProfile(profile: DeviceProfile | string): Promise<DeviceProfile> {
  let resolved: DeviceProfile;
  if (typeof profile !== 'string') resolved = profile;
  else {
    const builtin = await loadBuiltinProfiles();
    const byId = builtin.get(profile);
    if (byId) resolved = byId;
    else {
      try {
        resolved = await loadProfileFile(profile);
      } catch (err) {
        const signs = [...builtin.values()].filter((p) => p.kind === 'vms').map((p) => p.id);
        throw new Error(`profile ${profile}: not a builtin profile (${signs.join(', ')}) and not a loadable file: ${(err as Error).message}`);
      }
    }
  }
  if (resolved.kind !== 'vms' || !resolved.sign) throw new Error(`profile ${resolved.id} is a ${resolved.kind} profile, not a vms`);
  return resolved;
}

interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

/** An aedes broker on 127.0.0.1, port 0. */
async function startBroker(): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a wire front-end does for the simulator. */
interface WireFace {
  goOffline(): Promise<void>;
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

export async function startVmsSimulator(opts: VmsSimulatorOptions): Promise<VmsSimulator> {
  const { id, wire } = opts;
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) throw new RangeError(`vms simulator: id must be 1-64 letters, digits, '_', '.', '-', got ${JSON.stringify(id)}`);
  if (wire !== 'modbus-tcp' && wire !== 'mqtt') throw new RangeError(`vms simulator ${id}: wire must be modbus-tcp or mqtt, got ${JSON.stringify(wire)}`);
  const profile = await loadVmsProfile(opts.profile);
  const logger = (opts.logger ?? defaultLogger()).child({ device: id });
  const screen = VmsScreen.fromProfile(id, profile);

  const info: { port?: number; unitId?: number; brokerUrl?: string; topicBase?: string } = {};
  let face: WireFace;
  let firmware: FirmwareUpdater | undefined;
  if (wire === 'modbus-tcp') {
    const signWire = profile.sign!.modbus;
    if (!signWire) throw new Error(`vms simulator ${id}: profile ${profile.id} has no Modbus register map (it speaks ${profile.protocol})`);
    const unitId = opts.unitId ?? 1;
    if (!Number.isInteger(unitId) || unitId < 1 || unitId > 255) throw new RangeError(`vms simulator ${id}: unitId must be 1..255, got ${unitId}`);
    const registers = new ModbusSignRegisters(screen, signWire, logger, profile.identify);
    if (profile.firmware) {
      firmware = new FirmwareUpdater({
        spec: profile.firmware,
        profileId: profile.id,
        device: id,
        logger,
        ...(opts.firmwareVersion !== undefined ? { version: opts.firmwareVersion } : {}),
        ...(opts.firmwareRebootMs !== undefined ? { rebootMs: opts.firmwareRebootMs } : {}),
      });
    }
    const handle = ({ unitId: to, pdu }: { unitId: number; pdu: Buffer }): ServerReply => {
      if (to !== unitId) return undefined; // nothing behind that unit id
      if (firmware?.silent) return undefined; // applying an image and rebooting
      const firmwareAnswer = firmware?.answer(pdu);
      const reply = firmwareAnswer ? { pdu: firmwareAnswer } : registers.answer(pdu);
      const slowMs = screen.faults().slowMs;
      return reply && slowMs > 0 && 'pdu' in reply ? { ...reply, delayMs: slowMs } : reply;
    };
    const server = new ModbusTcpServer({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0, device: `vms(${id}, ${profile.id})`, logger, handle });
    await server.listen();
    info.unitId = unitId;
    Object.defineProperty(info, 'port', { get: () => server.port, enumerable: true });
    face = {
      goOffline: () => server.close(),
      comeBack: () => server.listen(),
      close: async () => {
        firmware?.close();
        await server.close();
      },
    };
  } else {
    if (opts.unitId !== undefined || opts.port !== undefined) throw new RangeError(`vms simulator ${id}: port and unitId are for modbus-tcp; an mqtt sign uses brokerUrl`);
    const broker = opts.brokerUrl === undefined ? await startBroker() : undefined;
    const brokerUrl = opts.brokerUrl ?? broker!.url;
    const topicBase = opts.topicBase ?? topicBaseFor(profile.sign!.mqtt?.topicBase ?? 'vms/{device}', id);
    const sign = new MqttSign(screen, brokerUrl, topicBase, logger);
    try {
      await sign.start();
    } catch (err) {
      await broker?.close();
      throw err;
    }
    Object.assign(info, { brokerUrl, topicBase });
    face = {
      goOffline: () => sign.goOffline(),
      comeBack: () => sign.start(),
      close: async () => {
        await sign.close();
        await broker?.close();
      },
    };
  }

  let offline = false;
  /** The offline fault and goOffline/comeBack are one switch. */
  const switchOffline = async (off: boolean): Promise<void> => {
    if (off === offline) return;
    offline = off;
    if (screen.faults().offline !== off) screen.setFaults({ offline: off });
    await (off ? face.goOffline() : face.comeBack());
    logger.info({ operation: off ? 'goOffline' : 'comeBack' }, off ? 'sign went offline' : 'sign is back');
  };
  const unsubscribe = screen.onChange((what) => {
    if (what === 'faults' && screen.faults().offline !== offline) {
      switchOffline(screen.faults().offline).catch((err: unknown) => logger.error({ operation: 'offline fault', err }, 'could not switch the wire'));
    }
  });

  let control: ControlServer | undefined;
  let closed = false;
  const simulator: VmsSimulator = {
    id,
    screen,
    wire,
    get port() {
      return info.port;
    },
    unitId: info.unitId,
    brokerUrl: info.brokerUrl,
    topicBase: info.topicBase,
    get controlUrl() {
      return control?.url;
    },
    ...(firmware ? { firmware } : {}),
    shown: () => screen.shown(),
    history: () => screen.history(),
    renderPng: (o) => screen.renderPng(o),
    setFaults: (f) => screen.setFaults(f),
    clearFaults: () => screen.clearFaults(),
    goOffline: () => switchOffline(true),
    comeBack: () => switchOffline(false),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      unsubscribe();
      await control?.close();
      await face.close();
    },
  };
  if (opts.controlPort !== undefined) {
    try {
      control = await startVmsControlServer(simulator, { port: opts.controlPort, logger });
    } catch (err) {
      await simulator.close();
      throw err;
    }
  }
  logger.info({ operation: 'start', wire, profile: profile.id, ...info, control: control?.url }, 'vms simulator listening');
  return simulator;
}
