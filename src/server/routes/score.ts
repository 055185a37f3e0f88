/** POST /v1/score: pseudo-log-likelihood or wild-type marginal likelihood, the numbers of `igbert score`. */
import { scoreRow } from '../../tasks/resultRows.js';
import { checkScorable, SCORE_METHODS, scoreEncoded, type ScoreMethod } from '../../tasks/score.js';
import { resultsResponse } from '../jsonSchema.js';
import type { ServerLimits } from '../limits.js';
import type { Route } from '../route.js';
import { encodeItems, itemsRequest, itemsSchema, passTokens, type ItemBody } from './_items.js';

interface ScoreRequest {
  items: ItemBody[];
  method?: ScoreMethod;
  per_residue?: boolean;
}

const nullableNumber = { type: ['number', 'null'] } as const;

export function scoreRoute(limits: ServerLimits): Route {
  const request = itemsRequest(
    itemsSchema(limits),
    {
      method: {
        type: 'string',
        enum: SCORE_METHODS,
        default: 'pll',
        description:
          '"pll": exact pseudo-log-likelihood, one pass per residue with that residue masked (costs residues x tokens ' +
          'of queue work); "wt-marginal": one unmasked pass.',
      },
      per_residue: { type: 'boolean', default: false, description: 'Also return the term of every residue, heavy then light.' },
    },
    { items: [{ id: 'ab1', heavy: 'EVQLVESGGGLVQPGG', light: 'DIQMTQSPSSLSASVG' }], method: 'pll' },
  );
  return {
    method: 'POST',
    path: '/v1/score',
    summary: 'Score antibodies (likelihoods)',
    description:
      'Natural-log likelihood terms from the masked-LM head, summed over residues (see docs/scoring.md): ' +
      'log_likelihood (the pseudo-log-likelihood for method "pll"), its mean, perplexity = exp(-mean_log_likelihood), ' +
      'and per-chain sums. Items with "*" are rejected.',
    needsModel: true,
    request,
    errors: [413, 415, 422, 429],
    response: resultsResponse({
      id: { type: 'string' },
      method: { type: 'string', enum: SCORE_METHODS },
      log_likelihood: { type: 'number', description: 'Sum of the per-residue log p terms (natural log).' },
      mean_log_likelihood: { type: 'number', description: 'Mean of the terms.' },
      perplexity: { type: 'number', description: 'exp(-mean_log_likelihood).' },
      heavy_log_likelihood: { ...nullableNumber, description: 'Sum over the heavy chain; null without a heavy chain.' },
      light_log_likelihood: { ...nullableNumber, description: 'Sum over the light chain; null without a light chain.' },
      per_residue: { type: 'array', items: { type: 'number' } },
    }),
    async handle({ model, queue, limits: current, signal }, body) {
      const { items, method = 'pll', per_residue: perResidue = false } = body as ScoreRequest;
      model.assertSupports({ logProbs: true });
      const encoded = encodeItems(model, items, current);
      encoded.forEach((record, i) => checkScorable(record, i + 1));
      // Per-residue terms are computed anyway, so requests with and without them share dispatches.
      const group = { key: `score ${method}`, task: 'score', run: (records: typeof encoded) => scoreEncoded(model, records, { method, perResidue: true }) };
      const passes = (record: (typeof encoded)[number]): number => (method === 'pll' ? record.heavy.length + record.light.length : 1);
      const results = await queue.submit(group, encoded.map((item) => ({ item, tokens: passTokens(item, passes(item)) })), signal);
      return { json: { results: results.map((r) => scoreRow(r, perResidue)) } };
    },
  };
}
