/** The HTTP service (`igbert serve`); Node only. */
export { IgBertServer, type ServerOptions } from './igbertServer.js';
export { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
export { ERROR_STATUS, HttpError, type ErrorType } from './httpErrors.js';
