/** The two access controls in front of the routes: the bearer token and CORS. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './httpErrors.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Checks an "Authorization: Bearer <token>" header in constant time (both sides hashed first, so lengths leak nothing either). */
export function checkBearer(authorization: string | undefined, token: string): void {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
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
export function corsHeaders(origin: string | undefined, allowedOrigins: readonly string[]): Record<string, string> {
  if (allowedOrigins.length === 0 || origin === undefined) return {};
  if (allowedOrigins.includes('*')) return { 'Access-Control-Allow-Origin': '*' };
  return allowedOrigins.includes(origin) ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
}

export const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
  'Access-Control-Max-Age': '600',
};

/** Whether a Content-Type header says JSON (POST bodies must be JSON, which also makes browsers ask CORS first). */
export function isJsonContentType(type: string | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test(type ?? '');
}
