/**
 * Commands that wait for their answer: sends a command on a gateway's cmd topic and resolves with
 * the cmd/result that carries its tx (ok or error, as the gateway answered). It refuses at once when
 * the gateway is offline, gives up after a timeout, and fails a command whose gateway goes offline
 * while it waits. Results it is not waiting for go to the handlers of onUnclaimedResult (the sign
 * dispatcher, whose commands are answered through its own records).
 */
import { randomBytes } from 'node:crypto';
import {
  checkCommandArgs,
  CONTRACT_VERSION,
  type Command,
  type CommandName,
  type CommandResult,
  type GatewayStatus,
} from '@quanlink/contracts';
import type { Logger } from 'pino';
import type { Ingest } from '../ingest/ingest.js';
import type { CloudStore } from '../store/types.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

export class GatewayOfflineError extends Error {
  override readonly name = 'GatewayOfflineError';
  constructor(
    readonly gatewayId: string,
    readonly command: string,
    detail = 'is offline',
  ) {
    super(`gateway ${gatewayId} ${detail}`);
  }
}

export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(
    readonly gatewayId: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`gateway ${gatewayId} did not answer ${command} within ${timeoutMs} ms`);
  }
}

export interface CommandClientOptions {
  ingest: Pick<Ingest, 'publish' | 'listen'>;
  store: Pick<CloudStore, 'getGateway'>;
  logger: Logger;
  defaultTimeoutMs?: number | undefined;
}

export interface SendOptions {
  timeoutMs?: number | undefined;
}

interface Pending {
  gatewayId: string;
  name: string;
  resolve(result: CommandResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export type ResultHandler = (gatewayId: string, result: CommandResult) => void;

export class CommandClient {
  private readonly pending = new Map<string, Pending>();
  private readonly unclaimed = new Set<ResultHandler>();
  private readonly logger: Logger;
  private readonly defaultTimeoutMs: number;
  private readonly unlisten: () => void;

  constructor(private readonly options: CommandClientOptions) {
    this.logger = options.logger.child({ component: 'commands' });
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.unlisten = options.ingest.listen({
      commandResult: (gatewayId, result) => this.resultReceived(gatewayId, result),
      status: (gatewayId, status) => this.statusReceived(gatewayId, status),
    });
  }

  /**
   * Sends `name` with `args` (checked against the contract) and resolves with the gateway's result.
   * Rejects with GatewayOfflineError, CommandTimeoutError, or the ContractError of bad args.
   */
  async send<N extends CommandName>(gatewayId: string, name: N, args: Record<string, unknown>, options: SendOptions = {}): Promise<CommandResult> {
    const checked = checkCommandArgs(name, args);
    if (!checked.ok) throw checked.error;
    const gateway = await this.options.store.getGateway(gatewayId);
    if (!gateway?.online) throw new GatewayOfflineError(gatewayId, name, gateway ? 'is offline' : 'is not registered');
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const issuedAt = Date.now();
    const command: Command = {
      v: CONTRACT_VERSION,
      tx: `c${issuedAt.toString(36)}${randomBytes(6).toString('base64url')}`,
      name,
      args,
      // No expiresAt: a gateway clock a few seconds off would refuse every command of a short timeout.
      issuedAt,
    };
    const answered = new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(command.tx);
        reject(new CommandTimeoutError(gatewayId, name, timeoutMs));
      }, timeoutMs);
      this.pending.set(command.tx, { gatewayId, name, resolve, reject, timer });
    });
    // It may settle while the publish below is still waiting for its PUBACK: handled here, still rejected for the caller.
    answered.catch(() => undefined);
    try {
      await this.options.ingest.publish(gatewayId, 'cmd', command);
    } catch (err) {
      this.settle(command.tx)?.reject(new Error(`sending ${name} to gateway ${gatewayId} failed: ${(err as Error).message}`));
    }
    this.logger.debug({ gateway: gatewayId, tx: command.tx, command: name, operation: 'send command' }, 'command sent');
    return answered;
  }

  /** Handlers for results this client is not waiting for; returns the removal. */
  onUnclaimedResult(handler: ResultHandler): () => void {
    this.unclaimed.add(handler);
    return () => this.unclaimed.delete(handler);
  }

  /** Commands waiting for an answer. */
  waiting(): number {
    return this.pending.size;
  }

  /** Fails every waiting command and stops listening. */
  close(): void {
    this.unlisten();
    for (const tx of [...this.pending.keys()]) {
      const pending = this.settle(tx)!;
      pending.reject(new Error(`cloud shutting down: ${pending.name} to gateway ${pending.gatewayId} abandoned`));
    }
  }

  private resultReceived(gatewayId: string, result: CommandResult): void {
    const pending = this.pending.get(result.tx);
    // A tx is claimed only by its own gateway: another gateway cannot answer for it.
    if (pending && pending.gatewayId === gatewayId) {
      this.settle(result.tx)!.resolve(result);
      return;
    }
    for (const handler of this.unclaimed) handler(gatewayId, result);
  }

  private statusReceived(gatewayId: string, status: GatewayStatus): void {
    if (status.state !== 'offline') return;
    for (const [tx, pending] of this.pending) {
      if (pending.gatewayId !== gatewayId) continue;
      this.settle(tx);
      pending.reject(new GatewayOfflineError(gatewayId, pending.name, `went offline before answering ${pending.name}`));
    }
  }

  private settle(tx: string): Pending | undefined {
    const pending = this.pending.get(tx);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.pending.delete(tx);
    return pending;
  }
}
