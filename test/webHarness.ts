/**
 * Helpers for the browser tests: a static server for the built page and model folders (with the COOP/COEP headers
 * that multi-threaded wasm needs), and Debian's Chromium launched headless through playwright-core, on the wasm
 * path (GPU off) or the WebGPU path (Chromium's SwiftShader Vulkan adapter: works without a GPU).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['IGBERT_CHROMIUM'] ?? '/usr/bin/chromium';
export const chromiumMissing = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is absent: install Debian's Chromium (apt-get install -y chromium) to run the browser tests`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  url: string;
  /** Paths requested so far (to prove what was, and was not, downloaded). */
  requests: string[];
  close(): Promise<void>;
}

/** Serves folders under URL prefixes ("/" → the page, "/model/" → a checkpoint) on 127.0.0.1, a random port. */
export async function serveFolders(mounts: Record<string, string>): Promise<StaticServer> {
  const requests: string[] = [];
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server: Server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    requests.push(path);
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    const prefix = prefixes.find((p) => path.startsWith(p));
    const relative = prefix === undefined ? undefined : normalize(path.slice(prefix.length) || 'index.html');
    if (prefix === undefined || relative === undefined || relative.startsWith('..') || relative.includes(`..${sep}`)) {
      response.writeHead(404).end();
      return;
    }
    const file = join(mounts[prefix] as string, relative.endsWith('/') ? `${relative}index.html` : relative);
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.byteLength });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export type BrowserPath = 'wasm' | 'webgpu';

/** Chromium flags known to work headless as root on a machine without network or GPU. */
const COMMON_FLAGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PATH_FLAGS: Record<BrowserPath, string[]> = {
  wasm: ['--disable-gpu'],
  // Dawn on Chromium's bundled SwiftShader Vulkan: a software WebGPU adapter.
  webgpu: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'],
};

export async function launchChromium(path: BrowserPath): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives every launch a fresh, empty profile (its own --user-data-dir).
    args: [...COMMON_FLAGS, ...PATH_FLAGS[path]],
  });
}
