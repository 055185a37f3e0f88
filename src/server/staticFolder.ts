/**
 * `--ui DIR`: files of a static web folder under /ui/. Only files inside the folder are served (no "..", no dotfiles,
 * no links leading out of it); a missing file is a 404. The page itself is a later addition (web/).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, posix, sep } from 'node:path';
import { HttpError } from './httpErrors.js';

export const UI_PREFIX = '/ui';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The file for a request path under /ui (as sent, still percent-encoded), with its content type. */
export async function serveStatic(root: string | undefined, pathname: string): Promise<{ body: Buffer; contentType: string }> {
  const notFound = (message: string): HttpError => new HttpError('not_found', message, { path: pathname });
  if (root === undefined) {
    throw notFound('no web page is served here: start `igbert serve` with --ui DIR to serve one; the API is documented at /docs.');
  }
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.slice(UI_PREFIX.length));
  } catch {
    throw notFound(`${pathname} is not a valid path.`);
  }
  const normalized = posix.normalize(`/${relative}`);
  if (normalized.split('/').some((part) => part.startsWith('.'))) throw notFound(`${pathname} is not served.`);
  const realRoot = await realpath(root).catch(() => {
    throw notFound('the web folder given with --ui does not exist (any more).');
  });
  let file = join(realRoot, normalized);
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    file = await realpath(file);
  } catch {
    throw notFound(`${pathname} does not exist in the web folder.`);
  }
  if (!file.startsWith(realRoot + sep)) throw notFound(`${pathname} is not served.`);
  return { body: await readFile(file), contentType: CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
}
