/**
 * The rollout engine: for each running rollout it keeps at most maxConcurrent gateways updating (and
 * starts at most perMinute a minute), sends update.apply to the next pending ones, counts a gateway
 * that does not report healthy within the health timeout as failed, and aborts the rollout (its
 * pending gateways are never sent the update) once failures reach the threshold. All its state is in
 * the store, so a restarted cloud picks running rollouts up where they were. Gateways' update.status
 * events move their records (in the ingest transaction); the engine looks again after each batch.
 */
import type { Logger } from 'pino';
import type { CommandResult } from '@quanlink/contracts';
import { GatewayOfflineError, type CommandClient } from '../commands/command-client.js';
import type { Ingest } from '../ingest/ingest.js';
import type { CloudStore } from '../store/types.js';
import { FAILED_STATES, IN_FLIGHT_STATES, type RolloutDetail, type UpdateRecord } from './types.js';

export const DEFAULT_TICK_MS = 1000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 10 * 60_000;
const MINUTE_MS = 60_000;

export interface RolloutEngineOptions {
  store: CloudStore;
  commands: Pick<CommandClient, 'send'>;
  ingest: Pick<Ingest, 'listen'>;
  logger: Logger;
  /** Where a gateway downloads an update's bundle. */
  bundleUrl: (updateId: string) => string;
  tickMs?: number | undefined;
  /** How long update.apply waits for the gateway's answer (it answers before downloading); default 30 s. */
  commandTimeoutMs?: number | undefined;
  now?: (() => number) | undefined;
}

export class RolloutEngine {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;
  private readonly unlisten: () => void;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Rollouts of updates that gateways are reporting on: a batch from one of their gateways prompts a look. */
  private readonly watched = new Set<string>();

  constructor(private readonly options: RolloutEngineOptions) {
    this.logger = options.logger.child({ component: 'rollouts' });
    this.now = options.now ?? Date.now;
    this.unlisten = options.ingest.listen({
      batchCommitted: (gatewayId) => {
        if (this.watched.has(gatewayId)) this.poke();
      },
    });
  }

  start(): void {
    this.timer = setInterval(() => this.poke(), this.options.tickMs ?? DEFAULT_TICK_MS);
    this.poke();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.unlisten();
    await this.running;
  }

  /** Looks at every running rollout soon (once more if a look is under way). */
  poke(): Promise<void> {
    if (this.closed) return this.running;
    if (this.again) return this.running;
    this.again = true;
    this.running = this.running.then(async () => {
      this.again = false;
      try {
        await this.tick();
      } catch (err) {
        this.logger.error({ err, operation: 'rollout tick' }, 'rollout step failed');
      }
    });
    return this.running;
  }

  private async tick(): Promise<void> {
    const rollouts = await this.options.store.updates.listRollouts({ state: 'running' });
    this.watched.clear();
    for (const summary of rollouts) {
      const rollout = await this.options.store.updates.getRollout(summary.id);
      if (!rollout || rollout.state !== 'running') continue;
      for (const target of rollout.targets) this.watched.add(target.gatewayId);
      await this.step(rollout);
    }
  }

  private async step(rollout: RolloutDetail): Promise<void> {
    const { store } = this.options;
    const now = this.now();
    // A gateway silent past the health timeout counts as failed.
    for (const target of rollout.targets) {
      if (!IN_FLIGHT_STATES.includes(target.state) || target.startedAt === null) continue;
      if (now - target.startedAt < rollout.healthTimeoutMs) continue;
      const reason = `no healthy report within ${Math.round(rollout.healthTimeoutMs / 1000)} s of update.apply (last state: ${target.state})`;
      if (await store.updates.updateTarget(rollout.id, target.gatewayId, [target.state], { state: 'failed', reason, at: now })) {
        target.state = 'failed';
        target.reason = reason;
        this.logger.error({ rollout: rollout.id, gateway: target.gatewayId, operation: 'rollout health' }, reason);
      }
    }

    const failed = rollout.targets.filter((t) => FAILED_STATES.includes(t.state));
    const abortReason = thresholdReached(rollout, failed.length);
    if (abortReason) {
      const detail = failed.map((t) => `${t.gatewayId}: ${t.reason ?? t.state}`).join('; ');
      await this.finish(rollout, 'aborted', `${abortReason} (${detail})`);
      return;
    }
    const pending = rollout.targets.filter((t) => t.state === 'pending');
    const inFlight = rollout.targets.filter((t) => IN_FLIGHT_STATES.includes(t.state)).length;
    if (pending.length === 0 && inFlight === 0) {
      const healthy = rollout.targets.filter((t) => t.state === 'healthy').length;
      await this.finish(rollout, 'completed', `${healthy} of ${rollout.targets.length} gateways healthy on ${rollout.version}, ${failed.length} failed`);
      return;
    }
    let slots = rollout.maxConcurrent - inFlight;
    if (rollout.perMinute !== null) {
      const startedLastMinute = rollout.targets.filter((t) => t.startedAt !== null && now - t.startedAt < MINUTE_MS && t.state !== 'pending').length;
      slots = Math.min(slots, rollout.perMinute - startedLastMinute);
    }
    if (slots <= 0 || pending.length === 0) return;
    const update = await store.updates.getUpdate(rollout.updateId);
    if (!update) {
      await this.finish(rollout, 'aborted', `update ${rollout.updateId} no longer exists`);
      return;
    }
    const online = new Set((await store.listGateways()).filter((g) => g.online).map((g) => g.id));
    // Online gateways first; an offline one waits for its turn when it is back.
    const next = pending.filter((t) => online.has(t.gatewayId)).slice(0, slots);
    for (const target of next) {
      if (!(await store.updates.updateTarget(rollout.id, target.gatewayId, ['pending'], { state: 'sent', reason: null, at: now, startedAt: now }))) continue;
      void this.send(rollout, update, target.gatewayId);
    }
  }

  /**
   * Sends device.firmware.apply for one device (POST /api/v1/gateways/{gw}/devices/{dev}/firmware):
   * the gateway answers at once (accepted, or refused with the reason) and reports firmware.status.
   */
  applyDeviceFirmware(gatewayId: string, deviceId: string, update: UpdateRecord): Promise<CommandResult> {
    const { envelope } = update;
    return this.options.commands.send(
      gatewayId,
      'device.firmware.apply',
      { device: deviceId, updateId: update.id, version: update.version, url: this.options.bundleUrl(update.id), manifest: envelope.manifest, keyId: envelope.keyId, signature: envelope.signature },
      { timeoutMs: this.options.commandTimeoutMs ?? 30_000 },
    );
  }

  /** Sends update.apply; a refusal fails the gateway's record, an offline gateway goes back to pending. */
  private async send(rollout: RolloutDetail, update: UpdateRecord, gatewayId: string): Promise<void> {
    const { store, commands } = this.options;
    const { envelope } = update;
    const log = { rollout: rollout.id, gateway: gatewayId, update: update.id, version: update.version, operation: 'update.apply' };
    try {
      const result = await commands.send(
        gatewayId,
        'update.apply',
        { updateId: update.id, version: update.version, url: this.options.bundleUrl(update.id), manifest: envelope.manifest, keyId: envelope.keyId, signature: envelope.signature },
        { timeoutMs: this.options.commandTimeoutMs ?? 30_000 },
      );
      if (result.status === 'error') {
        const reason = `refused: ${result.error.code}: ${result.error.message}`;
        await store.updates.updateTarget(rollout.id, gatewayId, ['sent'], { state: 'failed', reason, at: this.now() });
        this.logger.error(log, `gateway ${gatewayId} refused update ${update.version}: ${result.error.message}`);
      } else {
        this.logger.info(log, `gateway ${gatewayId} accepted update ${update.version}`);
      }
    } catch (err) {
      if (err instanceof GatewayOfflineError) {
        await store.updates.updateTarget(rollout.id, gatewayId, ['sent'], { state: 'pending', reason: `waiting: ${err.message}`, at: this.now(), startedAt: null });
        this.logger.warn(log, `gateway ${gatewayId} is offline; it stays pending`);
      } else {
        const reason = `update.apply failed: ${(err as Error).message}`;
        await store.updates.updateTarget(rollout.id, gatewayId, ['sent'], { state: 'failed', reason, at: this.now() });
        this.logger.error({ ...log, err: (err as Error).message }, reason);
      }
    }
    this.poke();
  }

  private async finish(rollout: RolloutDetail, state: 'completed' | 'aborted', reason: string): Promise<void> {
    if (!(await this.options.store.updates.finishRollout(rollout.id, state, reason, this.now()))) return;
    await this.options.store.dispatch.appendAudit({
      at: this.now(),
      actor: 'system:rollouts',
      action: `rollout.${state}`,
      subject: `rollout:${rollout.id}`,
      details: { updateId: rollout.updateId, version: rollout.version, reason },
    });
    if (state === 'aborted') this.logger.error({ rollout: rollout.id, version: rollout.version, operation: 'rollout' }, `rollout aborted: ${reason}`);
    else this.logger.info({ rollout: rollout.id, version: rollout.version, operation: 'rollout' }, `rollout completed: ${reason}`);
  }
}

/** Why the failures abort the rollout, or undefined. */
export function thresholdReached(rollout: Pick<RolloutDetail, 'abortAfterFailures' | 'abortAfterPercent' | 'targets'>, failures: number): string | undefined {
  if (failures === 0) return undefined;
  const total = rollout.targets.length;
  if (rollout.abortAfterFailures !== null && failures >= rollout.abortAfterFailures) {
    return `${failures} of ${total} gateways failed, reaching the abort threshold of ${rollout.abortAfterFailures}`;
  }
  if (rollout.abortAfterPercent !== null && (failures / total) * 100 >= rollout.abortAfterPercent) {
    return `${failures} of ${total} gateways failed (${Math.round((failures / total) * 1000) / 10}%), reaching the abort threshold of ${rollout.abortAfterPercent}%`;
  }
  return undefined;
}
