/**
 * A device profile describes one device model. Its `wire` part says where a value lives on the
 * device (Modbus table, address, raw type, byte and word order); its `value` part says what the
 * value means (quantity, unit, scale, lane). The loader resolves per-lane resources into flat points.
 */

import type { ModbusSignWire, ModbusWire } from '@quanlink/firmware-bridge';
import type { SignCapabilities } from '@quanlink/sign-content';
import type { IdentifySpec } from './identify.js';
import type { FirmwareSpec } from './firmware.js';

export type { ModbusTable, RawType, Endianness, ModbusWire, ModbusSignWire } from '@quanlink/firmware-bridge';
export type { SignCapabilities } from '@quanlink/sign-content';

export const DEVICE_KINDS = ['loop-detector', 'vms', 'camera'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const PROTOCOLS = ['modbus', 'mqtt', 'onvif'] as const;
export type DeviceProtocol = (typeof PROTOCOLS)[number];

/** A guidance screen's part of its profile: what it can show, and its wire (one of modbus, mqtt). */
export interface SignProfile {
  capabilities: SignCapabilities;
  /** Registers of a Modbus sign (protocol modbus). */
  modbus?: ModbusSignWire;
  /** Topics of a JSON-over-MQTT sign (protocol mqtt); '{device}' in topicBase stands for the device id. */
  mqtt?: { topicBase: string };
}

/** One value of the device after per-lane expansion, e.g. key 'lane3.count'. */
export interface ResolvedPoint {
  /** Unique within the profile: `lane{n}.{resource}` for per-lane resources, else the resource name. */
  key: string;
  /** The resource name as written in the profile, e.g. 'count'. */
  resource: string;
  /** 1-based lane number for per-lane resources. */
  lane?: number;
  wire: ModbusWire;
  /** engineering value = raw * scale + offset */
  scale: number;
  offset: number;
  unit?: string;
  /** What is measured, e.g. 'vehicle-count', 'occupancy', 'speed'. */
  quantity?: string;
  /** A counter that only grows and wraps at 2^counterBits (derived from the raw type). */
  cumulative: boolean;
  counterBits?: number;
  /** Engineering limits; values outside are reported as a device error, not stored. */
  min?: number;
  max?: number;
  writable: boolean;
  description?: string;
}

export interface DeviceProfile {
  /** Stable id used to bind devices, e.g. 'quanlink-lc8'. */
  id: string;
  kind: DeviceKind;
  manufacturer: string;
  model: string;
  description?: string;
  protocol: DeviceProtocol;
  /** Number of lanes for loop detectors. */
  lanes?: number;
  /** Modbus points (empty for a sign whose wire is in `sign`, and for a camera). */
  points: ResolvedPoint[];
  /** Kind vms: capabilities and wire of the screen. */
  sign?: SignProfile;
  /**
   * How the device wants to be read, for the driver: the most registers per request it accepts,
   * and how many unused registers a request may span (only for devices that answer holes).
   */
  modbus?: { maxRegistersPerRead?: number; maxGap?: number };
  /** How a Modbus scan recognises this model (technician discover); absent: it is never guessed. */
  identify?: IdentifySpec;
  /** How the device takes new firmware in the field; absent: it cannot be updated by the gateway. */
  firmware?: FirmwareSpec;
  /** File the profile was loaded from ('<inline>' when parsed from a string without a name). */
  source: string;
}
