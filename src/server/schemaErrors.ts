/**
 * Ajv's report of a request body that does not match its route's schema, as the HttpError the client sees: 422
 * naming the first offending field ("items[2].heavy must be string or null, found 42."), or 413 when an array is over
 * its maxItems, a size limit of this server (see /info) like TEI's max_client_batch_size. Ajv runs with `verbose`,
 * so that each error carries the value it is about.
 */
import type { FastifySchemaValidationError } from 'fastify';
import { HttpError } from './httpErrors.js';

interface VerboseError extends FastifySchemaValidationError {
  /** The offending value (Ajv's `verbose`). */
  data?: unknown;
  /** The schema holding the failed keyword (Ajv's `verbose`). */
  parentSchema?: { properties?: Record<string, unknown> };
}

/** `items[3].heavy` from Ajv's JSON pointer "/items/3/heavy"; "body" for the body itself. */
function fieldPath(pointer: string): string {
  const keys = pointer.split('/').slice(1).map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
  return keys.reduce((text, key) => (/^\d+$/.test(key) ? `${text}[${key}]` : text ? `${text}.${key}` : key), '') || 'body';
}

const child = (path: string, key: unknown): string => (path === 'body' ? String(key) : `${path}.${String(key)}`);

/** Short rendering of a bad value for messages (never the whole of a long sequence). */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const typeNames = (type: unknown): string => String(type).split(',').join(' or ');

/**
 * The error to report. Within a oneOf, the branches whose type did not match say nothing when another branch's type
 * matched (its deeper error is the one that counts); when none matched, their types are listed together.
 */
function firstError(errors: readonly VerboseError[]): VerboseError {
  const branchTypeMiss = (error: VerboseError): boolean => error.keyword === 'type' && /\/oneOf\/\d+\/type$/.test(error.schemaPath);
  const telling = errors.find((error) => error.keyword !== 'oneOf' && !branchTypeMiss(error));
  if (telling) return telling;
  const misses = errors.filter(branchTypeMiss);
  const first = misses[0] ?? (errors[0] as VerboseError);
  return { ...first, keyword: 'type', params: { type: misses.map((error) => error.params['type']).join(',') } };
}

export function requestSchemaError(errors: readonly FastifySchemaValidationError[]): HttpError {
  const error = firstError(errors as readonly VerboseError[]);
  const path = fieldPath(error.instancePath);
  const { params, data } = error;
  const invalid = (field: string, problem: string): HttpError => new HttpError('invalid_request', `${field} ${problem}`, { path: field });
  switch (error.keyword) {
    case 'maxItems':
      return new HttpError(
        'payload_too_large',
        `${path} has ${(data as unknown[]).length} elements; this server accepts at most ${params['limit']} per request: split the request.`,
        { path, limit: params['limit'] },
      );
    case 'type':
      return invalid(path, `must be ${typeNames(params['type'])}, found ${shown(data)}.`);
    case 'additionalProperties': {
      const allowed = Object.keys(error.parentSchema?.properties ?? {}).join(', ');
      return invalid(child(path, params['additionalProperty']), `is not a field of this request; allowed: ${allowed}.`);
    }
    case 'required':
      return invalid(child(path, params['missingProperty']), 'is required.');
    case 'minItems':
      return invalid(path, `needs at least ${params['limit']} element(s).`);
    case 'enum':
      return invalid(path, `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}; found ${shown(data)}.`);
    case 'maxLength':
      return invalid(path, `is longer than ${params['limit']} characters.`);
    case 'minimum':
      return invalid(path, `must be at least ${params['limit']}, found ${shown(data)}.`);
    case 'maximum':
      return invalid(path, `must be at most ${params['limit']}, found ${shown(data)}.`);
    case 'exclusiveMinimum':
      return invalid(path, `must be greater than ${params['limit']}, found ${shown(data)}.`);
    default:
      return invalid(path, `${error.message ?? `does not match the schema (${error.keyword})`}.`);
  }
}
