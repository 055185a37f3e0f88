/**
 * `igbert serve` as a library: a fastify server in front of one IgBertModel. It listens at once and answers 503 until
 * the model is loaded and warmed up; task routes feed the cross-request WorkQueue; close() drains gracefully (stop
 * accepting, finish in-flight requests). The route table (routes/) drives the routes, their schemas (validated by
 * fastify, printed by @fastify/swagger and on /docs) and who needs the token; every error status comes from the one
 * table in httpErrors.
 */
import { fastifySwagger } from '@fastify/swagger';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import type { HubSnapshot } from '../hub/downloadCheckpoint.js';
import { jsonValue } from '../io/jsonValue.js';
import type { IgBertModel } from '../model.js';
import { PRODUCER } from '../version.js';
import { resolveBatching } from '../batches/planBatches.js';
import { residueAlphabet } from '../tokenizer/antibody.js';
import { checkBearer, corsHeaders, isJsonContentType, PREFLIGHT_HEADERS } from './accessControl.js';
import { discardBody, DISCARD_MIN_BYTES } from './discardBody.js';
import { docsPage } from './docsPage.js';
import { HttpError, toHttpError } from './httpErrors.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { ServerMetrics } from './metrics.js';
import { ERROR_COMPONENT, routeSchema, swaggerOptions } from './openapi.js';
import type { Route, TaskContext } from './route.js';
import { embedRoute } from './routes/embed.js';
import { fillRoute } from './routes/fill.js';
import { mutateRoute } from './routes/mutate.js';
import { openaiEmbeddingsRoute } from './routes/openaiEmbeddings.js';
import { scoreRoute } from './routes/score.js';
import { systemRoutes } from './routes/system.js';
import { requestSchemaError } from './schemaErrors.js';
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
  /** The Hub snapshot the model was loaded from (resolveModel's `hub`); undefined for a local folder. */
  hub?: HubSnapshot | Promise<HubSnapshot | undefined>;
  /** Name reported by /info and /v1/embeddings; default: the Hub repository, else the checkpoint folder's name. */
  modelId?: string;
  /** Reported by /info; default: the commit of the Hub snapshot, else null. */
  revision?: string | null;
  /** After this long, close() cuts connections still open. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** One-line notes (ready, errors). Default: stderr. */
  log?: (line: string) => void;
}

type State = 'loading' | 'ready' | 'draining' | 'failed';

const NO_QUEUE_YET = { queuedTokens: 0, pendingItems: 0, tokensPerSecond: 0, cancelledItems: 0 };

/** How long an answered keep-alive connection stays open while the server drains. */
const DRAINING_KEEP_ALIVE_MS = 100;

/** Routes that need the masked-LM head; /info lists them only for a checkpoint that has one. */
const MLM_PATHS = ['/v1/score', '/v1/mutate', '/v1/fill'];

/** The path of a request URL, undecoded (no query string). */
const pathOf = (url: string): string => url.split('?', 1)[0] as string;

export class IgBertServer {
  readonly limits: ServerLimits;
  readonly metrics = new ServerMetrics(() => this.queue?.stats ?? NO_QUEUE_YET);
  /** Resolves when the model is loaded and warmed up; rejects when loading fails. */
  readonly ready: Promise<void>;
  private state: State = 'loading';
  private model: IgBertModel | undefined;
  private hub: HubSnapshot | undefined;
  private queue: WorkQueue | undefined;
  private closing: Promise<void> | undefined;
  private readonly routes: Route[];
  private readonly routePaths: Set<string>;
  /** Aborted when a request's client disconnects before its answer is written. */
  private readonly clientGone = new WeakMap<FastifyRequest, AbortSignal>();
  private readonly log: (line: string) => void;
  private readonly app: FastifyInstance;

  private constructor(model: IgBertModel | Promise<IgBertModel>, private readonly options: ServerOptions) {
    const limits = resolveLimits(options.limits);
    this.limits = limits;
    this.log = options.log ?? ((line) => process.stderr.write(`igbert: ${line}\n`));
    this.app = fastify({
      bodyLimit: limits.maxBodyBytes,
      // Node's default, which fastify turns off: a request must have arrived whole within 5 minutes.
      requestTimeout: 300_000,
      // Draining answers 503 in this server's error body (onRequest), not fastify's.
      return503OnClosing: false,
      exposeHeadRoutes: false,
      // Requests are checked as they are: no type coercion, no defaults filled in, unknown fields refused (not
      // dropped); `verbose` keeps the offending value for the message.
      ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allowUnionTypes: true, verbose: true } },
      schemaErrorFormatter: (errors) => requestSchemaError(errors),
      frameworkErrors: (error, request, reply) => void this.sendError(error, request, reply),
    });
    this.routes = [
      embedRoute(limits),
      scoreRoute(limits),
      mutateRoute(limits),
      fillRoute(limits),
      openaiEmbeddingsRoute(limits),
      ...systemRoutes({
        info: () => this.info(),
        metrics: () => this.metrics.render(),
        openApi: () => this.app.swagger(),
        docsHtml: () => docsPage(this.routes, this.docInfo()),
      }),
    ];
    this.routePaths = new Set(this.routes.map((route) => route.path));
    this.ready = this.load(model);
    // A failed load is reported through `ready`; this keeps it from also being an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Starts listening now; the model (or the promise of it) becomes usable when `ready` resolves. */
  static async start(model: IgBertModel | Promise<IgBertModel>, options: ServerOptions = {}): Promise<IgBertServer> {
    const server = new IgBertServer(model, options);
    await server.setUp();
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8080;
    try {
      await server.app.listen({ host, port });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'needs privileges' : `failed (${(error as Error).message})`;
      throw new UsageError(`listening on ${host}:${port} ${reason}; choose another --port or --host.`, { cause: error });
    }
    return server;
  }

  get url(): string {
    const address = this.app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** The queue's counters (tests and the benchmark read them). */
  get queueStats(): WorkQueue['stats'] | undefined {
    return this.queue?.stats;
  }

  private async setUp(): Promise<void> {
    const { app } = this;
    const authRequired = this.options.authToken !== undefined;
    await app.register(fastifySwagger, swaggerOptions(this.docInfo().title, authRequired));
    app.addSchema(ERROR_COMPONENT);
    // JSON only, parsed by JSON.parse so that a syntax error says where it is.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (error) {
        done(new HttpError('malformed_json', `the body is not valid JSON: ${(error as Error).message}.`));
      }
    });
    // Float32 arrays are written as the CLI writes them; response schemas only document.
    app.setReplySerializer(jsonValue);
    app.setSerializerCompiler(() => jsonValue);
    app.setErrorHandler((error, request, reply) => this.sendError(error, request, reply));
    app.addHook('onRequest', async (request, reply) => this.admit(request, reply));
    for (const route of this.routes) {
      app.route({
        method: route.method,
        url: route.path,
        schema: routeSchema(route, authRequired),
        onRequest: async (request) => this.guard(route, request),
        handler: async (request, reply) => this.handle(route, request, reply),
      });
    }
    const ui = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const file = await serveStatic(this.options.uiFolder, pathOf(request.url));
      // Cross-origin isolation lets the page's WebAssembly runtime use threads (SharedArrayBuffer).
      reply.headers({ 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
      return reply.type(file.contentType).send(file.body);
    };
    app.get(UI_PREFIX, { schema: { hide: true } }, ui);
    app.get(`${UI_PREFIX}/*`, { schema: { hide: true } }, ui);
    app.setNotFoundHandler(async (request) => this.notFound(request));
  }

  private async load(pending: IgBertModel | Promise<IgBertModel>): Promise<void> {
    try {
      const [model, hub] = await Promise.all([pending, this.options.hub]);
      await warmUp(model);
      const engine = model.engineInfo;
    const batching = resolveBatching(model.options.batching, engine.batching);
      this.queue = new WorkQueue({
        maxQueueTokens: this.limits.maxQueueTokens,
        dispatchTokens: batching.maxBatchTokens,
        maxWaitMs: this.limits.maxWaitMs,
        onDispatch: (report) => this.metrics.recordDispatch(report),
      });
      this.hub = hub;
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
      // No new connection from this moment; fastify's close (below) gets there a few ticks later. A keep-alive
      // connection whose last answer has gone out is closed soon after, instead of waiting for another request (that
      // would get a 503); requests already sent on it are still answered.
      this.app.server.close();
      this.app.server.keepAliveTimeout = DRAINING_KEEP_ALIVE_MS;
      const timer = setTimeout(() => this.app.server.closeAllConnections(), this.options.shutdownTimeoutMs ?? 30_000);
      timer.unref();
      await this.app.close();
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
        revision: this.options.revision ?? this.hub?.commit ?? null,
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
      routes: this.routes.filter((r) => mlm || !MLM_PATHS.includes(r.path)).map((r) => `${r.method} ${r.path}`),
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
    return this.options.modelId ?? this.hub?.repo ?? basename((this.model as IgBertModel).checkpoint.source);
  }

  /**
   * Every request, first: metrics and the disconnect signal, CORS headers and preflights, and 503 while draining.
   * Route-specific checks follow in `guard`; unknown paths go to `notFound`.
   */
  private async admit(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const started = performance.now();
    const controller = new AbortController();
    this.clientGone.set(request, controller.signal);
    this.metrics.requestStarted();
    const res = reply.raw;
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
      // 499 is nginx's "client closed request": counted, never sent.
      this.metrics.requestEnded(this.metricsRoute(request), res.writableFinished ? res.statusCode : 499, (performance.now() - started) / 1000);
    });
    const corsOrigins = this.options.corsOrigins ?? [];
    reply.headers(corsHeaders(request.headers.origin, corsOrigins));
    if (request.method === 'OPTIONS' && corsOrigins.length > 0) return reply.code(204).headers(PREFLIGHT_HEADERS).send();
    if (this.state === 'draining') {
      reply.header('Connection', 'close');
      throw new HttpError('shutting_down', 'the server is shutting down; send the request to another instance or retry later.');
    }
    return undefined;
  }

  /** A route's own checks, in this order, before its body is read: the token, the model, the body's type. */
  private guard(route: Route, request: FastifyRequest): void {
    if (!route.public && this.options.authToken !== undefined) checkBearer(request.headers.authorization, this.options.authToken);
    if (route.needsModel && this.state === 'failed') throw new HttpError('not_ready', 'the model failed to load; the server log says why.');
    if (route.needsModel && this.state !== 'ready') {
      throw new HttpError('not_ready', 'the model is still loading; retry in a few seconds (GET /health says when it is ready).', {}, { 'Retry-After': '1' });
    }
    const type = request.headers['content-type'];
    if (route.request && !isJsonContentType(type)) {
      throw new HttpError(
        'unsupported_media_type',
        `send the body as JSON with the header "Content-Type: application/json" (got ${type ? JSON.stringify(type) : 'none'}).`,
      );
    }
  }

  private async handle(route: Route, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const context: TaskContext = {
      model: this.model as IgBertModel,
      queue: this.queue as WorkQueue,
      limits: this.limits,
      modelId: this.model ? this.modelId() : '',
      signal: this.clientGone.get(request) as AbortSignal,
    };
    const answer = await route.handle(context, request.body);
    if ('json' in answer) return reply.headers(answer.headers ?? {}).send(answer.json);
    return reply.type(answer.contentType).send(answer.body);
  }

  /** No route for this path and method: 405 (with Allow) when the path exists for other methods, else 404. */
  private notFound(request: FastifyRequest): never {
    const path = pathOf(request.url);
    const allow = this.routes.filter((route) => route.path === path).map((route) => route.method).join(', ');
    if (allow) throw new HttpError('method_not_allowed', `${path} accepts ${allow}, not ${request.method}.`, { allow }, { Allow: allow });
    throw new HttpError('not_found', `no route ${path}; the API is listed at /docs and /openapi.json.`, { path });
  }

  /** The route label of the metrics: a path of the route table, "/ui", or "unmatched" (a bounded set). */
  private metricsRoute(request: FastifyRequest): string {
    const path = pathOf(request.url);
    if (this.routePaths.has(path)) return path;
    return path === UI_PREFIX || path.startsWith(`${UI_PREFIX}/`) ? UI_PREFIX : 'unmatched';
  }

  /** Every error answer: status, headers and body from the one table; nothing for a client that is gone. */
  private async sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (error instanceof ClientGone || reply.raw.destroyed) return reply.hijack();
    const httpError = toHttpError(error, this.limits.maxBodyBytes);
    if (httpError.type === 'internal') this.log(`internal error on ${request.method} ${request.url}: ${(error as Error)?.stack ?? String(error)}`);
    if ((error as { code?: unknown }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      await discardBody(request.raw, Math.max(DISCARD_MIN_BYTES, this.limits.maxBodyBytes));
    }
    return reply.code(httpError.status).headers(httpError.headers).send(httpError.body());
  }
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
