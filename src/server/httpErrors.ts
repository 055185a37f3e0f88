/**
 * The server's one table from errors to HTTP statuses, and the one error body: {"error", "error_type", "details"}.
 * Library errors (src/errors.ts) map by class; the server's own conditions (size caps, queue full, auth, routing)
 * are HttpErrors naming their type. Nothing else in src/server chooses a status for an error.
 */
import { describeLocation, IgBertError, InputError, RuntimeFailure, UsageError } from '../errors.js';

export const ERROR_STATUS = {
  /** The body is not JSON. */
  malformed_json: 400,
  /** Missing or wrong bearer token. */
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  /** Body over --max-body-bytes, too many items, or more work than the queue can ever hold. */
  payload_too_large: 413,
  /** POST bodies must be application/json (which also makes browsers ask CORS first). */
  unsupported_media_type: 415,
  /** The JSON does not match the request schema, or a parameter is not usable (layer, pooling, fill options, ...). */
  invalid_request: 422,
  /** A sequence or record is not acceptable (InputError): details name item, chain, position, character. */
  invalid_input: 422,
  /** The queue is full: retry after the Retry-After seconds. */
  overloaded: 429,
  /** The model is still loading. */
  not_ready: 503,
  /** The server got SIGTERM and finishes the requests it has. */
  shutting_down: 503,
  /** ONNX Runtime failed. */
  runtime_failure: 500,
  /** A bug: the message asks for a report; the log has the stack. */
  internal: 500,
} as const;

export type ErrorType = keyof typeof ERROR_STATUS;

/** A condition the server reports with a fixed status (the type), a message, details and extra headers. */
export class HttpError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  get status(): number {
    return ERROR_STATUS[this.type];
  }

  body(): { error: string; error_type: ErrorType; details: Record<string, unknown> } {
    return { error: this.message, error_type: this.type, details: this.details };
  }
}

/**
 * Items of a request are numbered from 0 in the API, while the library numbers records from 1 in its messages: the
 * routes encode item i as record i + 1, and this rewrites "record 3 (id "x")" to "item 2 (id "x")" and adds
 * `details.item`. The id is left out of both when it is only the index standing in for one.
 */
function inputErrorDetails(error: InputError): { message: string; details: Record<string, unknown> } {
  const { record, id, chain, position, character } = error.location;
  if (record === undefined) return { message: error.message, details: { ...error.location } };
  const item = record - 1;
  const givenId = id !== undefined && id !== String(item) ? id : undefined;
  const recordText = describeLocation(id !== undefined ? { record, id } : { record });
  const itemText = givenId !== undefined ? `item ${item} (id ${JSON.stringify(givenId)})` : `item ${item}`;
  const details: Record<string, unknown> = { item, chain, position, character };
  if (givenId !== undefined) details['id'] = givenId;
  for (const key of Object.keys(details)) if (details[key] === undefined) delete details[key];
  return { message: error.message.replace(recordText, itemText), details };
}

/** Maps any thrown value to the HttpError the client sees. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof InputError) {
    const { message, details } = inputErrorDetails(error);
    return new HttpError('invalid_input', message, { code: error.code, ...details });
  }
  if (error instanceof UsageError) return new HttpError('invalid_request', error.message, { code: error.code });
  if (error instanceof RuntimeFailure) return new HttpError('runtime_failure', error.message, { code: error.code });
  if (error instanceof IgBertError) return new HttpError('internal', error.message, { code: error.code });
  return new HttpError('internal', 'internal server error; the server log has the details (please report it).');
}
