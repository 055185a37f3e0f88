/**
 * The residue cap (`--max-residues`): rows longer than this are rejected before any model work, with the reason,
 * instead of failing a whole batch — and the job — at the allocation (one 10,000-residue IgBert row asks ONNX
 * Runtime for a 6.4 GB attention tensor). By default the cap is derived from the machine's memory: the longest row
 * whose forward pass fits in half of it. Server requests have their own cap (--max-chain-residues).
 */
import { totalmem } from 'node:os';
import type { BertConfig } from '../config.js';

type LayerShape = Pick<BertConfig, 'num_attention_heads' | 'hidden_size' | 'intermediate_size'>;

/**
 * Peak bytes of one sequence of `tokens` tokens in a float32 forward pass: three [heads, tokens, tokens] attention
 * tensors alive at once (scores, masked scores, probabilities), plus the layer's activations (hidden states, Q/K/V,
 * the intermediate layer). Weights are not counted: they are memory-mapped, and paged out before activations are.
 */
export function forwardBytes(tokens: number, shape: LayerShape): number {
  return 4 * (3 * shape.num_attention_heads * tokens * tokens + tokens * (shape.intermediate_size + 6 * shape.hidden_size));
}

/** The most residues a row may have for its forward pass (3 special tokens included) to fit in half of `memoryBytes`. */
export function defaultMaxResidues(memoryBytes: number, shape: LayerShape): number {
  const budget = memoryBytes / 2;
  const a = 12 * shape.num_attention_heads;
  const b = 4 * (shape.intermediate_size + 6 * shape.hidden_size);
  let tokens = Math.floor((-b + Math.sqrt(b * b + 4 * a * budget)) / (2 * a));
  // The closed form can be off by one in floating point: settle on the exact integer.
  while (tokens > 0 && forwardBytes(tokens, shape) > budget) tokens--;
  while (forwardBytes(tokens + 1, shape) <= budget) tokens++;
  return Math.max(0, tokens - 3);
}

/** This machine's memory for the process: the smaller of the RAM and a cgroup limit (containers, Slurm). */
export function machineMemory(): number {
  // process.constrainedMemory: Node >= 19.6; 0 (or 2^64, "max") when there is no limit.
  const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  return limit > 0 ? Math.min(limit, totalmem()) : totalmem();
}

/** The cap and how a message names it. */
export interface ResidueCap {
  residues: number;
  /** e.g. "--max-residues 9", or the default with the memory it comes from. */
  source: string;
}

export function residueCap(given: number | undefined, shape: LayerShape, memoryBytes = machineMemory()): ResidueCap {
  if (given !== undefined) return { residues: given, source: `--max-residues ${given}` };
  const residues = defaultMaxResidues(memoryBytes, shape);
  const gib = (memoryBytes / 2 ** 30).toFixed(1);
  return { residues, source: `${residues}, the default for this machine's ${gib} GiB of memory (--max-residues)` };
}
