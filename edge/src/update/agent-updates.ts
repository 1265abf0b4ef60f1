/**
 * The agent's side of updates: answers update.apply (checks the signed envelope at once, then
 * downloads, verifies and installs in the background, reporting update.status events through the
 * outbox), writes the health file the supervisor watches, and reports the supervisor's outcomes
 * (healthy, rolled-back) to the cloud exactly once.
 */
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { checkCommandArgs, trustedKeySet, UPDATE_PRODUCT, UpdateVerifyError, type Command, type UpdateApplyArgs, type UpdateStatusData } from '@quanlink/contracts';
import type { ConfigFile } from '../config/index.js';
import type { EventBus, Extension } from '../events/bus.js';
import { CommandError, type CommandRouter } from '../link/command-router.js';
import type { Outbox } from '../outbox/index.js';
import { AGENT_VERSION, runningAgentVersion } from '../version.js';
import { checkEnvelope, installRelease, verifyBundle } from './bundle.js';
import { installRequestFile, readState, releasesDir, writeHealth, writeJsonAtomic } from './releases.js';
import { HEALTH_FILE_ENV } from './supervisor.js';

export const UPDATE_COMMANDS = ['update.apply'] as const;
export const DEFAULT_MAX_BUNDLE_BYTES = 200 * 1024 * 1024;
const REPORTED_STATE_KEY = 'update.reported';
const HEALTH_INTERVAL_MS = 1000;

/** What the updates need of the agent (EdgeAgent has all of it). */
export interface UpdatableAgent {
  readonly config: ConfigFile;
  readonly outbox: Outbox;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly router: CommandRouter;
  status(): { link: { connected: boolean } };
}

/** Trusted keys of the config (PEM text or a path relative to the config file); errors name the entry. */
export function configuredTrustedKeys(config: ConfigFile): Map<string, KeyObject> {
  const entries = config.data.updates?.trustedKeys ?? [];
  const pems = entries.map((entry, i) => {
    if (entry.includes('-----BEGIN')) return entry;
    try {
      return readFileSync(config.resolvePath(entry), 'utf8');
    } catch (err) {
      throw new UpdateVerifyError('BadTrustedKey', `updates.trustedKeys[${i}]: cannot read ${entry}: ${(err as Error).message}`);
    }
  });
  return trustedKeySet(pems);
}

/** Registers update.apply on the agent's router; the returned extension runs the health file and outcome reports. */
export function agentUpdates(agent: UpdatableAgent): Extension {
  return new AgentUpdates(agent);
}

class AgentUpdates implements Extension {
  readonly name = 'updates';
  private timer: NodeJS.Timeout | undefined;
  private installing: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly gatewayId: string;

  constructor(private readonly agent: UpdatableAgent) {
    this.logger = agent.logger.child({ component: 'updates' });
    this.gatewayId = agent.config.data.gateway.id;
    agent.router.register(UPDATE_COMMANDS, (command) => this.apply(command));
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), HEALTH_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.installing;
  }

  private async tick(): Promise<void> {
    const file = process.env[HEALTH_FILE_ENV];
    try {
      if (file) {
        const connected = this.agent.status().link.connected;
        await writeHealth(file, {
          pid: process.pid,
          version: runningAgentVersion(),
          healthy: connected,
          ...(connected ? {} : { detail: 'cloud link not connected' }),
          ts: Date.now(),
        });
      }
      await this.reportOutcomes();
    } catch (err) {
      this.logger.error({ gateway: this.gatewayId, err, operation: 'update health' }, 'could not write health or report update outcomes');
    }
  }

  /** The supervisor's outcomes not yet in the outbox go there, each once (the mark is in the same transaction). */
  private async reportOutcomes(): Promise<void> {
    const { outcomes } = await readState(this.agent.config.dataDir);
    let reported = this.agent.outbox.getState<string[]>(REPORTED_STATE_KEY) ?? [];
    for (const outcome of outcomes) {
      const key = `${outcome.updateId ?? 'local'}:${outcome.version}:${outcome.state}:${outcome.at}`;
      if (reported.includes(key)) continue;
      reported = [...reported, key].slice(-50);
      this.emit({ updateId: outcome.updateId ?? 'local', version: outcome.version, state: outcome.state, ...(outcome.reason ? { reason: outcome.reason } : {}) }, { [REPORTED_STATE_KEY]: reported });
    }
  }

  private emit(data: UpdateStatusData, state?: Record<string, unknown>): void {
    const stored = this.agent.outbox.append([{ ts: Date.now(), type: 'update.status', data }], state);
    if (stored.length > 0) this.agent.bus.emit('outbox.appended', { lastSeq: stored[stored.length - 1]!.seq });
  }

  /** update.apply: refuses at once what it can tell from the command (signature, key, version), then installs in the background. */
  private async apply(command: Command): Promise<Record<string, unknown>> {
    const checked = checkCommandArgs('update.apply', command.args);
    if (!checked.ok) throw new CommandError('InvalidCommand', checked.error.message, checked.error.path);
    const args = checked.value;
    if (this.installing) throw new CommandError('UpdateInProgress', `gateway ${this.gatewayId} is installing another update`);
    if (!process.env[HEALTH_FILE_ENV]) {
      throw new CommandError('NotSupervised', `gateway ${this.gatewayId} runs without \`quanlink-edge supervise\`: an update would be installed but never started`);
    }
    if (args.version !== args.manifest.version) throw new CommandError('InvalidCommand', `version ${args.version} is not the manifest's ${args.manifest.version}`, 'args.version');
    let trusted: Map<string, KeyObject>;
    try {
      trusted = configuredTrustedKeys(this.agent.config);
      if (trusted.size === 0) throw new UpdateVerifyError('UpdatesDisabled', `gateway ${this.gatewayId} trusts no update key (updates.trustedKeys in its config)`);
      checkEnvelope({ format: 1, keyId: args.keyId, signature: args.signature, manifest: args.manifest }, this.verifyOptions(trusted));
    } catch (err) {
      if (err instanceof UpdateVerifyError) {
        this.logger.error({ gateway: this.gatewayId, update: args.updateId, version: args.version, code: err.code, operation: 'update.apply' }, err.message);
        throw new CommandError(err.code, `update ${args.version} refused: ${err.message}`);
      }
      throw err;
    }
    this.installing = this.install(args, trusted).finally(() => {
      this.installing = undefined;
    });
    return { accepted: true, updateId: args.updateId, version: args.version };
  }

  private verifyOptions(trusted: Map<string, KeyObject>) {
    return { trusted, currentVersion: runningAgentVersion(), agentVersion: AGENT_VERSION, product: UPDATE_PRODUCT };
  }

  private async install(args: UpdateApplyArgs, trusted: Map<string, KeyObject>): Promise<void> {
    const base = { updateId: args.updateId, version: args.version };
    let operation = 'download';
    try {
      this.emit({ ...base, state: 'downloading' });
      const bundle = await downloadBundle(this.agent.config, args.url);
      operation = 'verify';
      this.emit({ ...base, state: 'verifying' });
      const verified = verifyBundle(bundle, { ...this.verifyOptions(trusted), expected: { manifest: args.manifest } });
      operation = 'install';
      const dir = await installRelease(releasesDir(this.agent.config.dataDir), verified);
      await writeJsonAtomic(installRequestFile(this.agent.config.dataDir), { version: args.version, updateId: args.updateId, at: Date.now() });
      this.emit({ ...base, state: 'installed' });
      this.logger.info({ gateway: this.gatewayId, update: args.updateId, version: args.version, dir, operation: 'update install' }, 'update installed; the supervisor switches to it');
    } catch (err) {
      const reason = `${operation}: ${(err as Error).message}`;
      this.logger.error({ gateway: this.gatewayId, update: args.updateId, version: args.version, operation: `update ${operation}`, err: (err as Error).message }, 'update failed');
      try {
        this.emit({ ...base, state: 'failed', reason: reason.slice(0, 2000) });
      } catch (emitErr) {
        this.logger.error({ gateway: this.gatewayId, err: emitErr, operation: 'update report' }, 'could not report the failed update');
      }
    }
  }

}

/**
 * GET a bundle as this gateway (HTTP Basic: gateway id and its MQTT password), within the size
 * limit, trusting the cloud's CA (cloud.caFile) for https. The password never goes over plain http
 * when the MQTT link itself is TLS. Agent and device firmware bundles alike.
 */
export async function downloadBundle(config: ConfigFile, url: string): Promise<Buffer> {
  const { cloud, gateway, updates } = config.data;
  const maxBytes = updates?.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  const target = new URL(url);
  if (target.protocol === 'http:' && cloud.url.startsWith('mqtts:') && cloud.password !== undefined) {
    throw new Error(`bundle URL ${url} is plain http while the cloud link is TLS: the gateway password is not sent in clear`);
  }
  const headers: Record<string, string> = {};
  if (cloud.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${cloud.username ?? gateway.id}:${cloud.password}`).toString('base64')}`;
  const ca = target.protocol === 'https:' && cloud.caFile !== undefined ? readFileSync(config.resolvePath(cloud.caFile)) : undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const request = (target.protocol === 'https:' ? httpsGet : httpGet)(target, { headers, ...(ca ? { ca } : {}), timeout: 60_000 }, (response) => {
      const chunks: Buffer[] = [];
      let total = 0;
      const declared = Number(response.headers['content-length'] ?? '0');
      if (response.statusCode !== 200 || declared > maxBytes) {
        response.resume();
        reject(new Error(declared > maxBytes ? `bundle is ${declared} bytes, more than the limit ${maxBytes}` : `GET ${url} answered ${response.statusCode ?? '?'}`));
        return;
      }
      response.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          response.destroy(new Error(`bundle exceeds the limit of ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.once('error', reject);
      response.once('end', () => resolve(Buffer.concat(chunks)));
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${url}: no data for 60 s`)));
    request.once('error', reject);
  });
}
