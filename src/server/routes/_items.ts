/** The antibody items every task route takes, their schema, and their validation into encoded records. */
import { chainLetter } from '../../chains.js';
import { describeLocation, InputError } from '../../errors.js';
import type { IgBertModel } from '../../model.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import type { ArraySchema, ObjectSchema } from '../jsonSchema.js';
import type { ServerLimits } from '../limits.js';

export interface ItemBody {
  id?: string;
  heavy?: string | null;
  light?: string | null;
}

const CHAIN_HELP =
  'one-letter residues (whitespace ignored, lower case accepted, "*" = masked residue); ' +
  'omitted, null or "" when the antibody has no such chain';

export const ITEM_PROPERTIES = {
  id: { type: 'string', maxLength: 256, description: 'Echoed in the result. Default: the item index (0-based) as text.' },
  heavy: { type: ['string', 'null'], description: `Heavy chain: ${CHAIN_HELP}.` },
  light: { type: ['string', 'null'], description: `Light chain: ${CHAIN_HELP}.` },
} as const satisfies ObjectSchema['properties'];

export function itemsSchema(limits: ServerLimits, itemSchema?: ObjectSchema): ArraySchema {
  return {
    type: 'array',
    minItems: 1,
    maxItems: limits.maxItems,
    description:
      `Antibodies, at most ${limits.maxItems}; results come in the same order. Items are numbered from 0 in error details. ` +
      `A chain may have at most ${limits.maxChainResidues} residues.`,
    items: itemSchema ?? { type: 'object', additionalProperties: false, properties: ITEM_PROPERTIES },
  };
}

/** The body of a task route: `items` (see itemsSchema) and the task's options, with one example. */
export function itemsRequest(items: ArraySchema, options: NonNullable<ObjectSchema['properties']>, example: Record<string, unknown>): ObjectSchema {
  return { type: 'object', additionalProperties: false, required: ['items'], properties: { items, ...options }, examples: [example] };
}

function residueCount(chain: string | null | undefined): number {
  let count = 0;
  for (const char of chain ?? '') if (!/\s/u.test(char)) count++;
  return count;
}

/**
 * Validates and tokenises items as the CLI does rows (item i is record i + 1 in library messages; httpErrors turns
 * that into "item i"). Items without an id (or with "") get their index as id.
 */
export function encodeItems(model: IgBertModel, items: readonly ItemBody[], limits: ServerLimits): EncodedAntibody[] {
  const records = items.map((item, i) => ({ id: item.id || String(i), heavy: item.heavy ?? null, light: item.light ?? null }));
  records.forEach((record, i) => {
    for (const chain of ['heavy', 'light'] as const) {
      const residues = residueCount(record[chain]);
      if (residues > limits.maxChainResidues) {
        const location = { record: i + 1, id: record.id, chain: chainLetter(chain) };
        throw new InputError(
          `${describeLocation(location)}: ${residues} residues; this server accepts at most ${limits.maxChainResidues} per chain.`,
          location,
        );
      }
    }
  });
  return model.encode(records);
}

/** Forward-pass tokens of `passes` copies of a record. */
export const passTokens = (record: EncodedAntibody, passes: number): number => record.inputIds.length * Math.max(1, passes);
