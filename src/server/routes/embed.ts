/** POST /v1/embed: sequence (and residue) embeddings, the numbers and conventions of `igbert embed`. */
import type { IgBertModel } from '../../model.js';
import { embedEncoded, type EmbedOptions, type EmbeddingResult } from '../../tasks/embed.js';
import { checkPooling, POOLINGS, type Pooling } from '../../tasks/pooling.js';
import { embedRow } from '../../tasks/resultRows.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { HttpError } from '../httpErrors.js';
import { resultsResponse } from '../jsonSchema.js';
import type { ServerLimits } from '../limits.js';
import type { Route } from '../route.js';
import type { WorkGroup } from '../workQueue.js';
import { encodeItems, itemsRequest, itemsSchema, passTokens, type ItemBody } from './_items.js';

interface EmbedRequest {
  items: ItemBody[];
  pooling?: Pooling;
  residues?: boolean;
  layer?: number;
}

/**
 * The queue group for embeddings with these options. Options are checked here, before anything is queued, so a bad
 * one fails its own request and never a shared dispatch (embedEncoded checks them before any compute, even for none).
 */
export async function embedGroup(model: IgBertModel, options: EmbedOptions): Promise<WorkGroup<EncodedAntibody, EmbeddingResult>> {
  const resolved: EmbedOptions = {
    pooling: options.pooling ?? 'mean',
    residues: Boolean(options.residues),
    ...(options.layer !== undefined ? { layer: model.resolveLayer(options.layer) } : {}),
  };
  model.assertSupports({ pooler: resolved.pooling === 'pooler' });
  await embedEncoded(model, [], resolved);
  return {
    key: `embed ${JSON.stringify({ ...resolved, layer: model.resolveLayer(resolved.layer) })}`,
    task: 'embed',
    run: (items) => embedEncoded(model, items, resolved),
  };
}

export function embedRoute(limits: ServerLimits): Route {
  const request = itemsRequest(
    itemsSchema(limits),
    {
      pooling: {
        type: 'string',
        enum: POOLINGS,
        default: 'mean',
        description:
          '"mean" is the model card\'s recipe: the mean over non-special tokens, which includes the [SEP] between the chains. ' +
          '"residues-mean" leaves it out; "heavy-mean"/"light-mean" average one chain; "cls" is the [CLS] state; ' +
          '"pooler" needs a checkpoint with pooler weights (IgBert has none).',
      },
      residues: {
        type: 'boolean',
        default: false,
        description: `Also return one row per residue (heavy then light, no special tokens); at most ${limits.maxResidueEmbeddings} rows per request.`,
      },
      layer: {
        type: 'integer',
        description: 'Hidden state: 0 = embedding output, N = last layer (default), negative counts from the end (-2 = second to last).',
      },
    },
    { items: [{ id: 'ab1', heavy: 'EVQLVESGGGLVQPGG', light: 'DIQMTQSPSSLSASVG' }], pooling: 'mean' },
  );
  return {
    method: 'POST',
    path: '/v1/embed',
    summary: 'Embed antibodies',
    description: 'Sequence embeddings (and residue embeddings), as `igbert embed` writes them, one result per item in item order.',
    needsModel: true,
    request,
    errors: [413, 415, 422, 429],
    response: resultsResponse({
      id: { type: 'string' },
      embedding: { type: 'array', items: { type: 'number' }, description: 'hidden_size float32 values.' },
      residue_embeddings: {
        type: 'array',
        items: { type: 'array', items: { type: 'number' } },
        description: 'With "residues": one row per residue, heavy then light.',
      },
    }),
    async handle({ model, queue, limits: current, signal }, body) {
      const { items, pooling = 'mean', residues = false, layer } = body as EmbedRequest;
      const group = await embedGroup(model, { pooling, residues, ...(layer !== undefined ? { layer } : {}) });
      const encoded = encodeItems(model, items, current);
      encoded.forEach((record, i) => checkPooling(record, pooling, i + 1));
      if (residues) {
        const rows = encoded.reduce((sum, record) => sum + record.heavy.length + record.light.length, 0);
        if (rows > current.maxResidueEmbeddings) {
          throw new HttpError(
            'payload_too_large',
            `"residues" would return ${rows} residue embeddings; this server returns at most ${current.maxResidueEmbeddings} per request: split it.`,
            { residues: rows, limit: current.maxResidueEmbeddings },
          );
        }
      }
      const results = await queue.submit(group, encoded.map((item) => ({ item, tokens: passTokens(item, 1) })), signal);
      return { json: { results: results.map(embedRow) } };
    },
  };
}
