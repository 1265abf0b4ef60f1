/**
 * A simulated IP camera: the road scene, served as H.264 over RTSP (../rtsp), as JPEG snapshots
 * over HTTP, described and controlled over ONVIF (SOAP 1.2, WS-UsernameToken digest), found by
 * WS-Discovery, with an HTTP control endpoint for ground truth and fault injection.
 *
 * One set of credentials protects ONVIF, the snapshot and RTSP. Faults:
 *   stall            RTSP connections stay open but no frames flow (until cleared)
 *   disconnect       every RTSP client is dropped now (one-shot; clients may reconnect)
 *   wrongCredentials the camera's password changes, so the configured credentials fail everywhere
 *   malformedSoap    every SOAP answer is broken XML
 */
import { pino, type Logger } from 'pino';
import type { ControlServer } from '../control-http.js';
import { startRtspServer, type RtspServer } from '../rtsp/index.js';
import { startCameraControlServer } from './control.js';
import { startDiscoveryResponder, WS_DISCOVERY_PORT, type DiscoveryResponder } from './onvif/discovery.js';
import { startOnvifServer, type OnvifServer } from './onvif/server.js';
import type { Credentials } from './onvif/ws-security.js';
import type { LaneDirection, SceneLine, SceneZone } from './road-geometry.js';
import type { SceneScenarioEvent, SceneScenarioName } from './scenario.js';
import { RoadScene, type SceneTruth } from './scene.js';

/** The fixed test credentials of a simulated camera unless others are given. */
export const DEFAULT_CAMERA_CREDENTIALS: Readonly<Credentials> = Object.freeze({ username: 'admin', password: 'quanlink-sim-1' });
export const CAMERA_MANUFACTURER = 'Quanlink Sim';
export const CAMERA_MODEL = 'QL-CAM-SIM-1';
export const CAMERA_FIRMWARE = '1.0.0';
export const RTSP_PATH = '/stream1';

export interface CameraFaults {
  stall: boolean;
  wrongCredentials: boolean;
  malformedSoap: boolean;
}

export interface CameraFaultRequest {
  stall?: boolean;
  /** One-shot: drops the RTSP clients when true. */
  disconnect?: boolean;
  wrongCredentials?: boolean;
  malformedSoap?: boolean;
}

export interface CameraSimulatorOptions {
  /** Device id; also the seed of the serial number and the WS-Discovery endpoint uuid. Default 'cam-1'. */
  id?: string;
  seed?: number;
  width?: number;
  height?: number;
  /** Frames per second of the RTSP stream; default 10. */
  fps?: number;
  /** Keyframe interval in frames; default 2 x fps. */
  gop?: number;
  timeScale?: number;
  scenario?: SceneScenarioName | SceneScenarioEvent[];
  imageryDir?: string;
  lanes?: LaneDirection[];
  lineY?: number | number[];
  flowVph?: number | number[];
  credentials?: Credentials;
  /** Address the ONVIF, RTSP and discovery sockets listen on; default 127.0.0.1. */
  host?: string;
  /** Host put in XAddrs and stream URIs when it differs from `host` (e.g. listening on 0.0.0.0). */
  advertisedHost?: string;
  /** 0 = any free port (default). */
  onvifPort?: number;
  rtspPort?: number;
  /** UDP port of the WS-Discovery responder; default 3702; null = no responder. */
  discoveryPort?: number | null;
  /** Join the WS-Discovery multicast group; default false. */
  multicast?: boolean;
  /** HTTP control endpoint on this port (0 = any); none when absent. */
  controlPort?: number;
  logger?: Logger;
  /** Wall clock for the scene (tests). */
  now?: () => number;
}

export interface CameraSimulator {
  readonly id: string;
  /** The device_service XAddr. */
  readonly onvifUrl: string;
  /** rtsp://host:port/stream1, without credentials. */
  readonly rtspUrl: string;
  readonly snapshotUrl: string;
  readonly controlUrl: string | undefined;
  readonly discovery: DiscoveryResponder | undefined;
  readonly scene: RoadScene;
  readonly rtsp: RtspServer;
  readonly onvif: OnvifServer;
  /** The credentials the camera accepts now (they change under the wrongCredentials fault). */
  credentials(): Credentials;
  truth(): SceneTruth;
  lines(): SceneLine[];
  zones(): SceneZone[];
  faults(): CameraFaults;
  setFault(f: CameraFaultRequest): void;
  close(): Promise<void>;
}

let sharedLogger: Logger | undefined;
function defaultLogger(): Logger {
  sharedLogger ??= pino({ name: 'camera', level: process.env['LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  return sharedLogger;
}

/** Starts every part, or closes what started and rethrows. */
export async function startCameraSimulator(opts: CameraSimulatorOptions = {}): Promise<CameraSimulator> {
  const id = opts.id ?? 'cam-1';
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) throw new RangeError(`camera simulator: id must be 1-64 letters, digits, '_', '.', '-', got ${JSON.stringify(id)}`);
  const logger = (opts.logger ?? defaultLogger()).child({ device: id });
  const fps = opts.fps ?? 10;
  const gop = opts.gop ?? Math.max(1, Math.round(fps * 2));
  const configured = opts.credentials ?? DEFAULT_CAMERA_CREDENTIALS;
  if (!configured.username || !configured.password) throw new RangeError(`camera simulator ${id}: credentials need a username and a password`);
  // One mutable object: the RTSP server reads it on every request, ONVIF and the snapshot through credentials().
  const live: Credentials = { username: configured.username, password: configured.password };
  const host = opts.host ?? '127.0.0.1';

  const scene = new RoadScene({
    seed: opts.seed ?? 1,
    width: opts.width ?? 640,
    height: opts.height ?? 360,
    timeScale: opts.timeScale ?? 1,
    ...(opts.scenario !== undefined && { scenario: opts.scenario }),
    ...(opts.imageryDir !== undefined && { imageryDir: opts.imageryDir }),
    ...(opts.lanes !== undefined && { lanes: opts.lanes }),
    ...(opts.lineY !== undefined && { lineY: opts.lineY }),
    ...(opts.flowVph !== undefined && { flowVph: opts.flowVph }),
    ...(opts.now !== undefined && { now: opts.now }),
  });
  await scene.ready();

  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ operation: 'close', err }, 'a camera part did not close cleanly'));
    closers.length = 0;
  };
  try {
    const rtsp = await startRtspServer({ source: scene, fps, gop, host, path: RTSP_PATH, credentials: live, logger, ...(opts.rtspPort !== undefined && { port: opts.rtspPort }) });
    closers.push(() => rtsp.close());
    const rtspUrl = withHost(rtsp.url, opts.advertisedHost);
    const onvif = await startOnvifServer({
      identity: { manufacturer: CAMERA_MANUFACTURER, model: CAMERA_MODEL, firmware: CAMERA_FIRMWARE, serial: `QLSIM-${id}`, hardwareId: 'ql-cam-sim-r1' },
      media: { width: scene.width, height: scene.height, fps, gop, streamUri: () => rtspUrl },
      credentials: () => live,
      snapshot: () => scene.snapshotJpeg(),
      host,
      ...(opts.onvifPort !== undefined && { port: opts.onvifPort }),
      ...(opts.advertisedHost !== undefined && { advertisedHost: opts.advertisedHost }),
      logger,
    });
    closers.push(() => onvif.close());
    const discoveryPort = opts.discoveryPort === undefined ? WS_DISCOVERY_PORT : opts.discoveryPort;
    let discovery: DiscoveryResponder | undefined;
    if (discoveryPort !== null) {
      discovery = await startDiscoveryResponder({
        id,
        xaddrs: () => [onvif.xaddrs.device],
        scopes: ['onvif://www.onvif.org/type/video_encoder', 'onvif://www.onvif.org/type/ptz', 'onvif://www.onvif.org/Profile/Streaming', `onvif://www.onvif.org/name/${CAMERA_MANUFACTURER.replace(/ /g, '_')}`, `onvif://www.onvif.org/hardware/${CAMERA_MODEL}`, `onvif://www.onvif.org/location/${id}`],
        host,
        port: discoveryPort,
        multicast: opts.multicast === true,
        logger,
      });
      closers.push(() => discovery!.close());
    }

    const faults: CameraFaults = { stall: false, wrongCredentials: false, malformedSoap: false };
    let control: ControlServer | undefined;
    let closed = false;
    const sim: CameraSimulator = {
      id,
      onvifUrl: onvif.xaddrs.device,
      rtspUrl,
      snapshotUrl: onvif.snapshotUrl,
      get controlUrl() {
        return control?.url;
      },
      discovery,
      scene,
      rtsp,
      onvif,
      credentials: () => ({ ...live }),
      truth: () => scene.truth(),
      lines: () => scene.lines(),
      zones: () => scene.zones(),
      faults: () => ({ ...faults }),
      setFault(f) {
        if (f.stall !== undefined) {
          faults.stall = f.stall;
          rtsp.stall(f.stall);
        }
        if (f.disconnect) rtsp.disconnectAll();
        if (f.wrongCredentials !== undefined) {
          faults.wrongCredentials = f.wrongCredentials;
          live.password = f.wrongCredentials ? `${configured.password}-changed` : configured.password;
        }
        if (f.malformedSoap !== undefined) {
          faults.malformedSoap = f.malformedSoap;
          onvif.malformed = f.malformedSoap;
        }
        logger.info({ operation: 'setFault', faults, disconnect: f.disconnect === true }, 'camera faults changed');
      },
      async close() {
        if (closed) return;
        closed = true;
        await closeAll();
      },
    };
    if (opts.controlPort !== undefined) {
      control = await startCameraControlServer(sim, { port: opts.controlPort, logger });
      closers.push(() => control!.close());
    }
    logger.info({ operation: 'start', onvif: sim.onvifUrl, rtsp: rtspUrl, snapshot: sim.snapshotUrl, discoveryPort: discovery?.port, control: control?.url }, 'camera simulator listening');
    return sim;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The URL with another host (for a server listening on 0.0.0.0). */
function withHost(url: string, host: string | undefined): string {
  if (host === undefined) return url;
  const u = new URL(url);
  u.hostname = host;
  return u.toString();
}

