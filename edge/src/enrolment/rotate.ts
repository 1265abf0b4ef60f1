/**
 * credentials.rotate: the cloud sends a new MQTT password over this gateway's authenticated link.
 * It is written to the config file first (atomically, 0600: a crash after the answer still finds
 * it there at the next start), the answer goes back, then the link reconnects with it; the cloud
 * accepts the old password until that reconnect.
 */
import { checkCommandArgs, type Command } from '@quanlink/contracts';
import type { Logger } from 'pino';
import type { ConfigFile } from '../config/index.js';
import { CommandError } from '../link/command-router.js';

export const CREDENTIAL_COMMANDS = ['credentials.rotate'] as const;

export interface RotateDeps {
  config: ConfigFile;
  /** Reconnects the cloud link with the new password (after the answer has gone). */
  reconnect: (password: string) => Promise<void>;
  logger: Logger;
}

export function credentialsRotateHandler(deps: RotateDeps): (command: Command) => Promise<Record<string, unknown>> {
  return async (command) => {
    const checked = checkCommandArgs('credentials.rotate', command.args);
    if (!checked.ok) throw new CommandError('InvalidCommand', checked.error.message, checked.error.path);
    const { password } = checked.value;
    const gatewayId = deps.config.data.gateway.id;
    try {
      await deps.config.update((draft) => {
        draft.cloud.password = password;
      });
    } catch (err) {
      throw new CommandError('ConfigWriteFailed', `gateway ${gatewayId} could not store its new password in ${deps.config.file}: ${(err as Error).message}`);
    }
    deps.logger.info({ gateway: gatewayId, operation: 'rotate credentials' }, 'new cloud password stored; reconnecting with it');
    // After this handler's answer is on its way: setImmediate runs once the link has published it.
    setImmediate(() => {
      deps.reconnect(password).catch((err: unknown) =>
        deps.logger.error({ gateway: gatewayId, err, operation: 'rotate credentials' }, 'reconnect with the new password failed; the link retries'),
      );
    });
    return { stored: true };
  };
}
