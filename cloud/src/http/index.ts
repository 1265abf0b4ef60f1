export { buildHttpApi, listenHttp, type HttpApiOptions } from './server.js';
export { ApiError } from './errors.js';
export { parseTimeParam } from './time-param.js';
