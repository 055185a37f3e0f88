/** Request bodies in, replies out, and the two access controls (bearer token, CORS) — the plumbing under the routes. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonValue } from '../io/jsonValue.js';
import { HttpError } from './httpErrors.js';
import type { Reply } from './route.js';

/** Reads a JSON body of at most `maxBytes` (413 past it, 415 unless application/json, 400 when it is not JSON). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      'unsupported_media_type',
      `send the body as JSON with the header "Content-Type: application/json" (got ${type ? JSON.stringify(type) : 'none'}).`,
    );
  }
  const tooLarge = (): HttpError =>
    new HttpError('payload_too_large', `the body is larger than this server's limit of ${maxBytes} bytes: split the request.`, { limit: maxBytes });
  if (Number(req.headers['content-length']) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError('malformed_json', `the body is not valid JSON: ${(error as Error).message}.`);
  }
}

/** Writes a reply unless the client is gone; JSON goes through jsonValue (float32 arrays as in the CLI's output). */
export function sendReply(res: ServerResponse, status: number, reply: Reply, headers: Record<string, string>): void {
  if (res.destroyed || res.headersSent) return;
  const body = 'json' in reply ? jsonValue(reply.json) : reply.body;
  const contentType = 'json' in reply ? 'application/json' : reply.contentType;
  res.writeHead(status, {
    ...headers,
    ...('json' in reply ? reply.headers : {}),
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export function sendError(res: ServerResponse, error: HttpError, headers: Record<string, string>): void {
  if (res.destroyed || res.headersSent) return;
  const body = JSON.stringify(error.body());
  res.writeHead(error.status, { ...headers, ...error.headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Checks "Authorization: Bearer <token>" in constant time (both sides hashed first, so lengths leak nothing either). */
export function checkBearer(req: IncomingMessage, token: string): void {
  const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  if (!match || !timingSafeEqual(digest(match[1] as string), digest(token))) {
    throw new HttpError(
      'unauthorized',
      match ? 'the bearer token is not valid.' : 'this server needs "Authorization: Bearer <token>" (the token its operator configured).',
      {},
      { 'WWW-Authenticate': 'Bearer' },
    );
  }
}

/** CORS response headers for a request's Origin, when that origin is allowed ("*" allows any). */
export function corsHeaders(req: IncomingMessage, allowedOrigins: readonly string[]): Record<string, string> {
  const origin = req.headers.origin;
  if (allowedOrigins.length === 0 || origin === undefined) return {};
  if (allowedOrigins.includes('*')) return { 'Access-Control-Allow-Origin': '*' };
  return allowedOrigins.includes(origin) ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
}

export const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
  'Access-Control-Max-Age': '600',
};
