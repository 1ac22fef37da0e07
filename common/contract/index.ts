export * from './methods.js';
export * from './schemas.js';
export * from './api.js';
export * from './envelope.js';
