export * from './money.js';
export * from './events.js';
export * from './socket.js';
export * from './validate.js';
export * from './time.js';
