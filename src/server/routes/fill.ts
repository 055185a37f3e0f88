/** POST /v1/fill: infilling of "*" residues and mask regions, the designs and candidates of `igbert fill`. */
import { CHAIN_LETTERS } from '../../chains.js';
import { fillJson } from '../../tasks/resultRows.js';
import { FILL_ORDERS, FILL_STRATEGIES, fillEncoded, prepareFill, resolveFillOptions, type FillOptions, type FillOrder, type FillStrategy, type PreparedFill } from '../../tasks/fill.js';
import { parseRegions } from '../../tasks/positions.js';
import { resultsResponse } from '../jsonSchema.js';
import type { ServerLimits } from '../limits.js';
import type { Route } from '../route.js';
import { encodeItems, itemsRequest, itemsSchema, passTokens, type ItemBody } from './_items.js';

interface FillRequest {
  items: ItemBody[];
  strategy?: FillStrategy;
  order?: FillOrder;
  temperature?: number;
  top_k?: number;
  seed?: number;
  num?: number;
  allow_nonstandard?: boolean;
  mask?: string;
  candidates?: number;
}

/** Designs per item: sampling many is cheap per pass, but the response grows with it. */
const MAX_DESIGNS = 64;

export function fillRoute(limits: ServerLimits): Route {
  const request = itemsRequest(
    itemsSchema(limits),
    {
      strategy: { type: 'string', enum: FILL_STRATEGIES, default: 'greedy', description: 'greedy: the most probable residue; sample: drawn from softmax(log p / temperature).' },
      order: { type: 'string', enum: FILL_ORDERS, default: 'parallel', description: 'parallel: every mask from one pass; confidence: the surest mask first, then run again.' },
      temperature: { type: 'number', exclusiveMinimum: 0, description: 'sample only (default 1).' },
      top_k: { type: 'integer', minimum: 1, description: 'sample only: draw from the k most probable allowed residues (default all).' },
      seed: { type: 'integer', description: 'sample only (default 0): the same seed and input give the same designs.' },
      num: { type: 'integer', minimum: 1, maximum: MAX_DESIGNS, default: 1, description: 'Designs per item (sample only for more than 1).' },
      allow_nonstandard: { type: 'boolean', default: false, description: 'Also allow X, B, Z, U, O as predictions.' },
      mask: { type: 'string', description: 'Also mask these ranges in every item, e.g. "H:95-102" (1-based, inclusive).' },
      candidates: { type: 'integer', minimum: 1, description: 'Candidates listed per masked position (default: all allowed residues).' },
    },
    { items: [{ id: 'ab1', heavy: 'EVQLVESGG**VQPGG', light: 'DIQMTQSPSSLSASVG' }], strategy: 'greedy' },
  );
  return {
    method: 'POST',
    path: '/v1/fill',
    summary: 'Infill masked residues',
    description: 'Designs (best first) and per-position candidates for every "*" residue and mask region; items without any are rejected.',
    needsModel: true,
    request,
    errors: [413, 415, 422, 429],
    response: resultsResponse({
      id: { type: 'string' },
      designs: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            heavy: { type: ['string', 'null'], description: 'null when the item has no heavy chain.' },
            light: { type: ['string', 'null'], description: 'null when the item has no light chain.' },
            logprob: { type: 'number' },
          },
        },
      },
      positions: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            chain: { type: 'string', enum: CHAIN_LETTERS },
            position: { type: 'integer' },
            candidates: {
              type: 'array',
              items: { type: 'object', additionalProperties: false, properties: { residue: { type: 'string' }, logprob: { type: 'number' } } },
            },
          },
        },
      },
    }),
    async handle({ model, queue, limits: current, signal }, body) {
      const request = body as FillRequest;
      const options: FillOptions = {
        ...(request.strategy !== undefined ? { strategy: request.strategy } : {}),
        ...(request.order !== undefined ? { order: request.order } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.top_k !== undefined ? { topK: request.top_k } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.num !== undefined ? { num: request.num } : {}),
        ...(request.candidates !== undefined ? { candidates: request.candidates } : {}),
        allowNonStandard: Boolean(request.allow_nonstandard),
      };
      const resolved = resolveFillOptions(options);
      model.assertSupports({ logProbs: true });
      const regions = request.mask !== undefined ? parseRegions(request.mask, 'mask') : [];
      const prepared = encodeItems(model, request.items, current).map((record, i) => prepareFill(model, record, regions, i + 1));
      const group = {
        key: `fill ${JSON.stringify({ ...resolved, allowNonStandard: options.allowNonStandard })}`,
        task: 'fill',
        run: (items: PreparedFill[]) => fillEncoded(model, items, options),
      };
      // parallel: one pass per item (its designs share it); confidence: up to one pass per mask and design.
      const passes = (p: PreparedFill): number => (resolved.order === 'confidence' ? p.masked.length * resolved.num : 1);
      const results = await queue.submit(group, prepared.map((item) => ({ item, tokens: passTokens(item.encoded, passes(item)) })), signal);
      return { json: { results: results.map(fillJson) } };
    },
  };
}
