/**
 * The cloud's screen commands: sign.display, sign.cancel and sign.sync. Each is validated against
 * the contract, applied to the active set in one transaction, and answered only after that commit,
 * so a `delivered` dispatch in the cloud is on the gateway's disk. The screens' controllers then
 * arbitrate, drive and report.
 */
import {
  SIGN_COMMAND_ARGS,
  checkCommandArgs,
  type Command,
  type SignAcceptResult,
  type SignCancelResult,
  type SignCommandName,
  type SignDisplayArgs,
} from '@quanlink/contracts';
import { CommandError } from '../link/command-router.js';
import type { ActiveSet, NewEntry } from './active-set.js';

/** The screens a command may address: those bound on this gateway, each told when its set changed. */
export interface ScreenRegistry {
  has(screen: string): boolean;
  /** Screens whose active set changed: they arbitrate again. */
  changed(screens: Iterable<string>): void;
}

export const SIGN_COMMANDS = Object.keys(SIGN_COMMAND_ARGS) as SignCommandName[];

export class SignCommands {
  constructor(
    private readonly activeSet: ActiveSet,
    private readonly screens: ScreenRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  readonly handle = async (command: Command): Promise<Record<string, unknown>> => {
    switch (command.name) {
      case 'sign.display':
        return this.display(args(command, 'sign.display'));
      case 'sign.cancel':
        return this.cancel(args(command, 'sign.cancel'));
      case 'sign.sync':
        return this.sync(args(command, 'sign.sync'));
      default:
        throw new CommandError('UnknownCommand', `not a sign command: '${command.name}'`);
    }
  };

  display(request: SignDisplayArgs): SignAcceptResult {
    const result: SignAcceptResult = { accepted: [], rejected: [] };
    const entries = this.admit([request], result);
    this.activeSet.add(entries, this.now());
    this.screens.changed(new Set(entries.map((e) => e.screen)));
    return result;
  }

  cancel(request: { messageId: string; screens?: string[] }): SignCancelResult {
    const marked = this.activeSet.cancel(request.messageId, request.screens);
    this.screens.changed(new Set(marked.map((e) => e.screen)));
    return { cancelled: marked.map((e) => e.dispatchId) };
  }

  /** Replaces the gateway's cloud entries with exactly these; the dropped ones are reported cancelled by their screens. */
  sync(request: { entries: SignDisplayArgs[] }): SignAcceptResult {
    const result: SignAcceptResult = { accepted: [], rejected: [] };
    const entries = this.admit(request.entries, result);
    const { dropped } = this.activeSet.replaceAll(entries, this.now());
    this.screens.changed(new Set([...entries, ...dropped].map((e) => e.screen)));
    return result;
  }

  /** The targets this gateway can take on; the others are rejected with the reason. */
  private admit(requests: readonly SignDisplayArgs[], result: SignAcceptResult): NewEntry[] {
    const now = this.now();
    const entries: NewEntry[] = [];
    const seen = new Set<string>();
    for (const { message, targets } of requests) {
      for (const { screen, dispatchId } of targets) {
        const reject = (code: string, text: string) => result.rejected.push({ dispatchId, code, message: text });
        if (!this.screens.has(screen)) reject('UnknownScreen', `screen '${screen}' is not a guidance screen bound on this gateway`);
        else if (message.endAt !== undefined && message.endAt <= now) {
          reject('Expired', `message ${message.id} ended at ${new Date(message.endAt).toISOString()}, before it reached screen '${screen}'`);
        } else if (seen.has(`${screen}\u0000${message.id}`)) reject('DuplicateTarget', `message ${message.id} targets screen '${screen}' twice`);
        else {
          seen.add(`${screen}\u0000${message.id}`);
          entries.push({ screen, message, dispatchId });
          result.accepted.push(dispatchId);
        }
      }
    }
    return entries;
  }
}

/** The command's args checked against the contract; a malformed command is refused naming the field. */
function args<N extends SignCommandName>(command: Command, name: N) {
  const checked = checkCommandArgs(name, command.args);
  if (!checked.ok) throw new CommandError('InvalidCommand', checked.error.message, checked.error.path);
  return checked.value;
}
