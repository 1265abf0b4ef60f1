export * from './topics.js';
export * from './messages.js';
export * from './validate.js';
export * from './signs.js';
export * from './video.js';
export * from './commands.js';
