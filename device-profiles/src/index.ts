export * from './types.js';
export * from './errors.js';
export * from './schema.js';
export { parseProfile, formatPath } from './parse.js';
export * from './load.js';
export * from './identify.js';
export * from './firmware.js';
