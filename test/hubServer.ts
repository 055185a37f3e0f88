/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1, reached through HF_ENDPOINT, answering the resolve endpoint as
 * the Hub does (huggingface_hub's file_download.py reads the same headers):
 *   - small files: 200 with ETag = git blob sha1, X-Repo-Commit, Content-Length;
 *   - LFS files (*.safetensors, *.bin): 302 to a "CDN" on a second port, with X-Linked-Etag = sha256, X-Linked-Size;
 *   - errors with X-Error-Code: RepoNotFound (401), GatedRepo (401/403), RevisionNotFound / EntryNotFound (404).
 * The CDN honours Range (206) and can be told to corrupt or cut off a file. Every request is recorded.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface RecordedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

/** corrupt: one byte changed; cut: half the body then the connection dies (always, Range ignored); cutOnce: only the first GET. */
export type Fault = 'corrupt' | 'cut' | 'cutOnce';

interface FakeRepo {
  commits: Map<string, Map<string, Buffer>>;
  refs: Map<string, string>;
  /** Token that may read a gated repository. */
  gatedFor?: string;
}

export const isLfs = (file: string): boolean => /\.(safetensors|bin)$/.test(file);
export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
export const gitBlobSha1 = (bytes: Buffer): string =>
  createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
/** The name huggingface_hub gives the blob of `bytes` in the cache. */
export const etagOf = (file: string, bytes: Buffer): string => (isLfs(file) ? sha256(bytes) : gitBlobSha1(bytes));
export const commitHash = (label: string): string => createHash('sha1').update(label).digest('hex');

/** The files of a checkpoint folder, plus `extra` (e.g. a pytorch_model.bin that must never be fetched). */
export function filesOf(folder: string, extra: Record<string, string | Buffer> = {}): Map<string, Buffer> {
  const files = new Map(readdirSync(folder).map((name) => [name, readFileSync(join(folder, name))] as const));
  for (const [name, content] of Object.entries(extra)) files.set(name, Buffer.from(content));
  return files;
}

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new Map<string, Fault>();
  private readonly repos = new Map<string, FakeRepo>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly getsPerFile = new Map<string, number>();
  endpoint = '';
  cdn = '';

  private constructor(
    private readonly hubServer: Server,
    private readonly cdnServer: Server,
  ) {}

  static async start(): Promise<FakeHub> {
    let hub: FakeHub | undefined;
    const hubServer = createServer((req, res) => hub?.serveHub(req, res));
    const cdnServer = createServer((req, res) => hub?.serveCdn(req, res));
    hub = new FakeHub(hubServer, cdnServer);
    const listen = (server: Server): Promise<number> =>
      new Promise((done) => server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)));
    hub.endpoint = `http://127.0.0.1:${await listen(hubServer)}`;
    hub.cdn = `http://127.0.0.1:${await listen(cdnServer)}`;
    return hub;
  }

  /** Adds a repository: commit label -> files; refs name -> commit label. Returns the commit hashes by label. */
  addRepo(id: string, commits: Record<string, Map<string, Buffer>>, refs: Record<string, string>, gatedFor?: string): Record<string, string> {
    const hashes: Record<string, string> = {};
    const repo: FakeRepo = { commits: new Map(), refs: new Map(), ...(gatedFor ? { gatedFor } : {}) };
    for (const [label, files] of Object.entries(commits)) {
      const hash = commitHash(`${id}@${label}`);
      hashes[label] = hash;
      repo.commits.set(hash, files);
      for (const [name, bytes] of files) if (isLfs(name)) this.blobs.set(sha256(bytes), bytes);
    }
    for (const [name, label] of Object.entries(refs)) repo.refs.set(name, hashes[label] as string);
    this.repos.set(id, repo);
    return hashes;
  }

  /** Forgets recorded requests, faults and attempt counts (between tests). */
  reset(): void {
    this.requests.length = 0;
    this.faults.clear();
    this.getsPerFile.clear();
  }

  async close(): Promise<void> {
    for (const server of [this.hubServer, this.cdnServer]) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  }

  private record(server: 'hub' | 'cdn', req: IncomingMessage): void {
    this.requests.push({
      server,
      method: req.method ?? '',
      path: decodeURIComponent((req.url ?? '').split('?')[0] as string),
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    this.record('hub', req);
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec((req.url ?? '').split('?')[0] as string);
    const error = (status: number, code: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'x-error-code': code, 'x-error-message': code, ...headers }).end();
    };
    if (!match) return error(404, 'RepoNotFound');
    const [, id, revision, path] = match.map((part) => decodeURIComponent(part ?? '')) as [string, string, string, string];
    const repo = this.repos.get(id);
    if (!repo) return error(401, 'RepoNotFound'); // the Hub answers 401 to anonymous requests for unknown repos
    if (repo.gatedFor && req.headers.authorization !== `Bearer ${repo.gatedFor}`) {
      return error(req.headers.authorization ? 403 : 401, 'GatedRepo');
    }
    const commit = repo.refs.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);
    if (!commit) return error(404, 'RevisionNotFound');
    const content = repo.commits.get(commit)?.get(path);
    if (!content) return error(404, 'EntryNotFound', { 'x-repo-commit': commit });
    if (isLfs(path)) {
      const body = 'Found. Redirecting';
      res.writeHead(302, {
        location: `${this.cdn}/lfs/${sha256(content)}?commit=${commit}&file=${encodeURIComponent(path)}`,
        'x-repo-commit': commit,
        'x-linked-etag': `"${sha256(content)}"`,
        'x-linked-size': String(content.byteLength),
        etag: `W/"redirect-${commit.slice(0, 8)}"`,
        'content-length': String(body.length),
      });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    this.sendBody(req, res, path, content, { etag: `"${gitBlobSha1(content)}"`, 'x-repo-commit': commit });
  }

  /** The CDN also answers HEAD with the metadata, as Python follows a redirect to the same host name (other port). */
  private serveCdn(req: IncomingMessage, res: ServerResponse): void {
    this.record('cdn', req);
    const url = new URL(req.url ?? '/', this.cdn);
    const content = this.blobs.get(url.pathname.replace('/lfs/', ''));
    if (!content) return void res.writeHead(404).end();
    const file = url.searchParams.get('file') ?? '';
    this.sendBody(req, res, file, content, { etag: `"${sha256(content)}"`, 'x-repo-commit': url.searchParams.get('commit') ?? '' });
  }

  private sendBody(req: IncomingMessage, res: ServerResponse, file: string, content: Buffer, headers: Record<string, string>): void {
    if (req.method === 'HEAD') return void res.writeHead(200, { ...headers, 'content-length': String(content.byteLength) }).end();
    const attempt = (this.getsPerFile.get(file) ?? 0) + 1;
    this.getsPerFile.set(file, attempt);
    const fault = this.faults.get(file);
    if (fault === 'cut' || (fault === 'cutOnce' && attempt === 1)) {
      res.writeHead(200, { ...headers, 'content-length': String(content.byteLength) });
      res.write(content.subarray(0, content.byteLength >> 1), () => res.destroy());
      return;
    }
    let body = content;
    if (fault === 'corrupt') {
      body = Buffer.from(content);
      body[body.byteLength >> 1] = (body[body.byteLength >> 1] as number) ^ 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, {
        ...headers,
        'content-range': `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`,
        'content-length': String(body.byteLength - start),
      });
      return void res.end(body.subarray(start));
    }
    res.writeHead(200, { ...headers, 'content-length': String(body.byteLength) }).end(body);
  }
}
