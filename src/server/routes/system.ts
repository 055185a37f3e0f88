/** GET routes about the server itself: health, info, metrics and the API documentation. */
import { DEVICES, PRECISIONS } from '../../runtime/engine.js';
import type { JsonSchema } from '../jsonSchema.js';
import type { Route } from '../route.js';

/** What the system routes read from the running server. */
export interface ServerView {
  info(): Record<string, unknown>;
  metrics(): Promise<{ text: string; contentType: string }>;
  openApi(): unknown;
  docsHtml(): string;
}

const integer = { type: 'integer' } as const;
const string = { type: 'string' } as const;

const INFO_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: string,
    model: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string', description: 'Hub id, else the checkpoint folder name.' },
        revision: { type: ['string', 'null'], description: 'Hub commit of the snapshot; null for a local folder.' },
        dtype: { type: 'string', enum: [...PRECISIONS], description: 'The precision the engine runs at.' },
        device: { type: 'string', enum: [...DEVICES], description: 'The device the engine runs on (after any fallback).' },
        device_name: { type: ['string', 'null'], description: 'The hardware in words (GPU name, CPU threads), when known.' },
        runtime: { type: 'string', description: 'The engine and its version (ONNX Runtime, igbert-cuda with CUDA and cuBLASLt versions).' },
        hidden_size: integer,
        num_hidden_layers: integer,
        vocab_size: integer,
        max_position_embeddings: integer,
        has_mlm_head: { type: 'boolean', description: 'Needed by /v1/score, /v1/mutate and /v1/fill.' },
        has_pooler: { type: 'boolean', description: 'Needed by pooling "pooler".' },
      },
    },
    routes: { type: 'array', items: string, description: 'Routes this model supports, e.g. "POST /v1/embed".' },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_items_per_request: integer,
        max_chain_residues: integer,
        max_body_bytes: integer,
        max_queue_tokens: integer,
        max_residue_embeddings: integer,
        max_wait_ms: integer,
        max_batch_tokens: integer,
        max_batch_size: integer,
      },
    },
    auth: { type: 'boolean' },
    cors_origins: { type: 'array', items: string },
  },
};

export function systemRoutes(server: ServerView): Route[] {
  return [
    {
      method: 'GET',
      path: '/health',
      summary: 'Health',
      description: '200 {"status": "ok"} once the model is loaded and warmed up; 503 while loading or shutting down. Needs no token.',
      public: true,
      needsModel: true,
      response: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['ok'] } } },
      handle: async () => ({ json: { status: 'ok' } }),
    },
    {
      method: 'GET',
      path: '/info',
      summary: 'Model and limits',
      description: 'The served model (id, revision, dtype, device, shape), the tasks it supports and every server limit.',
      needsModel: true,
      response: INFO_SCHEMA,
      handle: async () => ({ json: server.info() }),
    },
    {
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics',
      description: 'Requests by route and status, latency histograms, batch sizes, queue depth, tokens computed and tokens/s.',
      response: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text exposition format.' },
      handle: async () => {
        const { text, contentType } = await server.metrics();
        return { body: text, contentType };
      },
    },
    {
      method: 'GET',
      path: '/openapi.json',
      summary: 'OpenAPI document',
      description: 'This API as an OpenAPI 3.1 document, generated from the schemas that validate requests.',
      public: true,
      response: { contentType: 'application/json', description: 'OpenAPI 3.1 document.' },
      handle: async () => ({ json: server.openApi() }),
    },
    {
      method: 'GET',
      path: '/docs',
      summary: 'API documentation page',
      description: 'A browsable page of every route, its fields and a curl example.',
      public: true,
      response: { contentType: 'text/html', description: 'HTML page.' },
      handle: async () => ({ body: server.docsHtml(), contentType: 'text/html; charset=utf-8' }),
    },
  ];
}
