/**
 * HTTP control endpoint of a simulated screen:
 *   GET    /state                     what is shown, the faults, the history length, the wire
 *   GET    /display.png[?page=N][&scale=S]   page N (1-based, default 1) of what is shown, S px per LED
 *   POST   /faults   {"reject":true,...}     set some faults (VmsFaults, partial)
 *   DELETE /faults                           clear every fault
 *   POST   /firmware/faults {"failAtCommit":true,"neverComeBack":false}   firmware update faults (profile with firmware)
 *   POST   /firmware/power-cycle             a sign that never came back answers again, on its old firmware
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import { HttpError, RawReply, noRoute, readJsonBody, startControlHttp, type ControlServer } from '../control-http.js';
import { checkFaults } from './screen.js';
import type { VmsSimulator } from './simulator.js';

function intParam(url: URL, name: string, min: number, max: number, fallback: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new HttpError(400, `${name} must be an integer ${min}..${max}, got '${raw}'`);
  return value;
}

export function startVmsControlServer(sim: VmsSimulator, opts: { host?: string; port?: number; logger: Logger }): Promise<ControlServer> {
  const state = () => ({
    id: sim.id,
    wire: sim.wire,
    ...(sim.port !== undefined && { port: sim.port, unitId: sim.unitId }),
    ...(sim.brokerUrl !== undefined && { brokerUrl: sim.brokerUrl, topicBase: sim.topicBase }),
    shown: sim.shown(),
    faults: sim.screen.faults(),
    status: sim.screen.status(),
    historyLength: sim.history().length,
    ...(sim.firmware && { firmware: { version: sim.firmware.version, state: sim.firmware.state, silent: sim.firmware.silent, blocksReceived: sim.firmware.blocksReceived } }),
  });
  const firmware = () => {
    if (!sim.firmware) throw new HttpError(404, `sign ${sim.id}: its profile declares no firmware method (or it is not on Modbus TCP)`);
    return sim.firmware;
  };
  const handle = async (req: http.IncomingMessage, url: URL): Promise<unknown> => {
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /state':
        return state();
      case 'GET /display.png': {
        const scale = intParam(url, 'scale', 1, 32, 1);
        const pages = await sim.renderPng({ scale });
        const page = intParam(url, 'page', 1, pages.length, 1);
        return new RawReply('image/png', pages[page - 1]!);
      }
      case 'POST /faults': {
        const faults = await readJsonBody(req);
        try {
          const { widthPx, heightPx } = sim.screen.capabilities;
          checkFaults(faults, widthPx * heightPx);
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
        sim.setFaults(faults);
        return { ok: true, faults: sim.screen.faults() };
      }
      case 'DELETE /faults':
        sim.clearFaults();
        return { ok: true, faults: sim.screen.faults() };
      case 'POST /firmware/faults': {
        const updater = firmware();
        const faults = await readJsonBody(req);
        const known = ['failAtCommit', 'neverComeBack'];
        if (faults === null || typeof faults !== 'object' || Array.isArray(faults)) throw new HttpError(400, 'firmware faults: send a JSON object, e.g. {"neverComeBack":true}');
        for (const [key, value] of Object.entries(faults)) {
          if (!known.includes(key)) throw new HttpError(400, `firmware faults: unknown field '${key}' (known: ${known.join(', ')})`);
          if (typeof value !== 'boolean') throw new HttpError(400, `firmware faults: ${key} must be true or false`);
        }
        updater.setFaults(faults);
        return { ok: true };
      }
      case 'POST /firmware/power-cycle':
        firmware().powerCycle();
        return { ok: true, firmware: state().firmware };
      default:
        throw noRoute(req, url, ['/state', '/display.png', '/faults', '/firmware/faults', '/firmware/power-cycle']);
    }
  };
  return startControlHttp(handle, opts);
}
