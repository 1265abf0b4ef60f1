export * from './types.js';
export * from './modbus/wire.js';
