/** Routes the cloud's commands by name to the part of the agent that handles them. */
import type { Command } from '@quanlink/contracts';

export type CommandHandler = (command: Command) => Promise<Record<string, unknown>>;

/** A command the gateway refuses; the cloud link turns its code and message into an error result. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: string,
    message: string,
    /** Field path of a malformed command's args, e.g. args.message.priority. */
    readonly path?: string,
  ) {
    super(message);
  }
}

export class CommandRouter {
  private readonly handlers = new Map<string, CommandHandler>();

  register(names: readonly string[], handler: CommandHandler): this {
    for (const name of names) {
      if (this.handlers.has(name)) throw new Error(`command '${name}' has a handler already`);
      this.handlers.set(name, handler);
    }
    return this;
  }

  /** The cloud link's commandHandler. */
  readonly handle = async (command: Command): Promise<Record<string, unknown>> => {
    const handler = this.handlers.get(command.name);
    if (!handler) throw new CommandError('UnknownCommand', `unknown command '${command.name}' (known: ping, ${[...this.handlers.keys()].join(', ')})`);
    return handler(command);
  };
}
