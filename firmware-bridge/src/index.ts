export * from './types.js';
export * from './errors.js';
export * from './backoff.js';
export * from './modbus/wire.js';
export * from './modbus/codec.js';
export * from './modbus/plan.js';
export * from './modbus/frame.js';
export * from './modbus/tcp-driver.js';
