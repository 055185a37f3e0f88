/**
 * Several engines of one kind as one (every GPU of a node): each batch goes to the engine with the fewest batches in
 * flight, so a faster or less busy GPU takes more. Results go back to the runner, which places them by item index,
 * so the output is in input order and identical to one GPU's (same precision, same batches). An engine that fails
 * other than by running out of memory is taken out: its batch is retried on the others, the failure is reported
 * once, and the job goes on while one engine is left.
 */
import type { PackedBatch } from '../batches/packedBatch.js';
import type { BatchNeeds, SequenceResult } from '../batches/requests.js';
import { RuntimeFailure } from '../errors.js';
import { isOutOfMemory, type Engine, type EngineInfo, type EngineMemory, type EngineWork } from './engine.js';

interface Member {
  engine: Engine;
  inFlight: number;
  stats: EngineWork;
}

export class MultiEngine implements Engine {
  readonly info: EngineInfo;
  private readonly members: Member[];

  constructor(
    engines: readonly Engine[],
    private readonly log: (line: string) => void = () => {},
  ) {
    const first = engines[0];
    if (!first) throw new Error('MultiEngine needs at least one engine');
    this.members = engines.map((engine) => ({
      engine,
      inFlight: 0,
      stats: { label: engine.info.deviceName ?? engine.info.device, batches: 0, sequences: 0, tokens: 0, busySeconds: 0 },
    }));
    const names = engines.map((e) => e.info.deviceName ?? e.info.device);
    this.info = {
      ...first.info,
      deviceName: engines.length === 1 ? (names[0] as string) : `${engines.length} GPUs: ${names.join('; ')}`,
      concurrency: engines.reduce((sum, e) => sum + e.info.concurrency, 0),
    };
  }

  /** Per-engine work so far (progress lines and the summary show throughput per GPU). */
  work(): EngineWork[] {
    return this.members.map((m) => ({ ...m.stats }));
  }

  private healthy(): Member[] {
    return this.members.filter((m) => m.stats.failed === undefined);
  }

  async run(batch: PackedBatch): Promise<SequenceResult[]> {
    for (;;) {
      const candidates = this.healthy();
      if (candidates.length === 0) {
        throw new RuntimeFailure(`every engine failed: ${this.members.map((m) => `${m.stats.label}: ${m.stats.failed}`).join('; ')}`);
      }
      const member = candidates.reduce((best, m) => (m.inFlight < best.inFlight ? m : best));
      member.inFlight++;
      const started = performance.now();
      try {
        const results = await member.engine.run(batch);
        member.stats.batches++;
        member.stats.sequences += batch.lengths.length;
        member.stats.tokens += batch.inputIds.length;
        return results;
      } catch (error) {
        // Running out of memory is the batch's problem (the runner splits it), not the engine's.
        if (isOutOfMemory(error) || candidates.length === 1) throw error;
        member.stats.failed = (error as Error).message;
        this.log(`${member.stats.label} failed and is taken out of this job (${member.stats.failed}); its batches go to the other ${candidates.length - 1}.`);
      } finally {
        member.inFlight--;
        member.stats.busySeconds += (performance.now() - started) / 1000;
      }
    }
  }

  async prepare(needs: BatchNeeds): Promise<void> {
    await Promise.all(this.healthy().map((m) => m.engine.prepare(needs)));
  }

  memory(): EngineMemory | undefined {
    const each = this.members.map((m) => m.engine.memory?.()).filter((m): m is EngineMemory => m !== undefined);
    if (each.length === 0) return undefined;
    const sum = (key: keyof EngineMemory): number => each.reduce((total, m) => total + m[key], 0);
    return {
      weightBytes: sum('weightBytes'),
      activationBytes: sum('activationBytes'),
      peakActivationBytes: sum('peakActivationBytes'),
      deviceFreeBytes: sum('deviceFreeBytes'),
      deviceTotalBytes: sum('deviceTotalBytes'),
    };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.members.map((m) => m.engine.dispose()));
  }
}
