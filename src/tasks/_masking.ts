/**
 * Masked forward passes for the likelihood tasks. A pass is a record with some residues replaced by [MASK]; many
 * passes (of many records) go through the one token-budget batcher together, and the caller reads the log-probability
 * rows it needs inside the batch callback, so no [length, vocab] array is kept per pass.
 */
import type { EncodedAntibody } from '../tokenizer/antibody.js';
import type { TaskModel } from './taskModel.js';

export interface MaskedPass {
  source: EncodedAntibody;
  /** Token indices to replace by [MASK]; empty = the record as it is. */
  masked: readonly number[];
  /** Token indices whose log-probabilities the pass reads: only these come back from the engine. */
  reads: readonly number[];
}

/**
 * Reads the full-vocabulary log-probabilities (natural log) at one token of the pass (one of its `reads`). The array
 * is a view into the batch output: valid only during the callback; copy what must outlive it.
 */
export type LogProbsAt = (tokenIndex: number) => Float32Array;

/**
 * Masked copies exist only for the slice of passes being run, so that the exact PLL of a large file (one copy per
 * residue) needs memory for a bounded number of tokens, not for length squared per record. 2^21 tokens of copied
 * input ids are 8 MiB; every slice still fills many batches.
 */
const TOKENS_PER_SLICE = 1 << 21;

/** Runs every pass; `read(passIndex, logProbsAt)` is called once per pass, in batch order (not pass order). */
export async function runMaskedPasses(
  model: TaskModel,
  passes: readonly MaskedPass[],
  read: (passIndex: number, logProbsAt: LogProbsAt) => void,
): Promise<void> {
  const V = model.config.vocab_size;
  const maskId = model.tokenizer.specialIds.mask;
  let start = 0;
  while (start < passes.length) {
    let end = start;
    let tokens = 0;
    while (end < passes.length && (end === start || tokens < TOKENS_PER_SLICE)) {
      tokens += (passes[end] as MaskedPass).source.inputIds.length;
      end++;
    }
    const items = passes.slice(start, end).map(({ source, masked, reads }) => {
      let inputIds = source.inputIds;
      if (masked.length > 0) {
        inputIds = source.inputIds.slice();
        for (const tokenIndex of masked) inputIds[tokenIndex] = maskId;
      }
      // Only inputIds differ; tokenTypeIds is shared with the source (nothing mutates it).
      return {
        tokens: { inputIds, tokenTypeIds: source.tokenTypeIds },
        request: { logProbs: reads },
        location: { record: source.record, id: source.id },
      };
    });
    const offset = start;
    await model.forward(items, { layer: model.config.num_hidden_layers }, (index, output) => {
      const logProbs = output.logProbs ?? new Float32Array(0);
      const reads = (passes[offset + index] as MaskedPass).reads;
      read(offset + index, (tokenIndex) => {
        const k = reads.indexOf(tokenIndex);
        if (k < 0) throw new Error(`token ${tokenIndex} was not among the pass's reads`);
        return logProbs.subarray(k * V, (k + 1) * V);
      });
    });
    start = end;
  }
}

/** Vocabulary ids of residue letters, in the order given; letters missing from the vocabulary are left out. */
export function letterIds(model: TaskModel, letters: string): { letter: string; id: number }[] {
  const out: { letter: string; id: number }[] = [];
  for (const letter of letters) {
    const id = model.tokenizer.vocabulary.id(letter);
    if (id !== undefined) out.push({ letter, id });
  }
  return out;
}

/**
 * The pass plan shared by score, mutate and scan. Each record has items (a residue to score, a mutation set, a scan
 * position), each with the token indices it masks. masked = true: one pass per item with its tokens masked;
 * masked = false: one unmasked pass per record serves all of its items. `read(record, item, logProbsAt)` is called
 * once per item.
 */
export async function runItemPasses(
  model: TaskModel,
  records: readonly EncodedAntibody[],
  itemMasks: readonly (readonly (readonly number[])[])[],
  masked: boolean,
  read: (record: number, item: number, logProbsAt: LogProbsAt) => void,
): Promise<void> {
  const passes: MaskedPass[] = [];
  const owners: { record: number; items: number[] }[] = [];
  records.forEach((source, record) => {
    const items = itemMasks[record] ?? [];
    if (!masked) {
      passes.push({ source, masked: [], reads: [...new Set(items.flat())] });
      owners.push({ record, items: items.map((_, item) => item) });
      return;
    }
    items.forEach((tokens, item) => {
      passes.push({ source, masked: tokens, reads: tokens });
      owners.push({ record, items: [item] });
    });
  });
  await runMaskedPasses(model, passes, (pass, logProbsAt) => {
    const { record, items } = owners[pass] as { record: number; items: number[] };
    for (const item of items) read(record, item, logProbsAt);
  });
}
