export * from './config/index.js';
export * from './outbox/index.js';
export { EdgeAgent, readingsPath, type AgentStatus } from './agent.js';
export { LocalReadings, type LocalReading } from './readings/local-readings.js';
export { CloudLink, type CloudLinkOptions, type LinkStats } from './link/cloud-link.js';
export { DevicePoller, type PollerStatus } from './devices/poller.js';
export { EventBus, type BusEvents, type Extension } from './events/bus.js';
export { AGENT_VERSION } from './version.js';
