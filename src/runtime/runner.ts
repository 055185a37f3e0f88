/**
 * Runs forward items on an engine: plans token-budget batches the way the engine lays them out (padded or packed),
 * keeps as many batches in flight as the engine takes, and hands each item's result back by its index. A batch that
 * does not fit in device memory is split in halves and retried; a single sequence that still does not fit is an
 * InputError naming its record, so the caller can reject that row and keep the rest.
 */
import { InputError, describeLocation } from '../errors.js';
import { packBatch } from '../batches/packedBatch.js';
import { planBatches, resolveBatching, type BatchingOptions } from '../batches/planBatches.js';
import type { ForwardItem, ForwardOptions, SequenceResult } from '../batches/requests.js';
import type { BatchListener } from '../batches/progress.js';
import { isOutOfMemory, type Engine } from './engine.js';

export async function runForward(
  engine: Engine,
  items: readonly ForwardItem[],
  options: ForwardOptions,
  onResult: (index: number, result: SequenceResult) => void,
  settings: { batching?: BatchingOptions; onBatch?: BatchListener } = {},
): Promise<void> {
  if (items.length === 0) return;
  const lengths = items.map((item) => item.tokens.inputIds.length);
  const batching = resolveBatching(settings.batching, engine.info.batching);
  const plan = planBatches(lengths, batching, engine.info.layout);

  const runBatch = async (indices: readonly number[]): Promise<void> => {
    let results: SequenceResult[];
    try {
      results = await engine.run(packBatch(indices.map((i) => items[i] as ForwardItem), options));
    } catch (error) {
      if (!isOutOfMemory(error)) throw error;
      if (indices.length > 1) {
        const half = Math.ceil(indices.length / 2);
        await runBatch(indices.slice(0, half));
        await runBatch(indices.slice(half));
        return;
      }
      const index = indices[0] as number;
      const location = items[index]?.location ?? {};
      const where = describeLocation(location) || `sequence ${index + 1}`;
      throw new InputError(
        `${where}: ${lengths[index]} tokens do not fit in the memory of ${engine.info.device} even alone ` +
          `(${(error as Error).message}). Shorten or split the sequence, or lower --max-residues to reject such rows up front.`,
        location,
        'SEQUENCE_TOO_LONG',
      );
    }
    results.forEach((result, k) => onResult(indices[k] as number, result));
    settings.onBatch?.({ items: indices.length, tokens: indices.reduce((sum, i) => sum + (lengths[i] as number), 0) });
  };

  // Up to `concurrency` batches in flight, taken from the plan in order.
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < plan.length) {
      try {
        await runBatch(plan[next++] as number[]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(engine.info.concurrency, plan.length)) }, worker));
}
