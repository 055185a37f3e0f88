/**
 * POST /v1/embeddings, compatible with OpenAI's embeddings API so that its clients (the `openai` packages, LangChain,
 * vector databases) work unchanged. Each input string is one antibody written "HEAVY|LIGHT" (either side may be
 * empty); the embedding is the model card's mean pooling of the last layer, the numbers of `igbert embed`.
 */
import { HttpError } from '../httpErrors.js';
import type { ObjectSchema } from '../jsonSchema.js';
import type { ServerLimits } from '../limits.js';
import type { Route } from '../route.js';
import { encodeItems, passTokens, type ItemBody } from './_items.js';
import { embedGroup } from './embed.js';

interface EmbeddingsRequest {
  input: string | string[];
  model?: string;
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

/** "HEAVY|LIGHT" -> item; exactly one "|", so that a chain is never guessed. */
function pairItem(text: string, index: number): ItemBody {
  const parts = text.split('|');
  if (parts.length !== 2) {
    throw new HttpError(
      'invalid_input',
      `input[${index}] must be one antibody written "HEAVY|LIGHT" with exactly one "|" ("EVQL...|" for a heavy chain ` +
        `alone, "|DIQM..." for a light chain alone); found ${parts.length - 1} "|".`,
      { item: index },
    );
  }
  return { heavy: parts[0] as string, light: parts[1] as string };
}

/** Little-endian float32 bytes in base64, as OpenAI's "base64" encoding_format. */
function base64Floats(values: Float32Array): string {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes.toString('base64');
  const swapped = Buffer.from(bytes);
  swapped.swap32();
  return swapped.toString('base64');
}

export function openaiEmbeddingsRoute(limits: ServerLimits): Route {
  const request: ObjectSchema = {
    type: 'object',
    additionalProperties: false,
    required: ['input'],
    properties: {
      input: {
        oneOf: [
          { type: 'string' },
          { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: limits.maxItems },
        ],
        description: `One antibody or a list of at most ${limits.maxItems}, each written "HEAVY|LIGHT" (either side may be empty).`,
      },
      model: { type: 'string', description: 'Accepted for compatibility and ignored: the model is chosen when the server starts.' },
      encoding_format: { type: 'string', enum: ['float', 'base64'], default: 'float', description: 'base64 = little-endian float32 bytes.' },
      dimensions: { type: 'integer', minimum: 1, description: "Must equal the model's hidden size when given (no truncation)." },
      user: { type: 'string', description: 'Accepted for compatibility and ignored.' },
    },
    examples: [{ model: 'igbert', input: ['EVQLVESGGGLVQPGG|DIQMTQSPSSLSASVG', 'EVQLVESGGGLVQPGG|'] }],
  };
  return {
    method: 'POST',
    path: '/v1/embeddings',
    summary: 'OpenAI-compatible embeddings',
    description: 'Mean-pooled last-layer embeddings (the model card\'s recipe) in the OpenAI embeddings response format.',
    needsModel: true,
    request,
    errors: [413, 415, 422, 429],
    response: {
      type: 'object',
      additionalProperties: false,
      properties: {
        object: { type: 'string', enum: ['list'] },
        data: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              object: { type: 'string', enum: ['embedding'] },
              index: { type: 'integer' },
              embedding: { oneOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }] },
            },
          },
        },
        model: { type: 'string' },
        usage: {
          type: 'object',
          additionalProperties: false,
          properties: { prompt_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } },
          description: 'Tokens including [CLS] and [SEP].',
        },
      },
    },
    async handle({ model, queue, limits: current, signal, modelId }, body) {
      const { input, encoding_format: format = 'float', dimensions } = body as EmbeddingsRequest;
      const hidden = model.config.hidden_size;
      if (dimensions !== undefined && dimensions !== hidden) {
        throw new HttpError('invalid_request', `dimensions must be ${hidden} (this model's hidden size) when given; embeddings are never truncated.`, {
          path: 'dimensions',
        });
      }
      const items = (typeof input === 'string' ? [input] : input).map(pairItem);
      const group = await embedGroup(model, {});
      const encoded = encodeItems(model, items, current);
      const results = await queue.submit(group, encoded.map((item) => ({ item, tokens: passTokens(item, 1) })), signal);
      const tokens = encoded.reduce((sum, record) => sum + record.inputIds.length, 0);
      return {
        json: {
          object: 'list',
          data: results.map((r, index) => ({
            object: 'embedding',
            index,
            embedding: format === 'base64' ? base64Floats(r.embedding) : r.embedding,
          })),
          model: modelId,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        },
      };
    },
  };
}
