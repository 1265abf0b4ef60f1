/**
 * The rules of a guidance screen's profile (kind vms) that span fields: the capabilities' own
 * cross-field checks (sign-content), one wire that matches the protocol, registers that do not
 * overlap, and a message area large enough for the longest message the sign accepts.
 */
import { checkModbusSignWire, messageAreaBytes } from '@quanlink/firmware-bridge';
import { SignCapabilitiesSchema, checkCapabilities, type SignCapabilities } from '@quanlink/sign-content';
import type { Fail, FieldPath } from './resolve.js';
import type { ProfileSource } from './schema.js';
import type { SignProfile } from './types.js';

const CAPABILITIES: FieldPath = ['sign', 'capabilities'];

/** The field a capabilities problem is about, from the words it starts with. */
function capabilityPath(caps: SignCapabilities, problem: string): FieldPath {
  const font = /^font (?:number )?(\d+)/.exec(problem);
  if (font) {
    const index = caps.fonts.findIndex((f) => f.number === Number(font[1]));
    return index >= 0 ? [...CAPABILITIES, 'fonts', index] : [...CAPABILITIES, 'fonts'];
  }
  const field = Object.keys(SignCapabilitiesSchema.properties).find((key) => problem.startsWith(`${key} `));
  return field ? [...CAPABILITIES, field] : CAPABILITIES;
}

/** Checks the vms-specific rules and returns the sign part of the profile (undefined for other kinds). */
export function resolveSign(source: ProfileSource, fail: Fail): SignProfile | undefined {
  const { kind, protocol, sign } = source;
  if (kind !== 'vms') {
    if (sign) fail(['sign'], `only a vms profile has a sign section, this one is ${kind}`);
    // A camera is reached over ONVIF (or a stream address in its binding); a loop detector over Modbus.
    const expected = kind === 'camera' ? 'onvif' : 'modbus';
    if (protocol !== expected) fail(['protocol'], `a ${kind} profile speaks ${expected}, not ${protocol}`);
    return undefined;
  }
  if (protocol === 'onvif') fail(['protocol'], 'a vms profile speaks modbus or mqtt, not onvif');
  if (!sign) return fail(['sign'], 'is missing: a vms profile says what the screen can show (sign.capabilities) and how it is driven (sign.modbus or sign.mqtt)');

  const problems = checkCapabilities(sign.capabilities);
  if (problems[0] !== undefined) fail(capabilityPath(sign.capabilities, problems[0]), problems[0]);

  const other = protocol === 'modbus' ? 'mqtt' : 'modbus';
  if (sign[other]) fail(['sign', other], `a ${protocol} sign has no ${other} wire; remove sign.${other} or set protocol: ${other}`);
  const resolved: SignProfile = { capabilities: structuredClone(sign.capabilities) };
  if (protocol === 'mqtt') {
    if (!sign.mqtt) fail(['sign', 'mqtt'], 'is missing: an mqtt sign needs its topicBase, e.g. vms/{device}');
    if (source.resources) fail(['resources'], 'an mqtt sign has no Modbus resources');
    resolved.mqtt = { topicBase: sign.mqtt!.topicBase };
    return resolved;
  }

  const wire = sign.modbus ?? fail(['sign', 'modbus'], 'is missing: a modbus sign needs its register map');
  const problem = checkModbusSignWire(wire);
  if (problem) fail(['sign', 'modbus', ...problem.path], problem.problem);
  const room = messageAreaBytes(wire);
  if (room < sign.capabilities.maxMultiLength) {
    fail(
      ['sign', 'modbus', 'messageArea', 'registers'],
      `${wire.messageArea.registers} registers hold ${room} bytes, less than capabilities.maxMultiLength ${sign.capabilities.maxMultiLength}`,
    );
  }
  resolved.modbus = structuredClone(wire);
  return resolved;
}
