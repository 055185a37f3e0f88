/** What a route is: the one table that the router, the auth check, the OpenAPI document and the docs page all read. */
import type { IgBertModel } from '../model.js';
import type { JsonSchema } from './jsonSchema.js';
import type { ServerLimits } from './limits.js';
import type { WorkQueue } from './workQueue.js';

export interface TaskContext {
  model: IgBertModel;
  queue: WorkQueue;
  limits: ServerLimits;
  /** The served model's name, reported by /v1/embeddings. */
  modelId: string;
  /** Aborted when the client disconnects before its answer is written. */
  signal: AbortSignal;
}

export type Reply = { json: unknown; headers?: Record<string, string> } | { body: string | Buffer; contentType: string };

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  description: string;
  /** Open without the bearer token: health checks and the API documentation only. */
  public?: boolean;
  /** Answered 503 until the model is loaded. */
  needsModel?: boolean;
  /** JSON request body, validated before `handle` runs. */
  request?: JsonSchema;
  /** JSON response on success (documentation), or the content type of a text response. */
  response: JsonSchema | { contentType: string; description: string };
  /** Error statuses this route can give besides 401/404/405/500/503 (documentation). */
  errors?: readonly number[];
  handle(context: TaskContext, body: unknown): Promise<Reply>;
}
