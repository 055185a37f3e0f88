/** `igbert serve`: the HTTP service (src/server) around one model, loaded at start-up, until SIGTERM or SIGINT. */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { addHubOptions, hubOptionsFrom, type HubCliOptions } from '../../hub/cliOptions.js';
import { resolveModel } from '../../hub/resolveModelDir.js';
import { loadModel } from '../../node/loadModel.js';
import type { DevicePreference } from '../../runtime/candidates.js';
import { describeEngine, PRECISIONS, type Precision } from '../../runtime/engine.js';
import { IgBertServer } from '../../server/igbertServer.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../../server/limits.js';
import { EXIT } from '../exitCodes.js';
import { DEVICE_HELP, DTYPE_HELP, GPUS_HELP, NODE_DEVICES, parseGpuList } from '../commonOptions.js';
import { parseChoice, parseInteger } from '../options.js';

interface ServeCliOptions extends HubCliOptions {
  model: string;
  host: string;
  port: number;
  dtype?: Precision;
  device?: DevicePreference;
  gpus?: number[];
  threads?: number;
  maxBatchTokens?: number;
  maxItems?: number;
  maxChainResidues?: number;
  maxBodyBytes?: number;
  maxQueueTokens?: number;
  maxResidueEmbeddings?: number;
  maxWaitMs?: number;
  authTokenEnv?: string;
  corsOrigin?: string[];
  ui?: string;
}

/** The variable read for the bearer token when --auth-token-env is not given (auth is on only when it is set). */
export const DEFAULT_TOKEN_VARIABLE = 'IGBERT_API_TOKEN';

const HELP = `
Routes (JSON; full reference at GET /docs and GET /openapi.json):
  POST /v1/embed  /v1/score  /v1/mutate  /v1/fill  /v1/embeddings (OpenAI-compatible, input "HEAVY|LIGHT")
  GET  /health  /info  /metrics (Prometheus)  /openapi.json  /docs
Requests from all clients are batched together (token budget --max-batch-tokens, wait at most --max-wait-ms).
Statuses: 400 bad JSON, 401 token, 404/405 route, 413 too large, 415 not JSON, 422 invalid input or
parameters (details name item, chain, position, character), 429 queue full (Retry-After), 503 loading or
shutting down, 500 runtime failure.
Auth: off unless a token is configured: --auth-token-env NAME reads it from $NAME (which must be set), else
$${DEFAULT_TOKEN_VARIABLE} when set. Clients send "Authorization: Bearer <token>"; /health, /docs and
/openapi.json stay open. The token is never a command-line argument (it would show in ps).
SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0 (a second signal stops at once).
Started by npx or npm (npm exec, npm run), it also stops when its parent process exits. For services (systemd,
containers) run the installed bin or \`node .../bin/igbert.js serve\`, not npx: signals then reach the server itself.
Deployment notes (reverse proxy, TLS, auth, process model): docs/server.md.

Example:
  IGBERT_API_TOKEN=secret igbert serve --model Exscientia/IgBert --port 8080
  curl -s localhost:8080/v1/embed -H 'Content-Type: application/json' -H 'Authorization: Bearer secret' \\
       -d '{"items":[{"heavy":"EVQLVESGGGLVQPGG","light":"DIQMTQSPSSLSASVG"}]}'`;

const limitOption = (name: string, key: keyof ServerLimits, meaning: string, min = 1): [string, string, (v: string) => number] => [
  `${name} <n>`,
  `${meaning} (default ${DEFAULT_LIMITS[key]})`,
  parseInteger(name, { min }),
];

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('HTTP service: embeddings, likelihoods, mutation scans and infilling, batched across requests.')
    .requiredOption('--model <dir|org/name>', 'checkpoint folder or Hugging Face Hub id (chosen here only: no request can name a model or a path)')
    .option('--host <address>', 'address to listen on; 0.0.0.0 exposes the server to the network (use auth and a TLS proxy)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port; the chosen one is printed)', parseInteger('--port', { min: 0, max: 65535 }), 8080)
    .option('--device <device>', DEVICE_HELP, parseChoice('--device', NODE_DEVICES))
    .option('--dtype <dtype>', DTYPE_HELP, parseChoice('--dtype', PRECISIONS))
    .option('--gpus <list>', GPUS_HELP, parseGpuList)
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all cores)', parseInteger('--threads', { min: 1 }))
    .option('--max-batch-tokens <n>', 'token budget per batch and per dispatch, padding included (default 8192)', parseInteger('--max-batch-tokens', { min: 1 }))
    .option(...limitOption('--max-items', 'maxItems', 'items per request; more is 413'))
    .option(...limitOption('--max-chain-residues', 'maxChainResidues', 'residues per chain; more is 422'))
    .option(...limitOption('--max-body-bytes', 'maxBodyBytes', 'request body size; more is 413'))
    .option(...limitOption('--max-queue-tokens', 'maxQueueTokens', 'forward-pass tokens queued or running over all requests (a PLL costs residues x tokens); past it 429'))
    .option(...limitOption('--max-residue-embeddings', 'maxResidueEmbeddings', 'residue embeddings in one response; more is 413'))
    .option(...limitOption('--max-wait-ms', 'maxWaitMs', 'how long a waiting item may wait for others to share its batch', 0))
    .option('--auth-token-env <name>', `environment variable holding the bearer token (default: ${DEFAULT_TOKEN_VARIABLE} when set)`)
    .option('--cors-origin <origins>', 'comma-separated origins browsers may call from ("*" = any); default: CORS off', (v: string) =>
      v.split(',').map((o) => o.trim()).filter(Boolean),
    )
    .option('--ui <dir>', 'serve this static web folder under /ui/ (default: none, /ui answers 404)');
  addHubOptions(command)
    .addHelpText('after', HELP)
    .action(async (options: ServeCliOptions) => {
      process.exitCode = await runServe(options);
    });
}

/** The bearer token, from --auth-token-env's variable (required to be set) or the default variable (optional). */
export function authToken(variable: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = variable ?? DEFAULT_TOKEN_VARIABLE;
  const token = env[name]?.trim();
  if (token) return token;
  if (variable !== undefined) {
    throw new UsageError(`--auth-token-env ${variable}: the environment variable ${variable} is not set or empty; set it to the token clients must send.`);
  }
  return undefined;
}

/**
 * Resolves when the process that started the server has exited, if that was a package manager: npx, `npm exec` and
 * `npm run` (and pnpm and yarn, which also set npm_lifecycle_event) run the server through `sh -c` and forward a
 * SIGTERM to that shell only, which dies and would leave the server running with no parent. Watching the parent
 * covers that and a wrapper killed outright. A server started otherwise (systemd, a container, a shell, nohup) keeps
 * running when its parent goes, as any daemon would.
 */
function parentExit(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env['npm_lifecycle_event'] === undefined) return new Promise(() => {});
  const parent = process.ppid;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(timer);
      resolve(`the exit of its parent process (pid ${parent})`);
    }, 1000);
    timer.unref();
  });
}

async function runServe(options: ServeCliOptions): Promise<number> {
  const token = authToken(options.authTokenEnv);
  if (options.ui !== undefined && !(await stat(options.ui).then((info) => info.isDirectory(), () => false))) {
    throw new UsageError(`--ui ${options.ui} is not a folder; pass the folder of the web page to serve (or leave --ui out).`);
  }
  const log = (line: string): void => void process.stderr.write(`igbert: ${line}\n`);
  // A Hub id is resolved to its snapshot first, so that its repository and commit reach /info as data.
  const source = resolveModel(options.model, hubOptionsFrom(options));
  const loading = source.then(({ dir }) =>
    loadModel(dir, {
      ...(options.dtype ? { dtype: options.dtype } : {}),
      ...(options.device ? { device: options.device } : {}),
      ...(options.gpus ? { gpus: options.gpus } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.maxBatchTokens ? { batching: { maxBatchTokens: options.maxBatchTokens } } : {}),
    }),
  );
  loading.catch(() => undefined); // reported through server.ready
  const server = await IgBertServer.start(loading, {
    host: options.host,
    port: options.port,
    limits: {
      maxItems: options.maxItems,
      maxChainResidues: options.maxChainResidues,
      maxBodyBytes: options.maxBodyBytes,
      maxQueueTokens: options.maxQueueTokens,
      maxResidueEmbeddings: options.maxResidueEmbeddings,
      maxWaitMs: options.maxWaitMs,
    },
    ...(token !== undefined ? { authToken: token } : {}),
    ...(options.corsOrigin?.length ? { corsOrigins: options.corsOrigin } : {}),
    ...(options.ui !== undefined ? { uiFolder: options.ui } : {}),
    hub: source.then(({ hub }) => hub, () => undefined),
    log,
  });
  const stopped = Promise.race([
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    }),
    parentExit(),
  ]);
  log(`listening on ${server.url} (pid ${process.pid}; loading ${options.model}; auth ${token !== undefined ? 'on' : 'off'})`);
  if (token === undefined && !['127.0.0.1', '::1', 'localhost'].includes(options.host)) {
    log(`warning: listening on ${options.host} without auth; set ${DEFAULT_TOKEN_VARIABLE} (or --auth-token-env) before exposing the server.`);
  }
  let loaded: string;
  try {
    loaded = await Promise.race([server.ready.then(() => 'ready'), stopped]);
  } catch (error) {
    await server.close();
    throw error;
  }
  if (loaded === 'ready') {
    const model = await loading;
    log(`ready: ${model.checkpoint.source} on ${describeEngine(model.engineInfo)}`);
    log(`stopping after ${await stopped}: finishing requests in flight`);
    await server.close();
    await model.dispose();
  } else {
    // Stopped while loading: nothing was answered but 503s; the load finishes in the background and is released.
    await server.close();
    void loading.then((model) => model.dispose(), () => undefined);
  }
  log('stopped');
  return EXIT.ok;
}
