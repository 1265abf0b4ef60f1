export * from './topics.js';
export * from './messages.js';
export * from './validate.js';
export * from './signs.js';
