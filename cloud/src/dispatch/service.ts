/**
 * Wires dispatch into a running cloud: ingest's births, command results and committed batches go
 * to the dispatcher and to automatic guidance; a sweep (every second by default) expires ended
 * messages and lets guidance rules whose hold has ended clear.
 */
import type { CommandResult } from '@quanlink/contracts';
import type { Logger } from 'pino';
import type { CommandClient } from '../commands/command-client.js';
import type { Ingest } from '../ingest/ingest.js';
import type { CloudStore, GradeChange } from '../store/types.js';
import { GRADES } from '../traffic/grades.js';
import type { SignCatalogue } from './content.js';
import { Dispatcher } from './dispatcher.js';
import { GuidanceEngine } from './guidance.js';
import type { LiveHub } from './live.js';

export const DEFAULT_SWEEP_INTERVAL_MS = 1000;

export interface DispatchServiceOptions {
  store: CloudStore;
  ingest: Ingest;
  hub: LiveHub;
  catalogue: SignCatalogue;
  logger: Logger;
  now?: (() => number) | undefined;
  sweepIntervalMs?: number | undefined;
  /** When given, command results reach the dispatcher through it: only those it is not waiting for itself. */
  commands?: CommandClient | undefined;
}

export interface DispatchService {
  dispatcher: Dispatcher;
  guidance: GuidanceEngine;
  /** One sweep now (expiry, then guidance holds); what the timer runs. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

export function gradeEvent(change: GradeChange) {
  return {
    type: 'grade' as const,
    segmentId: change.segmentId,
    periodStart: change.periodStart,
    periodS: change.periodS,
    from: GRADES[change.fromGrade],
    to: GRADES[change.toGrade],
    speed: change.speed,
    at: change.at,
  };
}

export function startDispatch(options: DispatchServiceOptions): DispatchService {
  const { store, ingest, hub, catalogue, logger } = options;
  const dispatcher = new Dispatcher({
    store,
    catalogue,
    hub,
    logger,
    now: options.now,
    publish: (gatewayId, command) => ingest.publish(gatewayId, 'cmd', command),
  });
  const guidance = new GuidanceEngine({ store, dispatcher, catalogue, hub, logger });
  const failed = (operation: string, gatewayId?: string) => (err: unknown) =>
    logger.error({ gateway: gatewayId, operation, err }, 'dispatch failed');

  const applyResult = (gatewayId: string, result: CommandResult) =>
    void dispatcher.commandResult(gatewayId, result).catch(failed('apply command result', gatewayId));
  const unlistenResults = options.commands ? options.commands.onUnclaimedResult(applyResult) : ingest.listen({ commandResult: applyResult });
  const unlisten = ingest.listen({
    birth: (gatewayId) => void dispatcher.gatewayBorn(gatewayId).catch(failed('sign.sync on birth', gatewayId)),
    batchCommitted: (_gatewayId, result) => {
      dispatcher.batchCommitted(result);
      const changes = result.gradeChanges ?? [];
      for (const change of changes) hub.publish(gradeEvent(change));
      if (changes.length > 0) void guidance.segmentsChanged(changes.map((c) => c.segmentId)).catch(failed('guidance'));
    },
  });

  let sweeping: Promise<void> | undefined;
  const sweep = async () => {
    await dispatcher.sweepExpired();
    await guidance.tick();
  };
  const timer = setInterval(() => {
    if (sweeping) return; // a slow sweep is never stacked
    sweeping = sweep()
      .catch(failed('expiry sweep'))
      .finally(() => (sweeping = undefined));
  }, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    dispatcher,
    guidance,
    sweep,
    async close() {
      clearInterval(timer);
      unlisten();
      unlistenResults();
      await sweeping;
      await dispatcher.serial(async () => undefined);
    },
  };
}
