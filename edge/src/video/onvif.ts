/**
 * A small typed adapter over node-onvif 0.1.7 (old, untyped; every `any` stays in this file).
 * Discovery (WS-Discovery multicast through node-onvif, or a unicast probe to one host:port),
 * and a connected camera: device information, media profiles, stream URIs (always returned without
 * credentials) and JPEG snapshots. Failures are OnvifErrors that say what, where and which operation.
 */
import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import onvif from 'node-onvif';
import type { CameraInfo } from '@quanlink/contracts';
import { withoutCredentials } from './credentials.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- node-onvif has no types */
const lib: any = onvif;

export type OnvifErrorCode = 'NotAuthorized' | 'Unreachable' | 'Timeout' | 'BadSoap' | 'NotSupported' | 'Fault';

export class OnvifError extends Error {
  override readonly name = 'OnvifError';
  constructor(
    readonly code: OnvifErrorCode,
    /** The ONVIF operation, e.g. GetProfiles. */
    readonly operation: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DiscoveredCamera {
  /** WS-Discovery endpoint reference, e.g. urn:uuid:... */
  urn: string;
  name: string;
  hardware: string;
  /** Device service addresses, e.g. http://10.0.0.9/onvif/device_service. */
  xaddrs: string[];
}

export interface OnvifDeviceInfo {
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  hardwareId?: string;
}

export interface OnvifProfile {
  token: string;
  name?: string;
  encoding?: string;
  width?: number;
  height?: number;
  /** rtsp://host:port/path, without credentials. */
  streamUri?: string;
}

export interface OnvifConnectOptions {
  /** The device service, e.g. http://10.0.0.9:80/onvif/device_service. */
  xaddr: string;
  username?: string;
  password?: string;
  /** Per operation. Default 5000 ms. */
  timeoutMs?: number;
}

const PROBE_TYPES = ['dn:NetworkVideoTransmitter', 'tds:Device'];

/** The device service address of a camera at host:port. */
export function deviceServiceUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/onvif/device_service`;
}

/**
 * WS-Discovery: multicast (node-onvif's probe) unless `probe` names one host:port to ask directly
 * (a camera on another subnet, or a simulator's discovery port).
 */
export async function discover(opts: { timeoutMs?: number; probe?: { host: string; port: number } } = {}): Promise<DiscoveredCamera[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  if (opts.probe) return unicastProbe(opts.probe.host, opts.probe.port, timeoutMs);
  lib._DISCOVERY_WAIT = timeoutMs;
  let found: any[];
  try {
    found = await lib.startProbe();
  } catch (err) {
    throw new OnvifError('Unreachable', 'Probe', `ONVIF discovery failed (multicast 239.255.255.250:3702): ${(err as Error).message}`);
  }
  return found.map((d) => ({ urn: String(d.urn), name: String(d.name ?? ''), hardware: String(d.hardware ?? ''), xaddrs: (d.xaddrs as unknown[]).map(String) }));
}

async function unicastProbe(host: string, port: number, timeoutMs: number): Promise<DiscoveredCamera[]> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const found = new Map<string, DiscoveredCamera>();
  const messageId = `uuid:${randomUUID()}`;
  const probe =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
    '<s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>' +
    `<a:MessageID>${messageId}</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
    '<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>' +
    `<s:Body><d:Probe><d:Types>${PROBE_TYPES.join(' ')}</d:Types></d:Probe></s:Body></s:Envelope>`;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (buf) => {
        void parseProbeMatch(buf.toString('utf8')).then((match) => {
          if (match && !found.has(match.urn)) found.set(match.urn, match);
        });
      });
      socket.bind(0, () => {
        // UDP may drop a datagram: ask three times, as WS-Discovery suggests.
        let sent = 0;
        const send = () => {
          socket.send(probe, port, host, (err) => err && reject(err));
          if (++sent < 3) setTimeout(send, Math.min(200, timeoutMs / 4));
        };
        send();
        setTimeout(resolve, timeoutMs);
      });
    });
  } catch (err) {
    throw new OnvifError('Unreachable', 'Probe', `ONVIF discovery probe to ${host}:${port} failed: ${(err as Error).message}`);
  } finally {
    socket.close();
  }
  return [...found.values()];
}

async function parseProbeMatch(xml: string): Promise<DiscoveredCamera | undefined> {
  try {
    const parsed: any = await lib._OnvifSoap.parse(xml);
    const match: any = parsed?.Body?.ProbeMatches?.ProbeMatch;
    const one: any = Array.isArray(match) ? match[0] : match;
    const urn = text(one?.EndpointReference?.Address);
    const xaddrs = (text(one?.XAddrs) ?? '').split(/\s+/).filter((x) => x !== '');
    if (!urn || xaddrs.length === 0) return undefined;
    const scopes = (text(one?.Scopes) ?? '').split(/\s+/);
    const scope = (kind: string) => decodeURIComponent(scopes.find((s) => s.startsWith(`onvif://www.onvif.org/${kind}/`))?.split('/').pop() ?? '');
    return { urn, name: scope('name').replace(/_/g, ' '), hardware: scope('hardware'), xaddrs };
  } catch {
    return undefined; // not a probe match: ignored, as any stray datagram
  }
}

/** xml2js gives an element as a string, or as { _: text, $: attributes }. */
function text(value: any): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (value && typeof value === 'object' && typeof value._ === 'string') return value._.trim();
  return undefined;
}

function int(value: any): number | undefined {
  const n = Number.parseInt(text(value) ?? '', 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export class OnvifCamera {
  private constructor(
    private readonly device: any,
    private readonly xaddr: string,
    private readonly timeoutMs: number,
    private readonly deviceInfo: OnvifDeviceInfo,
    private readonly profileList: OnvifProfile[],
  ) {}

  /** Connects and reads what the camera is and which media profiles it offers, with each profile's RTSP URI. */
  static async connect(opts: OnvifConnectOptions): Promise<OnvifCamera> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const where = opts.xaddr;
    let device: any;
    try {
      device = new lib.OnvifDevice({ xaddr: opts.xaddr, user: opts.username ?? '', pass: opts.password ?? '' });
    } catch (err) {
      throw new OnvifError('Fault', 'Connect', `not an ONVIF device address: ${where} (${(err as Error).message})`);
    }
    const call = <T>(operation: string, run: () => Promise<T>) => guarded(where, operation, timeoutMs, run);
    // Clock offset for the WS-UsernameToken digest; devices that lack it are still usable.
    await call('GetSystemDateAndTime', () => device._getSystemDateAndTime()).catch(() => undefined);
    await call('GetCapabilities', () => device._getCapabilities());
    const info: any = await call('GetDeviceInformation', () => device.services.device.getDeviceInformation());
    const i: any = info?.data?.GetDeviceInformationResponse ?? {};
    const deviceInfo: OnvifDeviceInfo = {};
    for (const [key, field] of [
      ['manufacturer', 'Manufacturer'],
      ['model', 'Model'],
      ['firmware', 'FirmwareVersion'],
      ['serial', 'SerialNumber'],
      ['hardwareId', 'HardwareId'],
    ] as const) {
      const value = text(i[field]);
      if (value) deviceInfo[key] = value.slice(0, 200);
    }
    const media: any = device.services.media;
    if (!media) throw new OnvifError('NotSupported', 'GetCapabilities', `ONVIF device at ${where} offers no media service`);
    const answer: any = await call('GetProfiles', () => media.getProfiles());
    const raw: any = answer?.data?.GetProfilesResponse?.Profiles;
    const profiles: OnvifProfile[] = [];
    for (const p of raw === undefined ? [] : [].concat(raw)) {
      const token = text((p as any)?.$?.token);
      if (!token) continue;
      const encoder: any = (p as any).VideoEncoderConfiguration;
      const profile: OnvifProfile = { token };
      const name = text((p as any).Name);
      if (name) profile.name = name.slice(0, 200);
      const encoding = text(encoder?.Encoding);
      if (encoding) profile.encoding = encoding.slice(0, 32);
      const width = int(encoder?.Resolution?.Width);
      const height = int(encoder?.Resolution?.Height);
      if (width && height) Object.assign(profile, { width, height });
      profiles.push(profile);
      if (profiles.length === 32) break;
    }
    if (profiles.length === 0) throw new OnvifError('BadSoap', 'GetProfiles', `ONVIF answer has no media profile (GetProfiles) at ${where}`);
    const camera = new OnvifCamera(device, where, timeoutMs, deviceInfo, profiles);
    for (const profile of profiles) profile.streamUri = await camera.streamUri(profile.token);
    return camera;
  }

  info(): OnvifDeviceInfo {
    return { ...this.deviceInfo };
  }

  profiles(): OnvifProfile[] {
    return this.profileList.map((p) => ({ ...p }));
  }

  /** The RTSP URI of a profile (default the first), without credentials. */
  async streamUri(profileToken?: string): Promise<string> {
    const token = this.token(profileToken);
    const answer: any = await guarded(this.xaddr, 'GetStreamUri', this.timeoutMs, () => this.device.services.media.getStreamUri({ ProfileToken: token, Protocol: 'RTSP' }));
    const uri = text(answer?.data?.GetStreamUriResponse?.MediaUri?.Uri);
    if (!uri || !/^rtsps?:\/\//i.test(uri)) throw new OnvifError('BadSoap', 'GetStreamUri', `ONVIF answer has no RTSP URI for profile '${token}' (GetStreamUri) at ${this.xaddr}`);
    return withoutCredentials(uri);
  }

  /** A JPEG from the camera's snapshot URI (HTTP, with digest authentication when asked for). */
  async snapshot(profileToken?: string): Promise<Buffer> {
    const token = this.token(profileToken);
    const answer: any = await guarded(this.xaddr, 'GetSnapshotUri', this.timeoutMs, () => this.device.services.media.getSnapshotUri({ ProfileToken: token }));
    const uri = text(answer?.data?.GetSnapshotUriResponse?.MediaUri?.Uri);
    if (!uri) throw new OnvifError('BadSoap', 'GetSnapshotUri', `ONVIF answer has no snapshot URI for profile '${token}' at ${this.xaddr}`);
    // fetchSnapshot reads the URI from the current profile.
    this.device.current_profile = { token, snapshot: uri };
    const res: any = await guarded(this.xaddr, 'snapshot', this.timeoutMs, () => this.device.fetchSnapshot());
    const body: unknown = res?.body;
    if (!Buffer.isBuffer(body) || body.length < 4 || body[0] !== 0xff || body[1] !== 0xd8) {
      throw new OnvifError('BadSoap', 'snapshot', `snapshot from ${withoutCredentials(uri)} is not a JPEG`);
    }
    return body;
  }

  /** What goes into the birth: make, model, firmware, profiles with their stream URIs, never credentials. */
  cameraInfo(activeProfile?: string): CameraInfo {
    const { manufacturer, model, firmware, serial } = this.deviceInfo;
    return {
      ...(manufacturer ? { manufacturer } : {}),
      ...(model ? { model } : {}),
      ...(firmware ? { firmware } : {}),
      ...(serial ? { serial } : {}),
      profiles: this.profiles(),
      ...(activeProfile ? { activeProfile } : {}),
    };
  }

  private token(profileToken?: string): string {
    if (profileToken === undefined) return this.profileList[0]!.token;
    if (!this.profileList.some((p) => p.token === profileToken)) {
      throw new OnvifError('Fault', 'GetStreamUri', `no media profile '${profileToken}' on ${this.xaddr} (it has: ${this.profileList.map((p) => p.token).join(', ')})`);
    }
    return profileToken;
  }
}

/** Runs one node-onvif call with a deadline and turns its failure into an OnvifError. */
async function guarded<T>(xaddr: string, operation: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OnvifError('Timeout', operation, `camera timed out: no ONVIF answer from ${xaddr} within ${timeoutMs} ms (${operation})`)), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(run), deadline]);
  } catch (err) {
    throw err instanceof OnvifError ? err : classifyOnvifFailure(xaddr, operation, err);
  } finally {
    clearTimeout(timer);
  }
}

/** node-onvif reports everything as an Error with a message; this names the cause. */
export function classifyOnvifFailure(xaddr: string, operation: string, err: unknown): OnvifError {
  const raw = String((err as Error)?.message ?? err).replace(/^Failed to initialize the device: /, '').replace(/^Error: /, '');
  if (/not ?authori[sz]ed|401|403 Forbidden|authority failure/i.test(raw)) {
    return new OnvifError('NotAuthorized', operation, `ONVIF NotAuthorized at ${xaddr} (${operation}): check the username and password`);
  }
  const network = /^Network Error: (.*)$/s.exec(raw);
  if (network) {
    const cause = network[1]!.trim();
    if (/socket hang up|ETIMEDOUT|timeout/i.test(cause)) return new OnvifError('Timeout', operation, `camera timed out: ${cause || 'no answer'} at ${xaddr} (${operation})`);
    return new OnvifError('Unreachable', operation, `camera unreachable: ${cause} (${xaddr}, ${operation})`);
  }
  if (/seems to not support/i.test(raw)) return new OnvifError('BadSoap', operation, `ONVIF answer is not valid SOAP (${operation}): no ${operation}Response in the body from ${xaddr}`);
  if (/Line: \d+|Unexpected|Unclosed|Non-whitespace|Invalid character|Text data outside|Unmatched|Attribute without value|Invalid attribute|Unencoded/i.test(raw)) {
    return new OnvifError('BadSoap', operation, `ONVIF answer is not valid SOAP (${operation}): ${raw.replace(/\s+/g, ' ').slice(0, 300)} (${xaddr})`);
  }
  if (/TypeError|Cannot read/i.test(raw)) return new OnvifError('BadSoap', operation, `ONVIF answer is not valid SOAP (${operation}): missing fields (${xaddr})`);
  return new OnvifError('Fault', operation, `ONVIF ${operation} failed at ${xaddr}: ${raw.slice(0, 300)}`);
}
