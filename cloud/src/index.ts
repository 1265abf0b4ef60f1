export { startCloud, registerGateway, openStore, STORE_FILE_NAME, type CloudOptions, type RunningCloud, type GatewayCredentials } from './cloud.js';
export * from './store/index.js';
export { hashSecret, verifySecret, generateSecret, secretsEqual } from './auth/secrets.js';
export * from './broker/index.js';
export * from './ingest/index.js';
export * from './http/index.js';
export { createLogger } from './logger.js';
export * from './traffic/grades.js';
export * from './dispatch/index.js';
