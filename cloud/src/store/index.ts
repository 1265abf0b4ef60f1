export * from './types.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export { SCHEMA_VERSION } from './sqlite/migrations.js';
