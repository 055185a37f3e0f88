/** Shared by the server tests: a server on a free loopback port, JSON requests, and a gate to hold the model. */
import { Ajv } from 'ajv';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { IgBert } from '../src/index.js';
import type { IgBertModel } from '../src/model.js';
import { IgBertServer, type ServerOptions } from '../src/server/index.js';
import { CHECKPOINTS } from './helpers.js';

export const MODEL = join(CHECKPOINTS, 'mlm-h64');

export interface Running {
  server: IgBertServer;
  model: IgBertModel;
  url: string;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}, checkpoint = MODEL): Promise<Running> {
  const model = await IgBert.load(checkpoint, { threads: 1 });
  const server = await IgBertServer.start(model, { port: 0, log: () => {}, ...options });
  await server.ready;
  return {
    server,
    model,
    url: server.url,
    async close() {
      await server.close();
      await model.dispose();
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function request(url: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonResponse> {
  const { json, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    ...(json !== undefined ? { method: 'POST', body: JSON.stringify(json) } : {}),
    headers: { ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(rest.headers as Record<string, string>) },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text routes (metrics, docs)
  }
  return { status: response.status, headers: response.headers, body };
}

export const post = (url: string, json: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> => request(url, { json, headers });

/**
 * Makes every forward pass of `model` wait until `release()`: a test can hold a dispatch running and look at the
 * queue meanwhile. `started` resolves when the first held pass begins. Calls with no items are not held.
 */
export function holdModel(model: IgBertModel): { started: Promise<void>; release(): void } {
  const forward = model.forward.bind(model);
  let release!: () => void;
  let markStarted!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  model.forward = async (...args: Parameters<IgBertModel['forward']>) => {
    if (args[0].length === 0) return forward(...args); // option checks run the library on no items
    markStarted();
    await gate;
    return forward(...args);
  };
  return {
    started,
    release() {
      model.forward = forward;
      release();
    },
  };
}

/** Polls `condition` every 5 ms for at most `timeoutMs`; fails the test instead of hanging. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ajv = new Ajv({ allowUnionTypes: true });

/** Fails unless `value` matches the JSON Schema `schema` (answers against what /openapi.json documents). */
export function validate(value: unknown, schema: object): void {
  const check = ajv.compile(schema);
  assert.ok(check(value), `${ajv.errorsText(check.errors)}: ${JSON.stringify(value).slice(0, 300)}`);
}
