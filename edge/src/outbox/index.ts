export * from './outbox.js';
export { SqliteOutbox } from './sqlite-outbox.js';
export { MemoryOutbox } from './memory-outbox.js';
