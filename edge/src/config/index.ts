export * from './schema.js';
export * from './config-file.js';
