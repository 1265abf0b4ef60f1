/**
 * The agent's local status API for technicians at the box: on 127.0.0.1 by default (config
 * `localApi: { port, host? }`, default port 7878, 0 disables). `GET /status` is the agent's status
 * as JSON with the cloud link's last acknowledgement; `GET /` the same as a small HTML page that
 * refreshes itself (no external assets). Read-only, and never a credential: the status carries
 * none, and anything named like one is dropped again here before it leaves the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AgentStatus } from '../agent.js';
import type { EventBus, Extension } from '../events/bus.js';

export const DEFAULT_LOCAL_API_PORT = 7878;

/** What GET /status answers. */
export interface LocalStatus extends AgentStatus {
  link: AgentStatus['link'] & {
    /** Highest outbox seq the cloud acknowledged since the agent started, and when. */
    lastAck?: { upTo: number; at: number };
    /** When the link last changed state. */
    since?: number;
  };
  at: number;
}

export interface LocalStatusApiOptions {
  host?: string;
  port: number;
  status: () => AgentStatus;
  bus: EventBus;
  logger: Logger;
}

const SECRET_KEY = /pass(word)?|secret|token|credential|private.?key/i;

/** A deep copy without fields named like secrets, and URLs without user or password. */
export function withoutSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v)) as T;
  if (typeof value === 'string') return value.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1') as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (!SECRET_KEY.test(key)) out[key] = withoutSecrets(v);
  return out as T;
}

export class LocalStatusApi implements Extension {
  readonly name = 'local-status-api';
  private server: Server | undefined;
  private lastAck: { upTo: number; at: number } | undefined;
  private since: number | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly options: LocalStatusApiOptions) {}

  /** The port it listens on (the configured one, or the one the OS chose for 0 in tests). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    const { bus, logger } = this.options;
    this.unsubscribe.push(
      bus.on('link.synced', ({ upTo }) => void (this.lastAck = { upTo, at: Date.now() })),
      bus.on('link.state', () => void (this.since = Date.now())),
    );
    const host = this.options.host ?? '127.0.0.1';
    const server = createServer((req, res) => this.handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // A busy port costs the technician the page, never the gateway its work.
      logger.warn({ operation: 'start local status API', host, port: this.options.port, err: (err as Error).message }, 'local status API not available (set localApi.port in the config)');
      return;
    }
    this.server = server;
    logger.info({ operation: 'start local status API', url: `http://${host.includes(':') ? `[${host}]` : host}:${this.port}/` }, 'local status API listening');
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  status(): LocalStatus {
    const status = this.options.status();
    return withoutSecrets({
      ...status,
      link: { ...status.link, ...(this.lastAck ? { lastAck: this.lastAck } : {}), ...(this.since !== undefined ? { since: this.since } : {}) },
      at: Date.now(),
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const error = (code: number, name: string, message: string) => send(code, 'application/json', JSON.stringify({ error: { code: name, message } }));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return error(405, 'MethodNotAllowed', `${req.method} ${path}: the local status API is read-only (GET /status, GET /)`);
    }
    try {
      if (path === '/status') return send(200, 'application/json', JSON.stringify(this.status()));
      if (path === '/') return send(200, 'text/html; charset=utf-8', statusPage(this.status()));
      return error(404, 'NotFound', `no ${path} here (GET /status, GET /)`);
    } catch (err) {
      this.options.logger.error({ operation: `GET ${path}`, err: (err as Error).message }, 'local status API failed');
      return error(500, 'Internal', `GET ${path}: ${(err as Error).message}`);
    }
  }
}

const escape = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const ago = (ts: number | undefined, now: number): string => (ts === undefined ? '-' : `${Math.max(0, Math.round((now - ts) / 1000))} s ago`);

/** One row per device, whatever its kind. */
export function deviceRows(status: AgentStatus): { device: string; kind: string; profile: string; health: string; detail: string }[] {
  return [
    ...status.devices.map((d) => ({ device: d.device, kind: 'loop-detector', profile: d.profile, health: d.health, detail: d.lastError?.message ?? `${d.polls} polls, ${d.failures} failed${d.diagnostics.length ? `; ${d.diagnostics.map((x) => JSON.stringify(x)).join(', ')}` : ''}` })),
    ...status.screens.map((s) => ({ device: s.device, kind: 'vms', profile: s.profile, health: s.health, detail: s.lastError?.message ?? (s.showing ? `showing ${s.showing.source}, CRC 0x${s.showing.crc.toString(16)}` : 'nothing confirmed yet') })),
    ...status.cameras.map((c) => ({ device: c.device, kind: 'camera', profile: c.profile, health: c.health, detail: c.reason ?? c.lastError?.message ?? `${c.state}, ${c.analysedFps} fps analysed` })),
    ...status.skipped.map((s) => ({ device: s.device, kind: '-', profile: '-', health: 'skipped', detail: s.reason })),
  ];
}

function statusPage(status: LocalStatus): string {
  const { link, outbox } = status;
  const rows = deviceRows(status)
    .map((d) => `<tr class="${escape(d.health)}"><td>${escape(d.device)}</td><td>${escape(d.kind)}</td><td>${escape(d.profile)}</td><td>${escape(d.health)}</td><td>${escape(d.detail)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(status.gateway)} · Quanlink gateway</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#eee}
.ok td:nth-child(4),.up{color:#070;font-weight:bold}.error td:nth-child(4),.unreachable td:nth-child(4),.skipped td:nth-child(4),.down{color:#b00;font-weight:bold}
</style></head><body>
<h1>Gateway ${escape(status.gateway)}</h1>
<p>Agent ${escape(status.agentVersion)} · refreshed every 5 s · <a href="/status">JSON</a></p>
<h2>Cloud link</h2>
<table><tr><th>connected</th><th>last acknowledgement</th><th>outbox depth</th><th>reconnects</th><th>round trip</th></tr>
<tr><td class="${link.connected ? 'up' : 'down'}">${link.connected ? 'yes' : escape(link.refused ?? 'no')}</td><td>${link.lastAck ? `seq ${link.lastAck.upTo}, ${ago(link.lastAck.at, status.at)}` : '-'}</td>
<td>${outbox.depth}</td><td>${link.reconnects}</td><td>${link.ackRttMs === undefined ? '-' : `${Math.round(link.ackRttMs)} ms`}</td></tr></table>
<h2>Devices</h2>
<table><tr><th>device</th><th>kind</th><th>profile</th><th>health</th><th>detail</th></tr>${rows || '<tr><td colspan="5">no devices bound</td></tr>'}</table>
</body></html>
`;
}

/** The agent's local status API as its config asks (undefined when `localApi.port` is 0). */
export function localStatusApi(agent: { bus: EventBus; logger: Logger; config: { data: { localApi?: { port: number; host?: string } } }; status(): AgentStatus }): LocalStatusApi | undefined {
  const { port = DEFAULT_LOCAL_API_PORT, host } = agent.config.data.localApi ?? {};
  if (port === 0) return undefined;
  return new LocalStatusApi({ port, ...(host !== undefined ? { host } : {}), status: () => agent.status(), bus: agent.bus, logger: agent.logger.child({ part: 'local-api' }) });
}
