/**
 * A small subset of JSON Schema (2020-12, the dialect of OpenAPI 3.1) and its validator. The same schema objects
 * check every request body and are printed in /openapi.json, so the documentation cannot drift from what the server
 * accepts. Only what the API needs is supported: objects without extra fields, arrays with bounds, strings with enums,
 * numbers with bounds, booleans, nullable types and oneOf.
 */
import { HttpError } from './httpErrors.js';

interface Described {
  description?: string;
  examples?: readonly unknown[];
}

type Primitive = 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface ObjectSchema extends Described {
  type: 'object';
  properties: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  /** Always false: an unknown field is an error (a typo never goes unnoticed). */
  additionalProperties: false;
}

export interface ArraySchema extends Described {
  type: 'array';
  items: JsonSchema;
  minItems?: number;
  maxItems?: number;
}

export interface ValueSchema extends Described {
  /** One type, or several for a nullable field (["string", "null"]). */
  type: Primitive | readonly Primitive[];
  enum?: readonly (string | number)[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxLength?: number;
  default?: unknown;
}

export interface OneOfSchema extends Described {
  oneOf: readonly JsonSchema[];
}

export type JsonSchema = ObjectSchema | ArraySchema | ValueSchema | OneOfSchema;

/** JSON type of a parsed value, with integers told apart from other numbers as JSON Schema does. */
function jsonType(value: unknown): Primitive | 'array' | 'object' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as 'string' | 'boolean' | 'object';
}

function allowedTypes(schema: JsonSchema): string[] {
  if ('oneOf' in schema) return schema.oneOf.flatMap(allowedTypes);
  return typeof schema.type === 'string' ? [schema.type] : [...schema.type];
}

const typeMatches = (actual: string, allowed: readonly string[]): boolean =>
  allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));

/** Short rendering of a bad value for messages (never the whole of a long sequence). */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `items[3].heavy` from a path of keys and indices. */
export function pathText(path: readonly (string | number)[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key), '') || 'body';
}

function fail(path: readonly (string | number)[], problem: string): never {
  const where = pathText(path);
  throw new HttpError('invalid_request', `${where} ${problem}`, { path: where });
}

/** Throws an HttpError (422 invalid_request) naming the first field that does not match, e.g. "items[2].light". */
export function validate(value: unknown, schema: JsonSchema, path: (string | number)[] = []): void {
  if ('oneOf' in schema) {
    const matching = schema.oneOf.filter((option) => typeMatches(jsonType(value), allowedTypes(option)));
    if (matching.length === 0) fail(path, `must be ${allowedTypes(schema).join(' or ')}, found ${shown(value)}.`);
    validate(value, matching[0] as JsonSchema, path);
    return;
  }
  const actual = jsonType(value);
  const allowed = allowedTypes(schema);
  if (!typeMatches(actual, allowed)) fail(path, `must be ${allowed.join(' or ')}, found ${shown(value)}.`);
  if (schema.type === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      if (!Object.hasOwn(schema.properties, key)) {
        fail([...path, key], `is not a field of this request; allowed: ${Object.keys(schema.properties).join(', ')}.`);
      }
    }
    for (const key of schema.required ?? []) {
      if (object[key] === undefined) fail([...path, key], 'is required.');
    }
    for (const [key, property] of Object.entries(schema.properties)) {
      if (object[key] !== undefined) validate(object[key], property, [...path, key]);
    }
    return;
  }
  if (schema.type === 'array') {
    const array = value as unknown[];
    if (schema.minItems !== undefined && array.length < schema.minItems) fail(path, `needs at least ${schema.minItems} element(s).`);
    if (schema.maxItems !== undefined && array.length > schema.maxItems) {
      // Too many items is a size limit of this server (see /info), like TEI's max_client_batch_size.
      throw new HttpError(
        'payload_too_large',
        `${pathText(path)} has ${array.length} elements; this server accepts at most ${schema.maxItems} per request: split the request.`,
        { path: pathText(path), limit: schema.maxItems },
      );
    }
    array.forEach((element, i) => validate(element, schema.items, [...path, i]));
    return;
  }
  if (value === null) return;
  if (schema.enum && !schema.enum.includes(value as string | number)) {
    fail(path, `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}; found ${shown(value)}.`);
  }
  if (typeof value === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength) {
    fail(path, `is longer than ${schema.maxLength} characters.`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(path, `must be at least ${schema.minimum}, found ${value}.`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(path, `must be at most ${schema.maximum}, found ${value}.`);
    if (schema.exclusiveMinimum !== undefined && !(value > schema.exclusiveMinimum)) {
      fail(path, `must be greater than ${schema.exclusiveMinimum}, found ${value}.`);
    }
  }
}

/** The response shape every task route shares: {"results": [one object per item, in item order]}. */
export function resultsResponse(itemProperties: Record<string, JsonSchema>): ObjectSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      results: { type: 'array', items: { type: 'object', additionalProperties: false, properties: itemProperties } },
    },
  };
}
