/**
 * The OpenAPI 3.1 document (GET /openapi.json) and the docs page (GET /docs), both generated from the route table
 * and the request schemas the validator uses. The page is plain HTML with no script and nothing fetched from
 * elsewhere, so it works offline and behind strict proxies.
 */
import { PRODUCER } from '../version.js';
import { ERROR_STATUS } from './httpErrors.js';
import type { JsonSchema } from './jsonSchema.js';
import type { Route } from './route.js';

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
        chain: { type: 'string', enum: ['heavy', 'light'] },
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

export function openApiDocument(routes: readonly Route[], info: { title: string; authRequired: boolean }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {
      200: 'contentType' in route.response
        ? { description: route.response.description, content: { [route.response.contentType]: {} } }
        : { description: 'Success', content: { 'application/json': { schema: route.response } } },
    };
    const statuses = new Set<number>([...(route.errors ?? []), ...(route.needsModel ? [503] : []), 500]);
    if (!route.public && info.authRequired) statuses.add(401);
    for (const status of [...statuses].sort()) {
      responses[status] = { description: STATUS_TEXT[status] ?? '', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: {
        summary: route.summary,
        description: route.description,
        ...(route.public || !info.authRequired ? { security: [] } : {}),
        ...(route.request ? { requestBody: { required: true, content: { 'application/json': { schema: route.request } } } } : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: PRODUCER.version, description: 'IgBert antibody language model over HTTP; see docs/server.md.' },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    ...(info.authRequired ? { security: [{ bearer: [] }] } : {}),
  };
}

const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function typeText(schema: JsonSchema): string {
  if ('oneOf' in schema) return schema.oneOf.map(typeText).join(' | ');
  if (schema.type === 'array') return `array of ${typeText(schema.items)}`;
  if (schema.type === 'object') return 'object';
  const base = typeof schema.type === 'string' ? schema.type : schema.type.join(' | ');
  return schema.enum ? schema.enum.map((v) => JSON.stringify(v)).join(' | ') : base;
}

function fieldRows(schema: JsonSchema, prefix = ''): string[] {
  if ('oneOf' in schema || schema.type !== 'object') return [];
  return Object.entries(schema.properties).flatMap(([name, property]) => {
    const required = schema.required?.includes(name) ? ' (required)' : '';
    const defaultValue = 'default' in property && property.default !== undefined ? ` Default: ${JSON.stringify(property.default)}.` : '';
    const row = `<tr><td><code>${escape(prefix + name)}</code>${required}</td><td>${escape(typeText(property))}</td><td>${escape((property.description ?? '') + defaultValue)}</td></tr>`;
    const nested = !('oneOf' in property) && property.type === 'array' ? fieldRows(property.items, `${prefix}${name}[].`) : [];
    return [row, ...nested];
  });
}

export function docsPage(routes: readonly Route[], info: { title: string; authRequired: boolean }): string {
  const sections = routes.map((route) => {
    const example = route.request?.examples?.[0];
    const curl = example
      ? `curl -s http://HOST:PORT${route.path} -H 'Content-Type: application/json'${info.authRequired ? ' -H "Authorization: Bearer $TOKEN"' : ''} -d '${JSON.stringify(example)}'`
      : `curl -s http://HOST:PORT${route.path}${info.authRequired && !route.public ? ' -H "Authorization: Bearer $TOKEN"' : ''}`;
    const fields = route.request ? `<table><tr><th>field</th><th>type</th><th>meaning</th></tr>${fieldRows(route.request).join('')}</table>` : '';
    return `<section><h2><code>${route.method} ${escape(route.path)}</code> — ${escape(route.summary)}</h2><p>${escape(route.description)}</p>${fields}<pre>${escape(curl)}</pre></section>`;
  });
  const statuses = Object.entries(ERROR_STATUS).map(([type, status]) => `<tr><td>${status}</td><td><code>${type}</code></td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}pre{background:#f4f4f4;padding:.5rem;overflow-x:auto;white-space:pre-wrap}</style></head>
<body><h1>${escape(info.title)}</h1><p>JSON over HTTP. Machine-readable description: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
${info.authRequired ? 'Every route except /health, /docs and /openapi.json needs <code>Authorization: Bearer &lt;token&gt;</code>.' : 'No authentication is configured.'}
POST bodies must be sent with <code>Content-Type: application/json</code>. Errors are <code>{"error", "error_type", "details"}</code>.</p>
${sections.join('\n')}
<section><h2>Error statuses</h2><table><tr><th>status</th><th>error_type</th></tr>${statuses}</table></section></body></html>`;
}
