export {
  startLoopCardSimulator,
  checkFault,
  DEFAULT_LOOP_CARD_PROFILE,
  type LoopCardOptions,
  type LoopCardTruth,
  type LoopCardFault,
  type LoopCardSimulator,
} from './loop-card/simulator.js';
export { TrafficModel, windowStats, DEFAULT_TRAFFIC, type TrafficParams, type Vehicle, type WindowStats } from './loop-card/traffic.js';
export { ModbusTcpServer, type ModbusTcpServerOptions, type ServerReply } from './modbus-tcp-server.js';
export { SimClock } from './sim-clock.js';
export { createRandom, deriveSeed, type Random } from './random.js';
