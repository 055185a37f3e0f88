/**
 * The server's one table from errors to HTTP statuses, and the one error body: {"error", "error_type", "details"}.
 * Library errors (src/errors.ts) map by class, fastify's errors about how a request was sent by code; the server's
 * own conditions (size caps, queue full, auth, routing, schema) are HttpErrors naming their type. Nothing else in
 * src/server chooses a status for an error.
 */
import { CHAIN_LETTERS } from '../chains.js';
import { describeLocation, IgBertError, InputError, RuntimeFailure, UsageError } from '../errors.js';
import type { JsonSchema } from './jsonSchema.js';

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

/** The error body, as /openapi.json documents it (components.schemas.Error). */
export const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['error', 'error_type', 'details'],
  properties: {
    error: { type: 'string', description: 'What is wrong, where, and how to fix it.' },
    error_type: { type: 'string', enum: Object.keys(ERROR_STATUS) },
    details: {
      type: 'object',
      additionalProperties: false,
      properties: {
        item: { type: 'integer', description: 'Index of the offending item in the request, from 0.' },
        id: { type: 'string' },
        chain: { type: 'string', enum: CHAIN_LETTERS, description: 'H (heavy) or L (light).' },
        position: { type: 'integer', description: '1-based residue position within the chain.' },
        character: { type: 'string' },
        path: { type: 'string', description: 'The offending field, e.g. "items[2].heavy".' },
        code: { type: 'string', description: 'The library\'s stable error code (INVALID_INPUT, SEQUENCE_TOO_LONG, USAGE, RUNTIME, ...).' },
        limit: { type: 'integer', description: 'The server limit that was exceeded (see /info).' },
        tokens: { type: 'integer', description: 'Forward-pass tokens the request needs.' },
        residues: { type: 'integer', description: 'Residue embeddings the request asks for.' },
        queued_tokens: { type: 'integer', description: 'Work queued when the request was refused (429).' },
        retry_after_seconds: { type: 'integer' },
        allow: { type: 'string', description: 'Methods the route accepts (405).' },
      },
      description: 'Structured context; the fields present depend on the error.',
    },
  },
};

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
  const details: Record<string, unknown> = { item, id: givenId, chain, position, character };
  for (const key of Object.keys(details)) if (details[key] === undefined) delete details[key];
  return { message: error.message.replace(recordText, itemText), details };
}

/** Fastify's errors about how a request was sent (framing, size, URL), by their code. */
function fastifyError(code: unknown, maxBodyBytes: number): HttpError | undefined {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('payload_too_large', `the body is larger than this server's limit of ${maxBodyBytes} bytes: split the request.`, {
        limit: maxBodyBytes,
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError('malformed_json', 'the body is shorter or longer than its Content-Length header says.');
    case 'FST_ERR_BAD_URL':
      return new HttpError('not_found', 'the path is not a valid URL path; the API is listed at /docs and /openapi.json.');
    default:
      return undefined;
  }
}

/** Maps any thrown value to the HttpError the client sees (`maxBodyBytes` names the limit of a body too large). */
export function toHttpError(error: unknown, maxBodyBytes: number): HttpError {
  if (error instanceof HttpError) return error;
  const fromFastify = fastifyError((error as { code?: unknown } | undefined)?.code, maxBodyBytes);
  if (fromFastify) return fromFastify;
  if (error instanceof InputError) {
    const { message, details } = inputErrorDetails(error);
    return new HttpError('invalid_input', message, { code: error.code, ...details });
  }
  if (error instanceof UsageError) return new HttpError('invalid_request', error.message, { code: error.code });
  if (error instanceof RuntimeFailure) return new HttpError('runtime_failure', error.message, { code: error.code });
  if (error instanceof IgBertError) return new HttpError('internal', error.message, { code: error.code });
  return new HttpError('internal', 'internal server error; the server log has the details (please report it).');
}
