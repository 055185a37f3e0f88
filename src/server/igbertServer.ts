/**
 * `igbert serve` as a library: an HTTP server (node:http) in front of one IgBertModel. It listens at once and answers
 * 503 until the model is loaded and warmed up; task routes feed the cross-request WorkQueue; close() drains
 * gracefully (stop accepting, finish in-flight requests). Routing, auth, CORS, limits and error statuses all live here
 * or in the one table they read (routes, httpErrors).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import type { IgBertModel } from '../model.js';
import { PRODUCER } from '../version.js';
import { resolveBatching } from '../batches/planBatches.js';
import { residueAlphabet } from '../tokenizer/antibody.js';
import { checkBearer, corsHeaders, PREFLIGHT_HEADERS, readJsonBody, sendError, sendReply } from './http.js';
import { HttpError, toHttpError } from './httpErrors.js';
import { validate } from './jsonSchema.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { ServerMetrics } from './metrics.js';
import { docsPage, openApiDocument } from './openapi.js';
import type { Route } from './route.js';
import { embedRoute } from './routes/embed.js';
import { fillRoute } from './routes/fill.js';
import { mutateRoute } from './routes/mutate.js';
import { openaiEmbeddingsRoute } from './routes/openaiEmbeddings.js';
import { scoreRoute } from './routes/score.js';
import { systemRoutes } from './routes/system.js';
import { serveStatic, UI_PREFIX } from './staticFolder.js';
import { ClientGone, WorkQueue } from './workQueue.js';

export interface ServerOptions {
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 8080; 0 picks a free port (see `url`). */
  port?: number;
  limits?: Partial<ServerLimits>;
  /** Bearer token every route except /health, /docs and /openapi.json requires; undefined = no auth. */
  authToken?: string;
  /** Origins allowed to call from a browser ("*" = any); empty = CORS off. */
  corsOrigins?: readonly string[];
  /** Static web folder served under /ui/. */
  uiFolder?: string;
  /** Name reported by /info and /v1/embeddings; default: the Hub id, else the checkpoint folder's name. */
  modelId?: string;
  /** Reported by /info; default: the commit of a Hub cache snapshot, else null. */
  revision?: string | null;
  /** After this long, close() cuts connections still open. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** One-line notes (ready, errors). Default: stderr. */
  log?: (line: string) => void;
}

type State = 'loading' | 'ready' | 'draining' | 'failed';

const NO_QUEUE_YET = { queuedTokens: 0, pendingItems: 0, tokensPerSecond: 0, cancelledItems: 0 };

export class IgBertServer {
  readonly limits: ServerLimits;
  readonly metrics = new ServerMetrics();
  /** Resolves when the model is loaded and warmed up; rejects when loading fails. */
  readonly ready: Promise<void>;
  private state: State = 'loading';
  private model: IgBertModel | undefined;
  private queue: WorkQueue | undefined;
  private inFlight = 0;
  private closing: Promise<void> | undefined;
  private readonly routes: Route[];
  private readonly log: (line: string) => void;

  private constructor(
    private readonly http: Server,
    model: IgBertModel | Promise<IgBertModel>,
    private readonly options: ServerOptions,
  ) {
    this.limits = resolveLimits(options.limits);
    this.log = options.log ?? ((line) => process.stderr.write(`igbert: ${line}\n`));
    this.routes = [
      embedRoute(this.limits),
      scoreRoute(this.limits),
      mutateRoute(this.limits),
      fillRoute(this.limits),
      openaiEmbeddingsRoute(this.limits),
      ...systemRoutes({
        info: () => this.info(),
        metricsText: () => this.metrics.render(this.queue?.stats ?? NO_QUEUE_YET, this.inFlight),
        openApi: () => openApiDocument(this.routes, this.docInfo()),
        docsHtml: () => docsPage(this.routes, this.docInfo()),
      }),
    ];
    this.ready = this.load(model);
    // A failed load is reported through `ready`; this keeps it from also being an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Starts listening now; the model (or the promise of it) becomes usable when `ready` resolves. */
  static async start(model: IgBertModel | Promise<IgBertModel>, options: ServerOptions = {}): Promise<IgBertServer> {
    const http = createServer();
    const server = new IgBertServer(http, model, options);
    http.on('request', (req, res) => void server.onRequest(req, res));
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8080;
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException): void => {
        const reason = error.code === 'EADDRINUSE' ? 'is in use' : error.code === 'EACCES' ? 'needs privileges' : `failed (${error.message})`;
        reject(new UsageError(`listening on ${host}:${port} ${reason}; choose another --port or --host.`, { cause: error }));
      };
      http.once('error', failed);
      http.listen(port, host, () => {
        http.off('error', failed);
        resolve();
      });
    });
    return server;
  }

  get url(): string {
    const address = this.http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** The queue's counters (tests and the benchmark read them). */
  get queueStats(): WorkQueue['stats'] | undefined {
    return this.queue?.stats;
  }

  private async load(pending: IgBertModel | Promise<IgBertModel>): Promise<void> {
    try {
      const model = await pending;
      await warmUp(model);
      const engine = model.engineInfo;
    const batching = resolveBatching(model.options.batching, engine.batching);
      this.queue = new WorkQueue({
        maxQueueTokens: this.limits.maxQueueTokens,
        dispatchTokens: batching.maxBatchTokens,
        maxWaitMs: this.limits.maxWaitMs,
        onDispatch: (report) => this.metrics.recordDispatch(report),
      });
      this.model = model;
      if (this.state === 'loading') this.state = 'ready';
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  /** Stops accepting, answers 503 to new requests on open connections, finishes the rest, then resolves. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'draining';
      const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      const timer = setTimeout(() => this.http.closeAllConnections(), this.options.shutdownTimeoutMs ?? 30_000);
      timer.unref();
      await closed;
      clearTimeout(timer);
      await this.queue?.idle();
    })();
    return this.closing;
  }

  private docInfo(): { title: string; authRequired: boolean } {
    return { title: `igbert ${PRODUCER.version} HTTP API`, authRequired: this.options.authToken !== undefined };
  }

  private info(): Record<string, unknown> {
    const model = this.model as IgBertModel;
    const { config, checkpoint } = model;
    const engine = model.engineInfo;
    const batching = resolveBatching(model.options.batching, engine.batching);
    const mlm = checkpoint.hasMlmHead;
    return {
      version: PRODUCER.version,
      model: {
        id: this.modelId(),
        revision: this.options.revision ?? hubSnapshot(checkpoint.source)?.commit ?? null,
        dtype: engine.precision,
        device: engine.device,
        device_name: engine.deviceName ?? null,
        runtime: engine.runtime,
        hidden_size: config.hidden_size,
        num_hidden_layers: config.num_hidden_layers,
        vocab_size: config.vocab_size,
        max_position_embeddings: config.max_position_embeddings,
        has_mlm_head: mlm,
        has_pooler: checkpoint.hasPooler,
      },
      routes: this.routes.filter((r) => mlm || !['/v1/score', '/v1/mutate', '/v1/fill'].includes(r.path)).map((r) => `${r.method} ${r.path}`),
      limits: {
        max_items_per_request: this.limits.maxItems,
        max_chain_residues: this.limits.maxChainResidues,
        max_body_bytes: this.limits.maxBodyBytes,
        max_queue_tokens: this.limits.maxQueueTokens,
        max_residue_embeddings: this.limits.maxResidueEmbeddings,
        max_wait_ms: this.limits.maxWaitMs,
        max_batch_tokens: batching.maxBatchTokens,
        max_batch_size: batching.maxBatchSize,
      },
      auth: this.options.authToken !== undefined,
      cors_origins: this.options.corsOrigins ?? [],
    };
  }

  private modelId(): string {
    const source = (this.model as IgBertModel).checkpoint.source;
    return this.options.modelId ?? hubSnapshot(source)?.repo ?? basename(source);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    this.inFlight++;
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let label = 'unmatched';
    let status = 200;
    const headers: Record<string, string> = { ...corsHeaders(req, this.options.corsOrigins ?? []) };
    // While draining, keep-alive connections are closed after their answer so that close() can finish.
    if (this.state === 'draining') headers['Connection'] = 'close';
    try {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method === 'OPTIONS' && (this.options.corsOrigins?.length ?? 0) > 0) {
        status = 204;
        res.writeHead(204, { ...headers, ...PREFLIGHT_HEADERS }).end();
        return;
      }
      if (this.state === 'draining') throw new HttpError('shutting_down', 'the server is shutting down; send the request to another instance or retry later.');
      if (this.routes.some((r) => r.path === pathname)) label = pathname;
      const route = this.match(pathname, req.method ?? 'GET');
      if (route === undefined) {
        if ((req.method === 'GET' && pathname === UI_PREFIX) || pathname.startsWith(`${UI_PREFIX}/`)) {
          label = UI_PREFIX;
          // Cross-origin isolation lets the page's WebAssembly runtime use threads (SharedArrayBuffer).
          const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
          sendReply(res, 200, await serveStatic(this.options.uiFolder, pathname), { ...headers, ...isolation });
          return;
        }
        throw new HttpError('not_found', `no route ${pathname}; the API is listed at /docs and /openapi.json.`, { path: pathname });
      }
      if (!route.public && this.options.authToken !== undefined) checkBearer(req, this.options.authToken);
      if (route.needsModel && this.state === 'failed') throw new HttpError('not_ready', 'the model failed to load; the server log says why.');
      if (route.needsModel && this.state !== 'ready') {
        throw new HttpError('not_ready', 'the model is still loading; retry in a few seconds (GET /health says when it is ready).', {}, { 'Retry-After': '1' });
      }
      let body: unknown;
      if (route.request) {
        body = await readJsonBody(req, this.limits.maxBodyBytes);
        validate(body, route.request);
      }
      const context = { model: this.model as IgBertModel, queue: this.queue as WorkQueue, limits: this.limits, modelId: this.model ? this.modelId() : '', signal: controller.signal };
      sendReply(res, 200, await route.handle(context, body), headers);
    } catch (error) {
      if (error instanceof ClientGone || controller.signal.aborted) {
        status = 499; // nginx's "client closed request": counted, never sent
        return;
      }
      const httpError = toHttpError(error);
      status = httpError.status;
      if (httpError.type === 'internal') this.log(`internal error on ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`);
      if (status === 413) headers['Connection'] = 'close'; // the rest of the body is not read
      sendError(res, httpError, headers);
    } finally {
      this.inFlight--;
      this.metrics.recordRequest(label, status, (performance.now() - started) / 1000);
    }
  }

  /** The route for a path and method; 405 (with Allow) when the path exists for other methods only. */
  private match(pathname: string, method: string): Route | undefined {
    const candidates = this.routes.filter((route) => route.path === pathname);
    if (candidates.length === 0) return undefined;
    const route = candidates.find((r) => r.method === method);
    if (route) return route;
    const allow = candidates.map((r) => r.method).join(', ');
    throw new HttpError('method_not_allowed', `${pathname} accepts ${allow}, not ${method}.`, { allow }, { Allow: allow });
  }
}

/** "org/name" and the commit of a huggingface_hub cache snapshot folder (models--org--name/snapshots/<commit>). */
function hubSnapshot(folder: string): { repo: string; commit: string } | undefined {
  const match = /models--([^/\\]+?)--([^/\\]+)[/\\]snapshots[/\\]([0-9a-f]{40})[/\\]?$/.exec(folder);
  return match ? { repo: `${match[1]}/${match[2]}`, commit: match[3] as string } : undefined;
}

/**
 * Creates the sessions the routes use before the server says it is ready, so that the first request does not pay
 * for graph building: the last-layer embedding, and the masked-LM head when the checkpoint has one.
 */
async function warmUp(model: IgBertModel): Promise<void> {
  const residue = [...residueAlphabet(model.tokenizer.vocabulary)][0];
  if (residue === undefined) return;
  await model.embed([{ heavy: residue }]);
  if (model.checkpoint.hasMlmHead) await model.score([{ heavy: residue }], { method: 'wt-marginal' });
}
