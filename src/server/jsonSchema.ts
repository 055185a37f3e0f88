/**
 * The part of JSON Schema (2020-12, the dialect of OpenAPI 3.1) the route table is written in. The same schema objects
 * validate every request body (fastify, with Ajv), are printed in /openapi.json (@fastify/swagger) and on /docs, so
 * the documentation cannot drift from what the server accepts. Typed narrowly on purpose: objects without extra
 * fields, arrays with bounds, strings with enums, numbers with bounds, booleans, nullable types and oneOf.
 */

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
