/**
 * The browser cache of converted models (Cache API), so a second visit loads without downloading or converting.
 * An entry is a manifest (JSON: layout, tensor list, config and tokenizer files) and one weights blob, under a key
 * made of the source (URL or local file identities), the dtype and the conversion version. The manifest is written
 * after the blob: an entry without it is incomplete and ignored. Caching is best effort: without the Cache API
 * (insecure context) or over quota, the model still loads and the note says why it was not kept.
 */

const CACHE_NAME = 'igbert-models';

export interface CachedModel<Manifest> {
  manifest: Manifest;
  weights: Uint8Array;
}

function cacheStorage(): CacheStorage | undefined {
  return (globalThis as { caches?: CacheStorage }).caches;
}

async function entryUrl(key: string, part: 'manifest' | 'weights'): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  // Cache API keys must be http(s) URLs; this one is never fetched.
  return `https://igbert.invalid/models/${hex}/${part}`;
}

export async function readCachedModel<Manifest>(key: string): Promise<CachedModel<Manifest> | undefined> {
  const storage = cacheStorage();
  if (!storage) return undefined;
  const cache = await storage.open(CACHE_NAME);
  const manifest = await cache.match(await entryUrl(key, 'manifest'));
  const weights = await cache.match(await entryUrl(key, 'weights'));
  if (!manifest || !weights) return undefined;
  return { manifest: (await manifest.json()) as Manifest, weights: new Uint8Array(await weights.arrayBuffer()) };
}

/** Stores a model; returns undefined when kept, else the reason it was not (for the page's note). */
export async function writeCachedModel<Manifest>(key: string, model: CachedModel<Manifest>): Promise<string | undefined> {
  const storage = cacheStorage();
  if (!storage) return 'this page has no Cache API (it needs a secure context: https or localhost)';
  try {
    const cache = await storage.open(CACHE_NAME);
    const weights = model.weights;
    const body = weights.byteOffset === 0 && weights.byteLength === weights.buffer.byteLength ? weights : weights.slice();
    await cache.put(await entryUrl(key, 'weights'), new Response(body as Uint8Array<ArrayBuffer>));
    await cache.put(await entryUrl(key, 'manifest'), new Response(JSON.stringify(model.manifest)));
    return undefined;
  } catch (error) {
    return `the browser refused to store it (${(error as Error).message}); free some site storage or allow more`;
  }
}

/** Deletes every cached model; returns how many entries were removed. */
export async function clearModelCache(): Promise<number> {
  const storage = cacheStorage();
  if (!storage) return 0;
  const cache = await storage.open(CACHE_NAME);
  const keys = await cache.keys();
  await storage.delete(CACHE_NAME);
  return keys.length / 2;
}
