/**
 * The dispatcher: turns messages into per-screen dispatches and commands, and keeps the dispatch
 * records true to what gateways report. One sign.display per gateway carries all of that gateway's
 * screens; an offline gateway's dispatches wait 'queued' and go out in the sign.sync sent at its
 * next birth (which also carries cancels and expiries it missed). Work is serialized, so a result
 * or a birth never races a message being created.
 */
import { randomBytes } from 'node:crypto';
import {
  CONTRACT_VERSION,
  SignAcceptResult,
  firstError,
  type Command,
  type CommandResult,
  type SignCommandName,
  type SignDisplayArgs,
  type SignMessage,
} from '@quanlink/contracts';
import type { Logger } from 'pino';
import type { CloudStore, IngestResult } from '../store/types.js';
import { validateForScreens, type ContentInput, type ContentProblem, type SignCatalogue } from './content.js';
import { isTerminal } from './lifecycle.js';
import type { LiveHub } from './live.js';
import { listScreens, resolveTargets, screenKey, type Screen } from './screens.js';
import {
  UnknownMessageError,
  type AuditEntry,
  type DispatchChange,
  type DispatchRecord,
  type MessageRecord,
  type MessageTargets,
  type TransitionRequest,
} from './types.js';

export const DEFAULT_OPERATOR_PRIORITY = 100;
/** Actor of moves the dispatcher makes on its own (commands published, results applied). */
export const CLOUD_ACTOR = 'cloud';
export const EXPIRY_ACTOR = 'cloud:expiry';

export const newId = (prefix: string): string => `${prefix}${Date.now().toString(36)}${randomBytes(6).toString('base64url')}`;

export interface NewMessageRequest extends ContentInput {
  targets: MessageTargets;
  priority?: number | undefined;
  startAt?: number | undefined;
  endAt?: number | undefined;
  note?: string | undefined;
}

/** The request is wrong (400): content problems or targets that name no screen. */
export class MessageRequestError extends Error {
  override readonly name = 'MessageRequestError';
  constructor(
    message: string,
    readonly problems: ContentProblem[] = [],
  ) {
    super(message);
  }
}

export function contentError(problems: ContentProblem[]): MessageRequestError {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new MessageRequestError(`content does not fit: ${problems[0]?.message ?? 'no sign profile to check it against'}${more}`, problems);
}

/** The request conflicts with the message's state (409). */
export class MessageStateError extends Error {
  override readonly name = 'MessageStateError';
}

export interface DispatcherOptions {
  store: CloudStore;
  catalogue: SignCatalogue;
  /** Publishes a command on a gateway's cmd topic. */
  publish: (gatewayId: string, command: Command) => Promise<void>;
  hub: LiveHub;
  logger: Logger;
  /** The clock (epoch ms); injectable for tests. */
  now?: () => number;
}

export interface MessageOrigin {
  actor: string;
  source: MessageRecord['source'];
  ruleId?: string | undefined;
}

export class Dispatcher {
  private readonly store: CloudStore;
  private readonly logger: Logger;
  readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pendingResults: { gatewayId: string; result: CommandResult }[] = [];
  private resultsDrain: Promise<void> | undefined;

  constructor(private readonly options: DispatcherOptions) {
    this.store = options.store;
    this.logger = options.logger.child({ component: 'dispatch' });
    this.now = options.now ?? Date.now;
  }

  /** Runs `work` after every earlier piece of dispatcher work. */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- pushing --------------------------------------------------------------------------

  pushChanges(changes: readonly DispatchChange[]): void {
    for (const change of changes) this.options.hub.publish({ type: 'dispatch', dispatch: change.dispatch });
  }

  pushScreen(screen: object): void {
    this.options.hub.publish({ type: 'screen', screen: { ...screen } });
  }

  pushAudit(entry: AuditEntry | undefined): void {
    if (entry) this.options.hub.publish({ type: 'audit', entry });
  }

  // ---- messages -------------------------------------------------------------------------

  /** Validates, stores and sends a message. Throws MessageRequestError. */
  createMessage(request: NewMessageRequest, origin: MessageOrigin): Promise<{ message: MessageRecord; dispatches: DispatchRecord[] }> {
    return this.serial(async () => {
      const now = this.now();
      const priority = request.priority ?? DEFAULT_OPERATOR_PRIORITY;
      if (!Number.isInteger(priority) || priority < 1 || priority > 255) {
        throw new MessageRequestError(`priority ${priority} must be an integer 1-255 (NTCIP 1203 run-time priority)`);
      }
      const startAt = request.startAt ?? now;
      if (request.endAt !== undefined && request.endAt <= startAt) {
        throw new MessageRequestError(
          `endAt ${new Date(request.endAt).toISOString()} must be after startAt ${new Date(startAt).toISOString()}`,
        );
      }
      if (request.endAt !== undefined && request.endAt <= now) {
        throw new MessageRequestError(`endAt ${new Date(request.endAt).toISOString()} is already past`);
      }
      if ((request.multi === undefined) === (request.form === undefined)) {
        throw new MessageRequestError('give the content as exactly one of multi or form');
      }
      const screens = await this.resolve(request.targets);
      const content = validateForScreens(request, screens, this.options.catalogue);
      if (!content.ok) throw contentError(content.problems);

      const id = newId('m');
      const created = await this.store.dispatch.createMessage(
        {
          id,
          multi: content.multi,
          crc: content.crc,
          form: request.form ?? null,
          priority,
          startAt,
          endAt: request.endAt ?? null,
          createdAt: now,
          source: origin.source,
          targets: request.targets,
          note: request.note ?? null,
          createdBy: origin.actor,
          ruleId: origin.ruleId ?? null,
        },
        screens.map((screen) => ({ id: newId('d'), gatewayId: screen.gatewayId, deviceId: screen.deviceId })),
        {
          at: now,
          actor: origin.actor,
          action: 'message.create',
          subject: `message:${id}`,
          details: { targets: request.targets, screens: screens.map((s) => s.key), priority, multi: content.multi, crc: content.crc },
        },
      );
      this.options.hub.publish({ type: 'message', message: created.message });
      this.pushAudit(created.audit);
      for (const dispatch of created.dispatches) this.options.hub.publish({ type: 'dispatch', dispatch });
      const sent = await this.sendDisplay(created.message, created.dispatches);
      this.logger.info(
        { message: id, screens: screens.length, sent: sent.length, actor: origin.actor, operation: 'create message' },
        'message created',
      );
      return { message: created.message, dispatches: await this.store.dispatch.listDispatches({ messageId: id, limit: 10_000 }) };
    });
  }

  /** The screens the targets name; throws MessageRequestError naming the targets that name none. */
  async resolve(targets: MessageTargets): Promise<Screen[]> {
    try {
      return resolveTargets(targets, await listScreens(this.store));
    } catch (err) {
      if (err instanceof Error && err.name === 'TargetError') throw new MessageRequestError(err.message);
      throw err;
    }
  }

  cancelMessage(id: string, actor: string): Promise<{ message: MessageRecord; dispatches: DispatchRecord[] }> {
    return this.serial(async () => {
      const existing = await this.store.dispatch.getMessage(id);
      if (!existing) throw new UnknownMessageError(id);
      if (existing.cancelledAt !== null) throw new MessageStateError(`message '${id}' was already cancelled by ${existing.cancelledBy}`);
      const now = this.now();
      const dispatches = await this.store.dispatch.listDispatches({ messageId: id, limit: 10_000 });
      const result = await this.store.dispatch.cancelMessage(id, {
        at: now,
        actor,
        action: 'message.cancel',
        subject: `message:${id}`,
        details: { screens: screensOf(dispatches) },
      });
      this.options.hub.publish({ type: 'message', message: result.message });
      this.pushChanges(result.changes);
      this.pushAudit(result.audit);
      // Offline gateways get the corrected set in the sign.sync of their next birth.
      for (const [gatewayId, ofGateway] of byGateway(dispatches)) {
        if (!(await this.isOnline(gatewayId))) continue;
        const command = this.command('sign.cancel', { messageId: id, screens: ofGateway.map((d) => d.deviceId) });
        this.publish(gatewayId, command, id);
      }
      this.logger.info({ message: id, actor, cancelled: result.changes.length, operation: 'cancel message' }, 'message cancelled');
      return { message: result.message, dispatches: await this.store.dispatch.listDispatches({ messageId: id, limit: 10_000 }) };
    });
  }

  /** Sends again the dispatches that are failed, queued or sent (a failed one is reopened). */
  resendMessage(id: string, actor: string): Promise<{ message: MessageRecord; dispatches: DispatchRecord[] }> {
    return this.serial(async () => {
      const message = await this.store.dispatch.getMessage(id);
      if (!message) throw new UnknownMessageError(id);
      const now = this.now();
      if (message.cancelledAt !== null) throw new MessageStateError(`message '${id}' is cancelled; create a new message instead`);
      if (message.endAt !== null && message.endAt <= now) throw new MessageStateError(`message '${id}' ended at ${new Date(message.endAt).toISOString()}`);
      const dispatches = await this.store.dispatch.listDispatches({ messageId: id, limit: 10_000 });
      const again = dispatches.filter((d) => d.state === 'failed' || d.state === 'expired' || d.state === 'queued' || d.state === 'sent');
      const reopen: TransitionRequest[] = again
        .filter((d) => d.state === 'failed' || d.state === 'expired')
        .map((d) => ({ dispatchId: d.id, to: 'queued', actor, at: now, reopen: true, reason: 'resend' }));
      const { changes, audit } = await this.store.dispatch.transition(reopen, {
        at: now,
        actor,
        action: 'message.resend',
        subject: `message:${id}`,
        details: { dispatches: again.map((d) => d.id) },
      });
      this.pushChanges(changes);
      this.pushAudit(audit);
      const reopened = await Promise.all(again.map(async (d) => (await this.store.dispatch.getDispatch(d.id))!));
      await this.sendDisplay(message, reopened);
      return { message, dispatches: await this.store.dispatch.listDispatches({ messageId: id, limit: 10_000 }) };
    });
  }

  /**
   * Per gateway, one sign.display carrying its screens; those dispatches move to 'sent'. An offline
   * gateway's dispatches stay 'queued'. Returns the dispatches sent.
   */
  private async sendDisplay(message: MessageRecord, dispatches: readonly DispatchRecord[]): Promise<DispatchRecord[]> {
    const sent: DispatchRecord[] = [];
    const outgoing: { gatewayId: string; command: Command }[] = [];
    const moves: TransitionRequest[] = [];
    for (const [gatewayId, ofGateway] of byGateway(dispatches)) {
      if (!(await this.isOnline(gatewayId))) {
        this.logger.info({ gateway: gatewayId, message: message.id, screens: ofGateway.length }, 'gateway offline; dispatches queued');
        continue;
      }
      const args: SignDisplayArgs = {
        message: signMessage(message),
        targets: ofGateway.map((d) => ({ screen: d.deviceId, dispatchId: d.id })),
      };
      const command = this.command('sign.display', args, message.endAt ?? undefined);
      moves.push(...ofGateway.map((d) => ({ dispatchId: d.id, to: 'sent' as const, actor: CLOUD_ACTOR, at: command.issuedAt, tx: command.tx })));
      outgoing.push({ gatewayId, command });
      sent.push(...ofGateway);
    }
    // One commit for every gateway's 'sent', then the commands: a result can only find its dispatches once they are stored.
    const { changes } = await this.store.dispatch.transition(moves);
    this.pushChanges(changes);
    for (const { gatewayId, command } of outgoing) this.publish(gatewayId, command, message.id);
    return sent;
  }

  // ---- gateway side ---------------------------------------------------------------------

  /** A gateway (re)started its session: send it its complete set, and move queued dispatches to 'sent'. */
  gatewayBorn(gatewayId: string): Promise<void> {
    return this.serial(async () => {
      const now = this.now();
      const entries = await this.store.dispatch.activeForGateway(gatewayId, now);
      const command = this.command('sign.sync', {
        entries: entries.map((entry) => ({
          message: signMessage(entry.message),
          targets: entry.dispatches.map((d) => ({ screen: d.deviceId, dispatchId: d.id })),
        })),
      });
      const moves: TransitionRequest[] = entries.flatMap((entry) =>
        entry.dispatches.map((d) => ({
          dispatchId: d.id,
          // Queued ones go out now; the others keep their state and are now carried by this command.
          to: d.state === 'queued' ? 'sent' : d.state,
          actor: CLOUD_ACTOR,
          at: now,
          tx: command.tx,
        })),
      );
      const { changes } = await this.store.dispatch.transition(moves);
      this.pushChanges(changes);
      this.publish(gatewayId, command, undefined);
      this.logger.info({ gateway: gatewayId, messages: entries.length, dispatches: moves.length, operation: 'sign.sync' }, 'gateway synced');
    });
  }

  /**
   * Applies a command result: accepted -> delivered, rejected or error -> failed. Results that
   * arrive while the dispatcher is busy are applied together in one transaction (one commit for a
   * burst of gateways answering the same message, instead of one each).
   */
  commandResult(gatewayId: string, result: CommandResult): Promise<void> {
    this.pendingResults.push({ gatewayId, result });
    if (!this.resultsDrain) {
      this.resultsDrain = this.serial(async () => {
        this.resultsDrain = undefined;
        const batch = this.pendingResults.splice(0);
        const moves: TransitionRequest[] = [];
        for (const { gatewayId: gw, result: r } of batch) moves.push(...(await this.movesForResult(gw, r)));
        const { changes } = await this.store.dispatch.transition(moves);
        this.pushChanges(changes);
      });
    }
    return this.resultsDrain;
  }

  private async movesForResult(gatewayId: string, result: CommandResult): Promise<TransitionRequest[]> {
    const carried = (await this.store.dispatch.dispatchesOfTx(result.tx)).filter((d) => d.gatewayId === gatewayId);
    if (carried.length === 0) return [];
    const now = this.now();
    const actor = `edge:${gatewayId}`;
    const moves: TransitionRequest[] = [];
    const waiting = (d: DispatchRecord) => d.state === 'sent' || d.state === 'queued';
    if (result.status === 'error') {
      const reason = `${result.error.code}: ${result.error.message}`;
      for (const d of carried.filter(waiting)) moves.push({ dispatchId: d.id, to: 'failed', actor, at: now, reason });
      return moves;
    }
    const problem = firstError(SignAcceptResult, result.data);
    if (problem) {
      this.logger.warn({ gateway: gatewayId, tx: result.tx, path: problem[0], problem: problem[1] }, 'command result data is not a SignAcceptResult');
      return [];
    }
    const data = result.data as SignAcceptResult;
    const byId = new Map(carried.map((d) => [d.id, d]));
    for (const id of data.accepted) {
      const d = byId.get(id);
      if (d && waiting(d)) moves.push({ dispatchId: id, to: 'delivered', actor, at: now });
    }
    for (const rejected of data.rejected) {
      const d = byId.get(rejected.dispatchId);
      if (d && !isTerminal(d.state)) {
        moves.push({ dispatchId: rejected.dispatchId, to: 'failed', actor, at: now, reason: `${rejected.code}: ${rejected.message}` });
      }
    }
    return moves;
  }

  /** After an event batch committed: push what its sign events changed. */
  batchCommitted(result: IngestResult): void {
    this.pushChanges(result.dispatchChanges ?? []);
    for (const screen of result.screenChanges ?? []) this.options.hub.publish({ type: 'screen', screen: { ...screen } });
  }

  /** Moves dispatches whose message ended to 'expired'. */
  sweepExpired(): Promise<DispatchChange[]> {
    return this.serial(async () => {
      const changes = await this.store.dispatch.expireDue(this.now(), EXPIRY_ACTOR);
      this.pushChanges(changes);
      if (changes.length > 0) this.logger.info({ expired: changes.length, operation: 'expiry sweep' }, 'dispatches expired');
      return changes;
    });
  }

  // ---- helpers --------------------------------------------------------------------------

  private async isOnline(gatewayId: string): Promise<boolean> {
    return (await this.store.getGateway(gatewayId))?.online === true;
  }

  private command(name: SignCommandName, args: object, expiresAt?: number): Command {
    const issuedAt = this.now();
    return {
      v: CONTRACT_VERSION,
      tx: newId('t'),
      name,
      args: args as Record<string, unknown>,
      issuedAt,
      ...(expiresAt !== undefined && expiresAt > issuedAt && { expiresAt }),
    };
  }

  /** Publishes without holding the dispatcher: a lost command is healed by the next birth's sign.sync. */
  private publish(gatewayId: string, command: Command, messageId: string | undefined): void {
    this.options.publish(gatewayId, command).catch((err: unknown) =>
      this.logger.warn(
        { gateway: gatewayId, tx: command.tx, command: command.name, message: messageId, operation: 'publish command', err: (err as Error).message },
        'command not published; the gateway gets it in its next sign.sync',
      ),
    );
  }
}

export function signMessage(message: MessageRecord): SignMessage {
  return {
    id: message.id,
    multi: message.multi,
    crc: message.crc,
    priority: message.priority,
    startAt: message.startAt,
    ...(message.endAt !== null && { endAt: message.endAt }),
    createdAt: message.createdAt,
    source: message.source,
  };
}

function byGateway(dispatches: readonly DispatchRecord[]): Map<string, DispatchRecord[]> {
  const groups = new Map<string, DispatchRecord[]>();
  for (const d of dispatches) groups.set(d.gatewayId, [...(groups.get(d.gatewayId) ?? []), d]);
  return groups;
}

function screensOf(dispatches: readonly DispatchRecord[]): string[] {
  return dispatches.map((d) => screenKey(d.gatewayId, d.deviceId));
}
