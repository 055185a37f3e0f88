/**
 * Where a checkpoint's files come from in the browser: a URL of a Hugging Face-format folder (a Hub
 * `.../resolve/main/` URL or a self-hosted copy) or files the user picked (a folder or loose files). Both answer the
 * same three questions: a file's text, a file's bytes (with download progress), and a key that changes when the
 * files do (for the cache).
 */
import { FileError } from '../errors.js';

/** Bytes so far of one file; `total` is undefined when the server does not say. */
export type ByteProgress = (loaded: number, total: number | undefined) => void;

export interface ModelFiles {
  /** The URL or "local files: a, b, ..." for messages. */
  readonly description: string;
  /** Identifies these files for the cache: the URL, or local names, sizes and modification times. */
  readonly cacheKey: string;
  /** UTF-8 text of a file; undefined when it does not exist. */
  text(name: string): Promise<string | undefined>;
  /** A file's bytes; undefined when it does not exist. */
  bytes(name: string, onProgress?: ByteProgress): Promise<Uint8Array | undefined>;
}

/** A URL folder: files are fetched relative to it. */
export function urlFiles(url: string | URL, fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)): ModelFiles {
  const base = new URL(String(url), globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const open = async (name: string): Promise<Response | undefined> => {
    const address = new URL(name, base).href;
    let response: Response;
    try {
      response = await fetchImpl(address);
    } catch (cause) {
      throw new FileError(
        `could not fetch ${address} (${(cause as Error).message}). Check the URL, your connection, and that the server ` +
          'allows this page to read it (CORS: Access-Control-Allow-Origin).',
        { cause, details: { url: address } },
      );
    }
    if (response.status === 404) return undefined;
    if (!response.ok) {
      const hint = response.status === 401 || response.status === 403 ? ' The model may be gated or private: download it and pick the files instead.' : '';
      throw new FileError(`${address} answered HTTP ${response.status} ${response.statusText}.${hint}`, { details: { url: address } });
    }
    return response;
  };
  return {
    description: base.href,
    cacheKey: base.href,
    async text(name) {
      return (await open(name))?.text();
    },
    async bytes(name, onProgress) {
      const response = await open(name);
      return response ? readWithProgress(response, onProgress) : undefined;
    },
  };
}

/**
 * Reads a response body into one buffer, reporting progress. The buffer is sized from Content-Length when the body
 * is not compressed (else the length counts compressed bytes) and grows when a server says less than it sends.
 */
async function readWithProgress(response: Response, onProgress?: ByteProgress): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  const total = response.headers.get('content-encoding') || !Number.isFinite(declared) || declared <= 0 ? undefined : declared;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  let buffer = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > buffer.byteLength) {
      const grown = new Uint8Array(Math.max(buffer.byteLength * 2, loaded + value.byteLength));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.byteLength;
    onProgress?.(loaded, total);
  }
  return loaded === buffer.byteLength ? buffer : buffer.slice(0, loaded);
}

/**
 * Files the user picked. A picked folder gives paths relative to it ("IgBert/onnx/model.onnx" → "onnx/model.onnx");
 * loose files are found by name alone.
 */
export function localFiles(files: Iterable<File>): ModelFiles {
  const byPath = new Map<string, File>();
  for (const file of files) {
    const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    const path = relative.includes('/') ? relative.slice(relative.indexOf('/') + 1) : relative;
    byPath.set(path, file);
    if (!byPath.has(file.name)) byPath.set(file.name, file);
  }
  const find = (name: string): File | undefined => byPath.get(name) ?? byPath.get(name.slice(name.lastIndexOf('/') + 1));
  const unique = [...new Set(byPath.values())];
  return {
    description: `local files: ${unique.map((f) => f.name).join(', ')}`,
    cacheKey: `local:${unique.map((f) => `${f.name}:${f.size}:${f.lastModified}`).sort().join('|')}`,
    async text(name) {
      return find(name)?.text();
    },
    async bytes(name, onProgress) {
      const file = find(name);
      if (!file) return undefined;
      const bytes = new Uint8Array(await file.arrayBuffer());
      onProgress?.(bytes.byteLength, bytes.byteLength);
      return bytes;
    },
  };
}
