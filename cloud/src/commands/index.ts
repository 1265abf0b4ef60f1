export {
  CommandClient,
  CommandTimeoutError,
  GatewayOfflineError,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type CommandClientOptions,
  type ResultHandler,
  type SendOptions,
} from './command-client.js';
