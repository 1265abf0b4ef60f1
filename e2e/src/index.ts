export * from './processes.js';
export * from './system.js';
export * from './cameras.js';
