/**
 * The two requests huggingface_hub's `hf_hub_download` makes, and nothing else of the Hub API:
 *   HEAD {endpoint}/{repo}/resolve/{revision}/{file}  -> X-Repo-Commit, X-Linked-Etag or ETag, X-Linked-Size or
 *        Content-Length; large (LFS) files answer 302 to a CDN, whose URL is where the bytes are fetched from.
 *   GET  that location -> the bytes, resumed with Range when the connection breaks off.
 * Each transfer is verified against the metadata (size, and sha256 for LFS files / git blob sha1 for the others,
 * which is what the etag is) before it is renamed to its final name in blobs/.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { COMMIT_HASH, temporaryPath } from './repoCache.js';
import { HubError, RANDOM_WEIGHTS_HINT } from './hubError.js';
import { proxyFetch, proxyFor, redactProxy } from './proxyFetch.js';
import type { HubSettings } from './settings.js';
import type { ProgressListener } from './progress.js';

export interface FileMetadata {
  /** The commit the revision resolved to. */
  commit: string;
  /** sha256 (LFS files) or git blob sha1 (others): the blob's name in the cache. */
  etag: string;
  /** Size in bytes, when the Hub says. */
  size: number | undefined;
  /** Where to GET the bytes: the resolve URL, or the CDN URL it redirected to. */
  location: string;
}

const USER_AGENT = `igbert/0.1.0; node/${process.versions.node}`;
const REDIRECT_LIMIT = 20; // httpx's default, which huggingface_hub keeps

/** Python's `_normalize_etag`: ETag: W/"x" and "x" both name blob x. */
function normalizeEtag(value: string | null): string | undefined {
  return value?.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'no answer before the timeout (HF_HUB_ETAG_TIMEOUT)';
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

export class HubClient {
  private readonly origin: string;

  constructor(
    private readonly settings: HubSettings,
    readonly repo: string,
  ) {
    this.origin = new URL(settings.endpoint).origin;
  }

  resolveUrl(revision: string, file: string): string {
    const path = file.split('/').map(encodeURIComponent).join('/');
    return `${this.settings.endpoint}/${this.repo}/resolve/${encodeURIComponent(revision)}/${path}`;
  }

  /** The token goes to the Hub only, never to the CDN a large file redirects to (signed URLs need none). */
  private headers(url: string, extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...extra };
    if (this.settings.token && new URL(url).origin === this.origin) headers['authorization'] = `Bearer ${this.settings.token}`;
    return headers;
  }

  unreachable(error: unknown, url: string = this.settings.endpoint): HubError {
    const { endpoint, cacheDir } = this.settings;
    const proxyUrl = proxyFor(url);
    const proxy = proxyUrl && redactProxy(proxyUrl);
    const via = proxy ? ` through the proxy ${proxy} (from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY)` : '';
    return new HubError(
      'unreachable',
      `cannot reach the Hugging Face Hub at ${endpoint} (HF_ENDPOINT)${via} to download ${this.repo}: ${describeCause(error)}. ` +
        (proxy ? 'Check the proxy settings (NO_PROXY lists hosts to reach directly), or ' : 'Check the network (behind a proxy, set HTTPS_PROXY), or ') +
        `set HF_HUB_OFFLINE=1 to use a copy already in the cache (${cacheDir}), or pass --model a local checkpoint folder ` +
        `(a copy of the repository, or ${RANDOM_WEIGHTS_HINT}).`,
      { cause: error, details: { repo: this.repo, endpoint, ...(proxy ? { proxy } : {}) } },
    );
  }

  /** A refusal from the Hub, with what to do about it (huggingface_hub's `hf_raise_for_status` distinctions). */
  statusError(response: Response, url: string, revision: string): HubError {
    const { endpoint } = this.settings;
    const code = response.headers.get('x-error-code');
    const serverMessage = response.headers.get('x-error-message');
    const details = { repo: this.repo, revision, url, status: response.status, errorCode: code ?? undefined };
    const tokenNote = this.settings.token ? 'the token sent (HF_TOKEN)' : 'no token was sent (set HF_TOKEN)';
    if (code === 'RevisionNotFound') {
      return new HubError('revision-not-found', `revision ${JSON.stringify(revision)} does not exist in ${this.repo} on ${endpoint}. ` +
        `Pass --revision a branch, tag or commit hash of the repository (see ${endpoint}/${this.repo}/commits/main).`, { details });
    }
    if (code === 'GatedRepo') {
      return new HubError('gated', `${this.repo} is a gated repository and ${tokenNote} ${this.settings.token ? 'has no access to it' : ''}`.trimEnd() +
        `. Open ${endpoint}/${this.repo} while logged in, accept its conditions, then set HF_TOKEN to a read token of that account.`, { details });
    }
    if (serverMessage === 'Invalid credentials in Authorization header') {
      return new HubError('unauthorized', `the Hub refused the token in HF_TOKEN (invalid or expired). Create a read token at ` +
        `${endpoint}/settings/tokens, or unset HF_TOKEN for public models.`, { details });
    }
    if (code === 'RepoNotFound' || response.status === 401 || response.status === 404) {
      return new HubError('not-found', `${this.repo} was not found on ${endpoint} (HTTP ${response.status}; ${tokenNote}). ` +
        'Check the id (org/name, case matters); for a private repository set HF_TOKEN to a token that can read it; ' +
        `if you meant a local folder, ${this.repo} does not exist in ${process.cwd()}.`, { details });
    }
    const retry = response.status === 429 || response.status >= 500;
    return new HubError('http', `the Hub answered ${response.status} ${response.statusText}${serverMessage ? ` (${serverMessage})` : ''} for ${url}. ` +
      (retry ? 'Try again later, or set HF_HUB_OFFLINE=1 to use a cached copy.' : 'Check --model and --revision.'), { details });
  }

  private protocolError(url: string, what: string): HubError {
    return new HubError('protocol', `${url} answered without ${what}, so ${this.settings.endpoint} does not behave like a Hugging Face ` +
      'Hub. If HF_ENDPOINT is set, check that it points to the Hub or a Hub mirror.', { details: { repo: this.repo, url } });
  }

  /** HEAD of one file at `revision`; undefined when the repository has no such file there (404 EntryNotFound). */
  async fileMetadata(revision: string, file: string): Promise<FileMetadata | { absent: true; commit?: string }> {
    let url = this.resolveUrl(revision, file);
    for (let hop = 0; hop < REDIRECT_LIMIT; hop++) {
      let response: Response;
      try {
        response = await proxyFetch(url, {
          method: 'HEAD',
          redirect: 'manual',
          headers: this.headers(url),
          signal: AbortSignal.timeout(this.settings.metadataTimeoutSeconds * 1000),
        });
      } catch (error) {
        throw this.unreachable(error, url);
      }
      const location = response.headers.get('location');
      const redirected = response.status >= 300 && response.status < 400 && location !== null;
      if (redirected && new URL(location, url).origin === this.origin) {
        url = new URL(location, url).href; // a renamed repository: still the Hub, keep asking it
        continue;
      }
      const code = response.headers.get('x-error-code');
      if (response.status === 404 && (code === 'EntryNotFound' || code === null)) {
        const commit = response.headers.get('x-repo-commit') ?? undefined;
        return commit && COMMIT_HASH.test(commit) ? { absent: true, commit } : { absent: true };
      }
      if (!response.ok && !redirected) throw this.statusError(response, url, revision);
      const commit = response.headers.get('x-repo-commit');
      if (!commit || !COMMIT_HASH.test(commit)) throw this.protocolError(url, 'an X-Repo-Commit header (a 40-character commit hash)');
      const etag = normalizeEtag(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
      // The etag becomes a file name in blobs/: accept only what the Hub sends (hex digests) or similarly plain names.
      if (!etag || !/^[\w-]+$/.test(etag)) throw this.protocolError(url, 'an ETag usable as a blob name');
      const sizeHeader = response.headers.get('x-linked-size') ?? (redirected ? null : response.headers.get('content-length'));
      const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
      return { commit, etag, size, location: redirected ? new URL(location, url).href : url };
    }
    throw this.protocolError(url, `an end to its redirects (more than ${REDIRECT_LIMIT})`);
  }

  /**
   * Downloads `meta` into `destination` through a uniquely named `.incomplete` file beside it, verifies size and
   * hash, and renames it into place: an interrupted or corrupt transfer never leaves a file under the final name.
   */
  async download(meta: FileMetadata, file: string, destination: string, progress?: ProgressListener): Promise<void> {
    const temporary = temporaryPath(destination, 'incomplete');
    const handle = await open(temporary, 'wx');
    try {
      const algorithm = /^[0-9a-f]{64}$/.test(meta.etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(meta.etag) ? 'git blob sha1' : undefined;
      // A git blob id is sha1("blob <size>\0" + content): it can be computed while streaming once the size is known.
      const newHash = (size: number | undefined): Hash | undefined =>
        algorithm === 'sha256' ? createHash('sha256') : algorithm && size !== undefined ? createHash('sha1').update(`blob ${size}\0`) : undefined;
      const received = await this.transfer(meta, file, handle, () => newHash(meta.size), progress);
      await handle.sync();
      await handle.close();
      const fail = (what: string, expected: string | number, actual: string | number): HubError =>
        new HubError('integrity', `the download of ${this.repo}/${file} from ${meta.location} is corrupt: ${what} ${actual}, ` +
          `but the Hub's metadata says ${expected}. Nothing was kept in the cache; run the command again. If this repeats, ` +
          'the server (HF_ENDPOINT, a proxy or a CDN) is sending other bytes than it describes.',
          { details: { repo: this.repo, file, url: meta.location, what, expected, actual } });
      if (meta.size !== undefined && received.bytes !== meta.size) throw fail('size', meta.size, received.bytes);
      let digest = received.digest;
      if (digest === undefined && algorithm !== undefined) {
        // Size unknown before the transfer (a server without Content-Length): hash the small non-LFS file now.
        const content = await readFile(temporary);
        digest = newHash(content.byteLength)?.update(content).digest('hex');
      }
      if (digest !== undefined && digest !== meta.etag) throw fail(algorithm as string, meta.etag, digest);
      // Any other etag form (not a hex digest) leaves the size as the only check there is.
      await rename(temporary, destination);
      progress?.({ repo: this.repo, file, phase: 'done', bytes: received.bytes, total: meta.size });
    } finally {
      await handle.close().catch(() => undefined);
      await rm(temporary, { force: true });
    }
  }

  /** GET with resume: the byte count grows across attempts; `retries` attempts in a row without progress fail. */
  private async transfer(
    meta: FileMetadata,
    file: string,
    handle: FileHandle,
    newHash: () => Hash | undefined,
    progress: ProgressListener | undefined,
  ): Promise<{ bytes: number; digest: string | undefined }> {
    let hash = newHash();
    let bytes = 0;
    let furthest = 0;
    let failures = 0;
    const report = (phase: 'start' | 'data'): void => progress?.({ repo: this.repo, file, phase, bytes, total: meta.size });
    report('start');
    for (;;) {
      const controller = new AbortController();
      let idle: NodeJS.Timeout | undefined;
      const armIdleTimer = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(new Error('no data for HF_HUB_DOWNLOAD_TIMEOUT seconds')), this.settings.idleTimeoutSeconds * 1000);
      };
      try {
        armIdleTimer();
        const range: Record<string, string> = bytes > 0 ? { range: `bytes=${bytes}-` } : {};
        const response = await proxyFetch(meta.location, { headers: this.headers(meta.location, range), signal: controller.signal });
        if (!response.ok) throw this.statusError(response, meta.location, meta.commit);
        const rangeStart = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
        if (response.status === 206 && Number(rangeStart) !== bytes) {
          throw this.protocolError(meta.location, `the range asked for (bytes ${bytes}-)`);
        }
        if (bytes > 0 && response.status !== 206) {
          // The server ignored Range and sends everything again: start over rather than append a second copy.
          await handle.truncate(0);
          bytes = 0;
          hash = newHash();
        }
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          armIdleTimer();
          for (let written = 0; written < value.byteLength; ) {
            written += (await handle.write(value, written, value.byteLength - written, bytes + written)).bytesWritten;
          }
          hash?.update(value);
          bytes += value.byteLength;
          if (meta.size !== undefined && bytes > meta.size) break; // longer than described: refused below, stop filling the disk
          report('data');
        }
        await reader.cancel().catch(() => undefined); // frees the connection when the loop stopped early
        return { bytes, digest: hash?.digest('hex') };
      } catch (error) {
        if (error instanceof HubError) throw error;
        if (bytes > furthest) {
          furthest = bytes;
          failures = 0;
        }
        if (++failures > this.settings.retries) {
          throw new HubError('interrupted', `the download of ${this.repo}/${file} broke off (${describeCause(error)}) after ` +
            `${bytes} of ${meta.size ?? '?'} bytes, ${failures} times without progress. Nothing was kept in the cache; ` +
            'run the command again when the connection is stable.', { cause: error, details: { repo: this.repo, file, bytes } });
        }
        await new Promise((done) => setTimeout(done, Math.min(200 * failures, 2000)));
      } finally {
        clearTimeout(idle);
      }
    }
  }
}
