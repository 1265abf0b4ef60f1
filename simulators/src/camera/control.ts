/**
 * HTTP control endpoint of a simulated camera (127.0.0.1, JSON), for tests and demos in another
 * process:
 *   GET    /state          urls, faults, RTSP clients and counters, sim time (never the password)
 *   GET    /truth          ground truth so far: crossings, scenario events, vehicles
 *   GET    /lines          counting lines and zones, normalised, with the frame size
 *   GET    /snapshot.jpg   the current frame (no authentication: this endpoint is for tests)
 *   POST   /faults         {"stall":true,"disconnect":true,"wrongCredentials":true,"malformedSoap":true} (any subset)
 *   DELETE /faults         clears stall, wrongCredentials and malformedSoap
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import { HttpError, RawReply, noRoute, readJsonBody, startControlHttp, type ControlServer } from '../control-http.js';
import type { CameraFaultRequest, CameraSimulator } from './simulator.js';

const FAULT_KEYS = ['stall', 'disconnect', 'wrongCredentials', 'malformedSoap'] as const;

/** Throws an HttpError 400 naming the field when the body is not a fault request. */
export function checkCameraFaults(body: unknown): CameraFaultRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `faults must be an object like {"stall":true}, got ${JSON.stringify(body)}`);
  for (const [k, v] of Object.entries(body)) {
    if (!(FAULT_KEYS as readonly string[]).includes(k)) throw new HttpError(400, `unknown fault '${k}' (known: ${FAULT_KEYS.join(', ')})`);
    if (typeof v !== 'boolean') throw new HttpError(400, `${k} must be true or false, got ${JSON.stringify(v)}`);
  }
  return body as CameraFaultRequest;
}

export function startCameraControlServer(sim: CameraSimulator, opts: { host?: string; port?: number; logger: Logger }): Promise<ControlServer> {
  const handle = async (req: http.IncomingMessage, url: URL): Promise<unknown> => {
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /state':
        return {
          id: sim.id,
          onvif: sim.onvifUrl,
          rtsp: sim.rtspUrl,
          snapshot: sim.snapshotUrl,
          discovery: sim.discovery ? { port: sim.discovery.port, endpoint: sim.discovery.endpoint, ...sim.discovery.stats() } : null,
          username: sim.credentials().username,
          faults: sim.faults(),
          size: { width: sim.scene.width, height: sim.scene.height },
          timeScale: sim.scene.timeScale,
          simS: sim.scene.simNowS(),
          rtspClients: sim.rtsp.clients(),
          rtspStats: sim.rtsp.stats(),
        };
      case 'GET /truth':
        return sim.truth();
      case 'GET /lines':
        return { width: sim.scene.width, height: sim.scene.height, lines: sim.lines(), zones: sim.zones() };
      case 'GET /snapshot.jpg':
        return new RawReply('image/jpeg', await sim.scene.snapshotJpeg());
      case 'POST /faults':
        sim.setFault(checkCameraFaults(await readJsonBody(req)));
        return { ok: true, faults: sim.faults() };
      case 'DELETE /faults':
        sim.setFault({ stall: false, wrongCredentials: false, malformedSoap: false });
        return { ok: true, faults: sim.faults() };
      default:
        throw noRoute(req, url, ['/state', '/truth', '/lines', '/snapshot.jpg', '/faults']);
    }
  };
  return startControlHttp(handle, opts);
}
