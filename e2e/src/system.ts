/**
 * A whole Quanlink chain for a test: the cloud and the edge as real processes (so they can crash),
 * loop-card simulators in the test's own process (so the test can read their ground truth).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFile, type DeviceBinding } from '@quanlink/edge';
import { freePort, startProcess, type ManagedProcess } from './processes.js';

export const CLOUD_CLI = 'cloud/src/cli.ts';
export const EDGE_CLI = 'edge/src/cli.ts';

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `quanlink-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface CloudProcessOptions {
  dataDir: string;
  adminToken?: string;
  /** Use an external broker instead of the embedded one. */
  mqttUrl?: string;
  httpPort?: number;
  mqttPort?: number;
  /** Append the process's output to this file. */
  logFile?: string;
}

/** The cloud as a process; restart() brings it back on the same ports and data after a crash. */
export class CloudProcess {
  process!: ManagedProcess;
  readonly adminToken: string;
  private httpPort = 0;
  private mqttPort = 0;

  constructor(readonly opts: CloudProcessOptions) {
    this.adminToken = opts.adminToken ?? 'e2e-admin-token-0123456789';
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get mqttUrl(): string {
    return this.opts.mqttUrl ?? `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  async start(): Promise<this> {
    this.httpPort ||= this.opts.httpPort ?? (await freePort());
    this.mqttPort ||= this.opts.mqttPort ?? (await freePort());
    const args = ['serve', '--data-dir', this.opts.dataDir, '--http-port', String(this.httpPort), '--admin-token', this.adminToken];
    if (this.opts.mqttUrl) args.push('--mqtt-url', this.opts.mqttUrl);
    else args.push('--mqtt-port', String(this.mqttPort));
    this.process = await startProcess('cloud', CLOUD_CLI, args, opts(this.opts.logFile));
    return this;
  }

  async restart(): Promise<void> {
    await this.process.crash();
    await this.start();
  }

  /** Signs a request as the bootstrap admin (every API route but health and login needs a token). */
  authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.adminToken}` };
  }

  async api<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(this.httpUrl + path, {
      ...init,
      headers: { 'content-type': 'application/json', ...this.authorization(), ...(init.headers ?? {}) },
    });
    const body = (await res.json()) as T;
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Registers a gateway and returns its one-time password. */
  async addGateway(id: string, name = `e2e ${id}`): Promise<string> {
    const created = await this.api<{ id: string; password: string }>('/api/v1/gateways', {
      method: 'POST',
      body: JSON.stringify({ id, name }),
    });
    return created.password;
  }

  async laneTotals(gateway: string, device: string): Promise<Record<string, number>> {
    const res = await fetch(`${this.httpUrl}/api/v1/gateways/${gateway}/devices/${device}/lane-totals`, { headers: this.authorization() });
    if (res.status === 404) return {};
    if (!res.ok) throw new Error(`lane totals ${gateway}/${device}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { lanes: Record<string, number> }).lanes;
  }

  async device(gateway: string, device: string): Promise<{ state?: string; lastError?: { code: string; message: string } } | undefined> {
    const res = await fetch(`${this.httpUrl}/api/v1/gateways/${gateway}/devices/${device}`, { headers: this.authorization() });
    if (res.status === 404) return undefined;
    return (await res.json()) as { state?: string };
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }
}

export interface EdgeProcessOptions {
  dir: string;
  gatewayId: string;
  cloudUrl: string;
  password?: string;
  devices: DeviceBinding[];
  batchSize?: number;
  ackTimeoutMs?: number;
  logFile?: string;
}

/** The edge agent as a process, from a config file written the way `quanlink-edge init` writes it. */
export class EdgeProcess {
  process!: ManagedProcess;
  readonly configFile: string;

  constructor(readonly opts: EdgeProcessOptions) {
    this.configFile = join(opts.dir, 'edge.json');
  }

  async writeConfig(): Promise<void> {
    await ConfigFile.create(this.configFile, {
      gateway: { id: this.opts.gatewayId },
      cloud: { url: this.opts.cloudUrl, ...(this.opts.password ? { password: this.opts.password } : {}) },
      dataDir: 'data',
      devices: this.opts.devices,
      link: { batchSize: this.opts.batchSize ?? 200, ackTimeoutMs: this.opts.ackTimeoutMs ?? 3000 },
      telemetryIntervalS: 5,
    });
  }

  async start(): Promise<this> {
    this.process = await startProcess(`edge ${this.opts.gatewayId}`, EDGE_CLI, ['run', '--config', this.configFile], {
      waitFor: 'none',
      ...opts(this.opts.logFile),
    });
    return this;
  }

  async restart(): Promise<void> {
    await this.process.crash();
    await this.start();
  }

  async stop(): Promise<number | null> {
    return this.process?.stop();
  }
}

function opts(logFile: string | undefined): { logFile?: string } {
  return logFile ? { logFile } : {};
}

/** A binding of the builtin 8-lane loop card profile to a card at `card` (a simulator's address). */
export function loopCardBinding(
  id: string,
  card: { port: number; host?: string; unitId?: number },
  pollIntervalMs = 100,
  traffic?: DeviceBinding['traffic'],
): DeviceBinding {
  return {
    id,
    profile: 'quanlink-lc8',
    transport: { kind: 'modbus-tcp', host: card.host ?? '127.0.0.1', port: card.port, unitId: card.unitId ?? 1, timeoutMs: 500 },
    pollIntervalMs,
    ...(traffic ? { traffic } : {}),
  };
}

/** A guidance screen's binding: a Modbus ramp sign (quanlink-vms-r1) or an MQTT gantry sign (quanlink-vms-g1) simulator. */
export function screenBinding(
  id: string,
  sim: { wire: 'modbus-tcp' | 'mqtt'; port?: number; unitId?: number; brokerUrl?: string; topicBase?: string },
  sign: DeviceBinding['sign'] = { readbackIntervalMs: 1000 },
): DeviceBinding {
  if (sim.wire === 'mqtt') {
    return {
      id,
      profile: 'quanlink-vms-g1',
      transport: { kind: 'mqtt', url: sim.brokerUrl!, ...(sim.topicBase ? { topicBase: sim.topicBase } : {}), timeoutMs: 1000 },
      ...(sign ? { sign } : {}),
    };
  }
  return {
    id,
    profile: 'quanlink-vms-r1',
    transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: sim.port!, unitId: sim.unitId ?? 1, timeoutMs: 1000 },
    ...(sign ? { sign } : {}),
  };
}
