/**
 * The route table as fastify route schemas, which fastify validates requests with and @fastify/swagger prints as the
 * OpenAPI 3.1 document (GET /openapi.json): request body, summary, description, every status a route can answer and
 * whether it needs the bearer token.
 */
import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { PRODUCER } from '../version.js';
import { ERROR_SCHEMA } from './httpErrors.js';
import type { Route } from './route.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Body is not JSON',
  401: 'Missing or wrong bearer token',
  404: 'No such route',
  405: 'Method not allowed on this route',
  413: 'Body, item count or work over the server limits (see /info)',
  415: 'Body is not application/json',
  422: 'Invalid request or input (details name the item, chain, position and character)',
  429: 'Queue full; retry after the Retry-After seconds',
  500: 'Model runtime or internal failure',
  503: 'Model still loading, or server shutting down',
};

/** The error body, registered with fastify (addSchema) and listed by @fastify/swagger under components.schemas. */
export const ERROR_COMPONENT = { $id: 'Error', ...ERROR_SCHEMA };

const json = (schema: unknown): Record<string, unknown> => ({ 'application/json': { schema } });

export function routeSchema(route: Route, authRequired: boolean): FastifySchema {
  const response: Record<number, unknown> = {
    200: 'contentType' in route.response
      ? { description: route.response.description, content: { [route.response.contentType]: { schema: {} } } }
      : { description: 'Success', content: json(route.response) },
  };
  const statuses = new Set<number>([...(route.errors ?? []), ...(route.needsModel ? [503] : []), 500]);
  if (!route.public && authRequired) statuses.add(401);
  for (const status of [...statuses].sort()) {
    response[status] = { description: STATUS_TEXT[status] ?? '', content: json({ $ref: 'Error#' }) };
  }
  return {
    summary: route.summary,
    description: route.description,
    ...(route.public || !authRequired ? { security: [] } : {}),
    ...(route.request ? { body: route.request } : {}),
    response,
  };
}

export function swaggerOptions(title: string, authRequired: boolean): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: { title, version: PRODUCER.version, description: 'IgBert antibody language model over HTTP; see docs/server.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(authRequired ? { security: [{ bearer: [] }] } : {}),
    },
    // Shared schemas are listed under the name of their $id ("Error"), not "def-0".
    refResolver: { buildLocalReference: (schema, _base, _fragment, i) => String(schema['$id'] ?? `def-${i}`) },
  };
}
