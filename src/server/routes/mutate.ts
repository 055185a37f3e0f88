/**
 * POST /v1/mutate: scores of mutation sets, or with "scan": true a deep mutational scan — the numbers and the rows of
 * `igbert mutate`: one result per (item, set) {id, method, mutations, score}, or per substitution {id, method, chain,
 * position, wt, mut, score} as `igbert mutate --scan` writes them, items in order.
 */
import { mutationRow, scanRows, type MutationRow, type SubstitutionRow } from '../../tasks/resultRows.js';
import { CHAIN_LETTERS } from '../../chains.js';
import { describeLocation, InputError } from '../../errors.js';
import {
  MUTATION_METHODS,
  mutateEncoded,
  parseMutationSets,
  prepareMutations,
  type Mutation,
  type MutationMethod,
  type PreparedMutations,
} from '../../tasks/mutate.js';
import { parseRegions, recordLocation } from '../../tasks/positions.js';
import { prepareScan, scanEncoded, type PreparedScan } from '../../tasks/scan.js';
import { HttpError } from '../httpErrors.js';
import type { ObjectSchema } from '../jsonSchema.js';
import type { ServerLimits } from '../limits.js';
import type { Route, TaskContext } from '../route.js';
import { encodeItems, itemsRequest, ITEM_PROPERTIES, itemsSchema, passTokens, type ItemBody } from './_items.js';

interface MutateItem extends ItemBody {
  mutations?: string;
}

interface MutateRequest {
  items: MutateItem[];
  mutations?: string;
  method?: MutationMethod;
  scan?: boolean;
  region?: string;
}

const MUTATIONS_HELP = '"H:S30A" = heavy chain, wild-type S at 1-based position 30, mutant A; "," joins a set, ";" separates sets.';

async function scoreSets(context: TaskContext, request: MutateRequest): Promise<MutationRow[]> {
  const { model, queue, limits, signal } = context;
  const method = request.method ?? 'masked-marginal';
  if (request.region !== undefined) throw new HttpError('invalid_request', '"region" belongs to "scan": true; list mutation sets in "mutations".', { path: 'region' });
  let shared: Mutation[][] | undefined;
  if (request.mutations !== undefined) {
    try {
      shared = parseMutationSets(request.mutations);
    } catch (error) {
      if (error instanceof InputError) throw new HttpError('invalid_request', `mutations: ${error.message}`, { path: 'mutations' });
      throw error;
    }
  }
  const encoded = encodeItems(model, request.items, limits);
  const prepared = encoded.map((record, i) => {
    const where = recordLocation(record, i + 1);
    const own = request.items[i]?.mutations;
    const sets = own !== undefined ? parseMutationSets(own, where) : shared;
    if (!sets) throw new InputError(`${describeLocation(where)} has no mutations: give "mutations" on the item or for the whole request.`, where);
    return prepareMutations(model, record, sets, i + 1);
  });
  const group = {
    key: `mutate ${method}`,
    task: 'mutate',
    // One library result per (record, set): regroup them per record so each item gets its own list.
    run: async (items: PreparedMutations[]) => {
      const flat = await mutateEncoded(model, items, method);
      let next = 0;
      return items.map(({ sets }) => flat.slice(next, (next += sets.length)));
    },
  };
  const passes = (p: PreparedMutations): number => (method === 'masked-marginal' ? p.sets.length : 1);
  const results = await queue.submit(group, prepared.map((item) => ({ item, tokens: passTokens(item.encoded, passes(item)) })), signal);
  return results.flat().map(mutationRow);
}

async function scanItems(context: TaskContext, request: MutateRequest): Promise<SubstitutionRow[]> {
  const { model, queue, limits, signal } = context;
  const method = request.method ?? 'masked-marginal';
  if (request.mutations !== undefined || request.items.some((item) => item.mutations !== undefined)) {
    throw new HttpError('invalid_request', '"scan": true scores every substitution itself; drop "mutations" (or drop "scan").', { path: 'mutations' });
  }
  const regions = request.region !== undefined ? parseRegions(request.region, 'region') : [];
  const prepared = encodeItems(model, request.items, limits).map((record, i) => prepareScan(record, regions, i + 1));
  const group = { key: `scan ${method}`, task: 'scan', run: (items: PreparedScan[]) => scanEncoded(model, items, method) };
  const passes = (p: PreparedScan): number => (method === 'masked-marginal' ? p.positions.length : 1);
  const results = await queue.submit(group, prepared.map((item) => ({ item, tokens: passTokens(item.encoded, passes(item)) })), signal);
  return results.flatMap(scanRows);
}

const SCORE = { type: 'number', description: 'Sum over sites of log p(mutant) - log p(wild type) (natural log).' } as const;
const ROW_START = { id: { type: 'string' }, method: { type: 'string', enum: MUTATION_METHODS } } as const;

/** Without "scan": one row per (item, mutation set). */
const MUTATION_ROW: ObjectSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'method', 'mutations', 'score'],
  properties: { ...ROW_START, mutations: { type: 'string', description: 'The set in canonical form, e.g. "H:S30A,L:Y49F".' }, score: SCORE },
};

/** With "scan": one row per substitution (19 per scanned position). */
const SUBSTITUTION_ROW: ObjectSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'method', 'chain', 'position', 'wt', 'mut', 'score'],
  properties: {
    ...ROW_START,
    chain: { type: 'string', enum: CHAIN_LETTERS },
    position: { type: 'integer', description: '1-based within the chain.' },
    wt: { type: 'string' },
    mut: { type: 'string' },
    score: SCORE,
  },
};

export function mutateRoute(limits: ServerLimits): Route {
  const request = itemsRequest(
    itemsSchema(limits, {
      type: 'object',
      additionalProperties: false,
      properties: { ...ITEM_PROPERTIES, mutations: { type: 'string', description: `This item's own mutation sets (override the request's). ${MUTATIONS_HELP}` } },
    }),
    {
      mutations: { type: 'string', description: `Mutation sets for every item without its own. ${MUTATIONS_HELP}` },
      method: {
        type: 'string',
        enum: MUTATION_METHODS,
        default: 'masked-marginal',
        description: 'masked-marginal: the sites of a set masked together in one pass (ESM); wt-marginal: read from one unmasked pass.',
      },
      scan: { type: 'boolean', default: false, description: 'Deep mutational scan: every substitution at every position of "region".' },
      region: { type: 'string', description: 'With "scan": positions to scan, e.g. "H:95-102,L" (default: every residue).' },
    },
    { items: [{ id: 'ab1', heavy: 'EVQLVESGGGLVQPGG', light: 'DIQMTQSPSSLSASVG' }], mutations: 'H:V2A;H:Q3E,L:I2V' },
  );
  return {
    method: 'POST',
    path: '/v1/mutate',
    summary: 'Mutation effects and deep mutational scans',
    description:
      'The rows of `igbert mutate`, items in order. Without "scan": one result per (item, mutation set). With "scan": one ' +
      'result per substitution of the scanned positions, as `igbert mutate --scan`. A wrong wild-type letter or position ' +
      'is a 422 naming item, chain and position.',
    needsModel: true,
    request,
    errors: [413, 415, 422, 429],
    response: {
      type: 'object',
      additionalProperties: false,
      properties: { results: { type: 'array', items: { oneOf: [MUTATION_ROW, SUBSTITUTION_ROW] } } },
    },
    async handle(context, body) {
      const request = body as MutateRequest;
      context.model.assertSupports({ logProbs: true });
      const results = request.scan ? await scanItems(context, request) : await scoreSets(context, request);
      return { json: { results } };
    },
  };
}
