/**
 * What one request may ask for and how much work may wait. Every limit is printed at GET /info and in the OpenAPI
 * document; going over one is an error with its own status (413, 422 or 429), never a silent cut.
 */
import { UsageError } from '../errors.js';

export interface ServerLimits {
  /** Items (antibodies) in one request; more is 413. */
  maxItems: number;
  /** Residues in one chain of one item (whitespace not counted); more is 422. */
  maxChainResidues: number;
  /** Bytes of one request body; more is 413. */
  maxBodyBytes: number;
  /**
   * Forward-pass tokens waiting or running, over all requests: an embedding costs its token count, an exact PLL one
   * copy per residue (residues x tokens). A request that would go over it is answered 429 with Retry-After; one that
   * alone needs more is 413.
   */
  maxQueueTokens: number;
  /** Residue embeddings (rows of hidden_size floats) in one response, summed over items; more is 413. */
  maxResidueEmbeddings: number;
  /** How long the first waiting item may wait for others to share its batch, in milliseconds. */
  maxWaitMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxItems: 256,
  maxChainResidues: 1000,
  maxBodyBytes: 4 << 20,
  maxQueueTokens: 1 << 20,
  maxResidueEmbeddings: 8192,
  maxWaitMs: 5,
};

export function resolveLimits(limits: Partial<ServerLimits> = {}): ServerLimits {
  const resolved = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof ServerLimits, number | undefined][]) {
    if (value === undefined) continue;
    const minimum = key === 'maxWaitMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new UsageError(`server limit ${key} must be an integer of at least ${minimum}, got ${JSON.stringify(value)}.`);
    }
    resolved[key] = value;
  }
  return resolved;
}
