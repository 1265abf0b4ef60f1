/**
 * Cameras in end-to-end tests: the binding of a simulated camera, what the cloud says about it, and
 * how counted crossings compare with the simulator's ground truth.
 */
import { FASTESTDET_SHA256, type DeviceBinding } from '@quanlink/edge';
import { FASTESTDET_MODEL_PATH, RoadGeometry, type CameraSimulator, type LaneDirection, type ScoredCrossing } from '@quanlink/simulators';

export interface CameraBindingOptions {
  id?: string;
  /** Default: the simulator's credentials now. */
  username?: string;
  password?: string;
  /** Zones in the analytics config (normalised points), e.g. from zoneOver(...). */
  zones?: object[];
  fps?: number;
  stallTimeoutMs?: number;
  periodS?: number;
}

/**
 * An ONVIF binding of a simulated camera (the edge asks it for its stream URI): FastestDet from the
 * shared models folder, one counting line per lane from the simulator's lines.
 */
export function cameraBinding(sim: CameraSimulator, opts: CameraBindingOptions = {}): DeviceBinding {
  const url = new URL(sim.onvifUrl);
  const credentials = sim.credentials();
  return {
    id: opts.id ?? 'cam-1',
    profile: 'onvif-camera',
    transport: {
      kind: 'onvif',
      host: url.hostname,
      port: Number(url.port),
      username: opts.username ?? credentials.username,
      password: opts.password ?? credentials.password,
      timeoutMs: 3000,
    },
    video: {
      fps: opts.fps ?? 10,
      model: { path: FASTESTDET_MODEL_PATH, decoder: 'fastestdet', sha256: FASTESTDET_SHA256 },
      analytics: { lines: sim.lines().map((l) => ({ id: l.id, lane: l.lane, from: l.from, to: l.to })), zones: opts.zones ?? [], periodS: opts.periodS ?? 10 },
      stallTimeoutMs: opts.stallTimeoutMs ?? 3000,
    },
  };
}

/** What /api/v1/cameras says about a camera (the fields the tests read). */
export interface CloudCamera {
  deviceId: string;
  camera: { manufacturer?: string; model?: string; firmware?: string; profiles: { token: string; streamUri?: string }[] } | null;
  pipeline: { state: string; reason: string | null } | null;
}

/** A video event as /api/v1/video-events gives it. */
export interface CloudVideoEvent {
  id: number;
  deviceId: string;
  ts: number;
  type: string;
  data: { line?: string; lane?: number; direction?: 'forward' | 'reverse'; alert?: string; state?: string; where?: string; detail?: string; kind?: string };
  snapshotId: string | null;
  thumbnailUrl: string | null;
  snapshotUrl: string | null;
}


/** The polygon of lane `lane` between normalised y0 and y1 of the simulator's road. */
export function laneBand(sim: CameraSimulator, lane: number, y0: number, y1: number): { x: number; y: number }[] {
  const directions = sim.lines().map((l) => (l.forward.y > 0 ? 'towards' : 'away') as LaneDirection);
  return new RoadGeometry(sim.scene.width, sim.scene.height, directions).laneBand(lane, y0, y1);
}

/**
 * The stream's latency: the median time from a true crossing to the nearest counted one of the same
 * lane and direction (within ±maxMs). Frames are stamped when they reach the edge, so encoding,
 * RTSP and decoding delay every count by about the same; scoring subtracts it, so a steady delay is
 * not taken for a wrong count. 0 when nothing pairs.
 */
export function estimateLagMs(counted: readonly ScoredCrossing[], truth: readonly ScoredCrossing[], maxMs = 5000): number {
  const lags: number[] = [];
  for (const t of truth) {
    let best: number | undefined;
    for (const c of counted) {
      const d = c.at - t.at;
      if (c.lane === t.lane && c.direction === t.direction && Math.abs(d) <= maxMs && (best === undefined || Math.abs(d) < Math.abs(best))) best = d;
    }
    if (best !== undefined) lags.push(best);
  }
  lags.sort((a, b) => a - b);
  return lags.length === 0 ? 0 : lags[Math.floor(lags.length / 2)]!;
}
