/**
 * GET /docs: a browsable page of every route of the route table, its request fields and a curl example, from the same
 * schemas that validate requests. Plain HTML with no script and nothing fetched from elsewhere, so it works offline
 * and behind strict proxies.
 */
import { ERROR_STATUS } from './httpErrors.js';
import type { JsonSchema } from './jsonSchema.js';
import type { Route } from './route.js';

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
