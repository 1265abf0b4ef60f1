/**
 * The ONVIF operations the simulated camera answers, by (namespace, local name) of the Body's
 * first element: Device (GetSystemDateAndTime, GetDeviceInformation, GetCapabilities,
 * GetServices), Media ver10 (GetProfiles, GetProfile, GetStreamUri, GetSnapshotUri) and PTZ
 * ver20 (ContinuousMove, Stop, GetStatus, GetPresets, SetPreset, GotoPreset, RemovePreset).
 *
 * Profiles: 'main' is the scene at its size, H.264; 'sub' is listed because NVRs and clients
 * expect a second profile, but it is the same stream (same URI, same size): the simulator
 * encodes one stream only, to spare the CPU.
 */
import { NS, SoapFault, faults } from './soap.js';
import { attr, escapeXml, path, text } from './xml.js';

export interface DeviceIdentity {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  hardwareId: string;
}

export interface MediaSettings {
  width: number;
  height: number;
  fps: number;
  gop: number;
  /** The RTSP URL without credentials; read at call time (the server may move). */
  streamUri: () => string;
  snapshotUri: () => string;
}

export interface ServiceAddresses {
  device: string;
  media: string;
  ptz: string;
}

export type Operation = (request: unknown) => string;

export const PROFILE_TOKENS = ['main', 'sub'] as const;
const MAX_PRESETS = 16;
/** PTZ units per second at velocity 1. */
const PTZ_SPEED = 0.5;

interface PtzPosition {
  pan: number;
  tilt: number;
  zoom: number;
}

/** Pan/tilt/zoom of the (imaginary) head: a position that moves at a velocity until Stop or a timeout. */
export class PtzState {
  private position: PtzPosition = { pan: 0, tilt: 0, zoom: 0 };
  private velocity: PtzPosition = { pan: 0, tilt: 0, zoom: 0 };
  private since = 0;
  private until = Infinity;
  readonly presets = new Map<string, { name: string; position: PtzPosition }>();
  private nextPreset = 1;

  constructor(private readonly now: () => number = Date.now) {}

  current(): PtzPosition & { moving: boolean } {
    this.settle();
    const moving = this.velocity.pan !== 0 || this.velocity.tilt !== 0 || this.velocity.zoom !== 0;
    return { ...this.position, moving };
  }

  move(velocity: PtzPosition, timeoutS: number | undefined): void {
    this.settle();
    this.velocity = velocity;
    this.since = this.now();
    this.until = timeoutS === undefined ? Infinity : this.since + timeoutS * 1000;
  }

  stop(panTilt: boolean, zoom: boolean): void {
    this.settle();
    if (panTilt) this.velocity = { ...this.velocity, pan: 0, tilt: 0 };
    if (zoom) this.velocity = { ...this.velocity, zoom: 0 };
  }

  goTo(position: PtzPosition): void {
    this.settle();
    this.velocity = { pan: 0, tilt: 0, zoom: 0 };
    this.position = { ...position };
  }

  setPreset(token: string | undefined, name: string | undefined): string {
    const use = token ?? `preset-${this.nextPreset++}`;
    if (!this.presets.has(use) && this.presets.size >= MAX_PRESETS) throw new SoapFault(500, 'Receiver', ['ter:Action', 'ter:TooManyPresets'], `at most ${MAX_PRESETS} presets`);
    this.presets.set(use, { name: name ?? this.presets.get(use)?.name ?? use, position: this.current() });
    return use;
  }

  /** Integrates the velocity up to now (or to the timeout). */
  private settle(): void {
    const now = this.now();
    const end = Math.min(now, this.until);
    const dt = Math.max(0, (end - this.since) / 1000) * PTZ_SPEED;
    const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
    this.position = {
      pan: clamp(this.position.pan + this.velocity.pan * dt, -1, 1),
      tilt: clamp(this.position.tilt + this.velocity.tilt * dt, -1, 1),
      zoom: clamp(this.position.zoom + this.velocity.zoom * dt, 0, 1),
    };
    this.since = now;
    if (now >= this.until) {
      this.velocity = { pan: 0, tilt: 0, zoom: 0 };
      this.until = Infinity;
    }
  }
}

/** 'PT1S', 'PT0.5S', 'PT1M30S' -> seconds; undefined when absent or not a duration. */
export function parseDuration(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)$/.exec(s.trim());
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const el = (name: string, value: string | number | boolean): string => `<${name}>${escapeXml(String(value))}</${name}>`;

export function buildOperations(identity: DeviceIdentity, media: MediaSettings, xaddrs: () => ServiceAddresses, ptz: PtzState, now: () => number = Date.now): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  const on = (ns: string, name: string, op: Operation): void => void ops.set(`${ns} ${name}`, op);

  const profileToken = (request: unknown): string => {
    const token = text(path(request, 'ProfileToken'));
    if (!token || !(PROFILE_TOKENS as readonly string[]).includes(token)) throw faults.invalidArg('ter:NoProfile', `no media profile '${token ?? ''}' (profiles: ${PROFILE_TOKENS.join(', ')})`);
    return token;
  };

  // --- Device -------------------------------------------------------------------------------
  on(NS.tds, 'GetSystemDateAndTime', () => {
    const d = new Date(now());
    const dateTime = `<tt:Time>${el('tt:Hour', d.getUTCHours())}${el('tt:Minute', d.getUTCMinutes())}${el('tt:Second', d.getUTCSeconds())}</tt:Time><tt:Date>${el('tt:Year', d.getUTCFullYear())}${el('tt:Month', d.getUTCMonth() + 1)}${el('tt:Day', d.getUTCDate())}</tt:Date>`;
    return `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>${el('tt:DateTimeType', 'NTP')}${el('tt:DaylightSavings', false)}<tt:TimeZone>${el('tt:TZ', 'UTC0')}</tt:TimeZone><tt:UTCDateTime>${dateTime}</tt:UTCDateTime><tt:LocalDateTime>${dateTime}</tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
  });
  on(NS.tds, 'GetDeviceInformation', () =>
    `<tds:GetDeviceInformationResponse>${el('tds:Manufacturer', identity.manufacturer)}${el('tds:Model', identity.model)}${el('tds:FirmwareVersion', identity.firmware)}${el('tds:SerialNumber', identity.serial)}${el('tds:HardwareId', identity.hardwareId)}</tds:GetDeviceInformationResponse>`,
  );
  on(NS.tds, 'GetCapabilities', (request) => {
    const category = text(path(request, 'Category')) || 'All';
    const x = xaddrs();
    const device = `<tt:Device>${el('tt:XAddr', x.device)}<tt:System>${el('tt:DiscoveryResolve', false)}${el('tt:DiscoveryBye', false)}${el('tt:RemoteDiscovery', false)}${el('tt:SystemBackup', false)}${el('tt:SystemLogging', false)}${el('tt:FirmwareUpgrade', false)}<tt:SupportedVersions>${el('tt:Major', 2)}${el('tt:Minor', 60)}</tt:SupportedVersions></tt:System></tt:Device>`;
    const mediaCaps = `<tt:Media>${el('tt:XAddr', x.media)}<tt:StreamingCapabilities>${el('tt:RTPMulticast', false)}${el('tt:RTP_TCP', true)}${el('tt:RTP_RTSP_TCP', true)}</tt:StreamingCapabilities></tt:Media>`;
    const ptzCaps = `<tt:PTZ>${el('tt:XAddr', x.ptz)}</tt:PTZ>`;
    const parts: Record<string, string> = { All: device + mediaCaps + ptzCaps, Device: device, Media: mediaCaps, PTZ: ptzCaps };
    const body = parts[category];
    if (body === undefined) throw new SoapFault(500, 'Receiver', ['ter:ActionNotSupported', 'ter:NoSuchService'], `capability category '${category}' is not offered (All, Device, Media, PTZ)`);
    return `<tds:GetCapabilitiesResponse><tds:Capabilities>${body}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
  });
  on(NS.tds, 'GetServices', () => {
    const x = xaddrs();
    const service = (ns: string, xaddr: string, major: number, minor: number): string => `<tds:Service>${el('tds:Namespace', ns)}${el('tds:XAddr', xaddr)}<tds:Version>${el('tt:Major', major)}${el('tt:Minor', minor)}</tds:Version></tds:Service>`;
    return `<tds:GetServicesResponse>${service(NS.tds, x.device, 2, 60)}${service(NS.trt, x.media, 2, 60)}${service(NS.tptz, x.ptz, 2, 60)}</tds:GetServicesResponse>`;
  });

  // --- Media --------------------------------------------------------------------------------
  const profileXml = (token: (typeof PROFILE_TOKENS)[number], tag: string): string => {
    const name = token === 'main' ? 'mainStream' : 'subStream (same stream as main)';
    const source = `<tt:VideoSourceConfiguration token="vsc-1">${el('tt:Name', 'video source')}${el('tt:UseCount', 2)}${el('tt:SourceToken', 'vs-1')}<tt:Bounds x="0" y="0" width="${media.width}" height="${media.height}"/></tt:VideoSourceConfiguration>`;
    const encoder = `<tt:VideoEncoderConfiguration token="vec-${token}">${el('tt:Name', `${token} encoder`)}${el('tt:UseCount', 1)}${el('tt:Encoding', 'H264')}<tt:Resolution>${el('tt:Width', media.width)}${el('tt:Height', media.height)}</tt:Resolution>${el('tt:Quality', 4)}<tt:RateControl>${el('tt:FrameRateLimit', media.fps)}${el('tt:EncodingInterval', 1)}${el('tt:BitrateLimit', 1024)}</tt:RateControl><tt:H264>${el('tt:GovLength', media.gop)}${el('tt:H264Profile', 'Baseline')}</tt:H264>${el('tt:SessionTimeout', 'PT60S')}</tt:VideoEncoderConfiguration>`;
    const ptzConfig = `<tt:PTZConfiguration token="ptz-1">${el('tt:Name', 'ptz')}${el('tt:UseCount', 2)}${el('tt:NodeToken', 'ptz-node-1')}<tt:PanTiltLimits><tt:Range>${el('tt:URI', 'http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace')}<tt:XRange>${el('tt:Min', -1)}${el('tt:Max', 1)}</tt:XRange><tt:YRange>${el('tt:Min', -1)}${el('tt:Max', 1)}</tt:YRange></tt:Range></tt:PanTiltLimits><tt:ZoomLimits><tt:Range>${el('tt:URI', 'http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace')}<tt:XRange>${el('tt:Min', 0)}${el('tt:Max', 1)}</tt:XRange></tt:Range></tt:ZoomLimits></tt:PTZConfiguration>`;
    return `<${tag} token="${token}" fixed="true">${el('tt:Name', name)}${source}${encoder}${ptzConfig}</${tag}>`;
  };
  on(NS.trt, 'GetProfiles', () => `<trt:GetProfilesResponse>${PROFILE_TOKENS.map((t) => profileXml(t, 'trt:Profiles')).join('')}</trt:GetProfilesResponse>`);
  on(NS.trt, 'GetProfile', (request) => `<trt:GetProfileResponse>${profileXml(profileToken(request) as (typeof PROFILE_TOKENS)[number], 'trt:Profile')}</trt:GetProfileResponse>`);
  on(NS.trt, 'GetStreamUri', (request) => {
    profileToken(request);
    const stream = text(path(request, 'StreamSetup', 'Stream')) ?? 'RTP-Unicast';
    const protocol = text(path(request, 'StreamSetup', 'Transport', 'Protocol')) ?? 'RTSP';
    if (stream !== 'RTP-Unicast') throw faults.invalidArg('ter:InvalidStreamSetup', `stream '${stream}' not offered: RTP-Unicast only`);
    if (!['UDP', 'TCP', 'RTSP'].includes(protocol)) throw faults.invalidArg('ter:InvalidStreamSetup', `transport '${protocol}' not offered: RTSP with RTP over UDP or interleaved TCP`);
    return `<trt:GetStreamUriResponse><trt:MediaUri>${el('tt:Uri', media.streamUri())}${el('tt:InvalidAfterConnect', false)}${el('tt:InvalidAfterReboot', false)}${el('tt:Timeout', 'PT0S')}</trt:MediaUri></trt:GetStreamUriResponse>`;
  });
  on(NS.trt, 'GetSnapshotUri', (request) => {
    profileToken(request);
    return `<trt:GetSnapshotUriResponse><trt:MediaUri>${el('tt:Uri', media.snapshotUri())}${el('tt:InvalidAfterConnect', false)}${el('tt:InvalidAfterReboot', false)}${el('tt:Timeout', 'PT0S')}</trt:MediaUri></trt:GetSnapshotUriResponse>`;
  });

  // --- PTZ ----------------------------------------------------------------------------------
  const number = (node: unknown, name: string, what: string): number => {
    const raw = attr(node, name);
    if (raw === undefined) return 0;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < -1 || value > 1) throw faults.invalidArg('ter:InvalidVelocity', `${what} ${name}=${raw} is not a number in -1..1`);
    return value;
  };
  on(NS.tptz, 'ContinuousMove', (request) => {
    profileToken(request);
    const velocity = path(request, 'Velocity');
    if (velocity === undefined) throw faults.invalidArg('ter:InvalidVelocity', 'ContinuousMove without Velocity');
    const panTilt = path(velocity, 'PanTilt');
    const zoom = path(velocity, 'Zoom');
    const rawTimeout = text(path(request, 'Timeout'));
    const timeout = parseDuration(rawTimeout);
    if (rawTimeout && timeout === undefined) throw faults.invalidArg('ter:InvalidTimeout', `Timeout '${rawTimeout}' is not an xs:duration like PT1S`);
    ptz.move({ pan: number(panTilt, 'x', 'PanTilt'), tilt: number(panTilt, 'y', 'PanTilt'), zoom: number(zoom, 'x', 'Zoom') }, timeout);
    return '<tptz:ContinuousMoveResponse/>';
  });
  on(NS.tptz, 'Stop', (request) => {
    profileToken(request);
    const flag = (name: string): boolean => (text(path(request, name)) ?? 'true') !== 'false';
    ptz.stop(flag('PanTilt'), flag('Zoom'));
    return '<tptz:StopResponse/>';
  });
  const positionXml = (p: PtzPosition): string => `<tt:PanTilt x="${p.pan.toFixed(4)}" y="${p.tilt.toFixed(4)}"/><tt:Zoom x="${p.zoom.toFixed(4)}"/>`;
  on(NS.tptz, 'GetStatus', (request) => {
    profileToken(request);
    const p = ptz.current();
    const state = p.moving ? 'MOVING' : 'IDLE';
    return `<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>${positionXml(p)}</tt:Position><tt:MoveStatus>${el('tt:PanTilt', state)}${el('tt:Zoom', state)}</tt:MoveStatus>${el('tt:UtcTime', new Date(now()).toISOString())}</tptz:PTZStatus></tptz:GetStatusResponse>`;
  });
  on(NS.tptz, 'GetPresets', (request) => {
    profileToken(request);
    const presets = [...ptz.presets].map(([token, p]) => `<tptz:Preset token="${escapeXml(token)}">${el('tt:Name', p.name)}<tt:PTZPosition>${positionXml(p.position)}</tt:PTZPosition></tptz:Preset>`);
    return `<tptz:GetPresetsResponse>${presets.join('')}</tptz:GetPresetsResponse>`;
  });
  on(NS.tptz, 'SetPreset', (request) => {
    profileToken(request);
    const token = text(path(request, 'PresetToken')) || undefined;
    const name = text(path(request, 'PresetName')) || undefined;
    if (token !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(token)) throw faults.invalidArg('ter:NoToken', `preset token '${token.slice(0, 64)}' is not 1-64 letters, digits, '_', '.', '-'`);
    if (name !== undefined && name.length > 64) throw faults.invalidArg('ter:InvalidPresetName', 'preset name longer than 64 characters');
    return `<tptz:SetPresetResponse>${el('tptz:PresetToken', ptz.setPreset(token, name))}</tptz:SetPresetResponse>`;
  });
  on(NS.tptz, 'GotoPreset', (request) => {
    profileToken(request);
    const token = text(path(request, 'PresetToken')) ?? '';
    const preset = ptz.presets.get(token);
    if (!preset) throw faults.invalidArg('ter:NoToken', `no preset '${token.slice(0, 64)}'`);
    ptz.goTo(preset.position);
    return '<tptz:GotoPresetResponse/>';
  });
  on(NS.tptz, 'RemovePreset', (request) => {
    profileToken(request);
    const token = text(path(request, 'PresetToken')) ?? '';
    if (!ptz.presets.delete(token)) throw faults.invalidArg('ter:NoToken', `no preset '${token.slice(0, 64)}'`);
    return '<tptz:RemovePresetResponse/>';
  });
  return ops;
}
