/** `igbert merge`: the outputs of `--shard 0/N` … `--shard N-1/N` → one file, identical to an unsharded run's. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { mergeOutputs } from '../../io/merge.js';
import { resolveOutputTarget } from '../../io/outputTarget.js';
import { OUTPUT_FORMATS } from '../../io/resultWriter.js';
import { differingOptions, progressPath, readCheckpoint, sameIdentity, type JobCheckpoint } from '../checkpoint.js';
import { EXIT } from '../exitCodes.js';
import { outputIdentity } from '../pipeline/resume.js';
import type { Shard } from '../shard.js';

interface MergeCliOptions {
  output: string;
  format?: string;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description(
      'Merge shard outputs, given in shard order (0, 1, ..., N-1), into one file: exactly what one unsharded run ' +
        'writes. Their <shard>.errors.jsonl logs are merged into <output>.errors.jsonl.',
    )
    .argument('<shards...>', 'shard output files in shard order (name them with zero-padded indices so a glob sorts them)')
    .requiredOption('--output <file>', 'merged file (.jsonl, .csv, .npy with its .ids.csv, or .parquet)')
    .option('--format <name>', `format when the extensions do not say: ${OUTPUT_FORMATS.join(' | ')}`)
    .addHelpText(
      'after',
      '\nEvery shard must be a finished `--shard k/N` output of the same job (its <shard>.progress.json says so), each\n' +
        'of the N shards once, in order.\n\n' +
        'Exit codes: 0 merged; 1 failure; 2 usage error (a shard missing, unfinished, repeated, out of order or of\n' +
        'another job); 3 merged, and the shards rejected some input rows (listed in <output>.errors.jsonl).\n\n' +
        'Example:\n  igbert merge --output embeddings.parquet shards/part-*.parquet',
    )
    .action(async (shards: string[], options: MergeCliOptions) => {
      const { rejected } = await mergeOutputs(options.output, shards, options.format, () => checkShards(shards));
      if (rejected > 0) process.stderr.write(`igbert: the shards rejected ${rejected} input row(s), listed in ${options.output}.errors.jsonl.\n`);
      process.exitCode = rejected > 0 ? EXIT.rowsRejected : EXIT.ok;
    });
}

/** Options that differ from shard to shard of one job. */
const PER_SHARD = ['shard', 'output'];

/**
 * The shards must be the finished outputs of `--shard 0/N` … `--shard N-1/N` of one job (same options, same input),
 * each once and in that order — as their records (<shard>.progress.json) say.
 */
async function checkShards(shards: readonly string[]): Promise<void> {
  let first: { path: string; record: JobCheckpoint; shard: Shard } | undefined;
  const given: (Shard & { path: string })[] = [];
  for (const path of shards) {
    const { path: file } = await resolveOutputTarget(path);
    const record = await readCheckpoint(file);
    if (!record) {
      throw new UsageError(`${path} has no ${progressPath(file)}, so merge cannot tell which shard it is: merge the outputs of igbert's --shard runs.`);
    }
    if (!record.finished) throw new UsageError(`${path} is unfinished: rerun that shard with --resume first.`);
    if (!sameIdentity(record.finished, await outputIdentity(file))) throw new UsageError(`${path} changed since the run that made it.`);
    const shard = record.job['shard'] as Shard | undefined;
    if (!shard) throw new UsageError(`${path} was not made with --shard: it is a whole output, not a shard.`);
    first ??= { path, record, shard };
    const differing = differingOptions(first.record.job, record.job, PER_SHARD);
    if (differing.length > 0 || shard.count !== first.shard.count || !sameIdentity(first.record.input, record.input)) {
      const detail = differing.length
        ? differing.map((key) => `${key}: ${JSON.stringify(first!.record.job[key]) ?? 'unset'} there, ${JSON.stringify(record.job[key]) ?? 'unset'} here`).join('; ')
        : shard.count !== first.shard.count
          ? `--shard k/${first.shard.count} there, k/${shard.count} here`
          : 'the input file changed between the runs';
      throw new UsageError(`${path} comes from another job than ${first.path} (${detail}).`);
    }
    const twin = given.find((other) => other.index === shard.index);
    if (twin) throw new UsageError(`shard ${shard.index}/${shard.count} is given twice: ${twin.path} and ${path}.`);
    given.push({ ...shard, path });
  }
  const count = first?.shard.count ?? 0;
  const ordinal = (i: number): string => (i === 0 ? 'first' : `number ${i + 1}`);
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !given.some((shard) => shard.index === k));
  if (missing.length > 0) {
    throw new UsageError(`shard ${missing.map((k) => `${k}/${count}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing: merge needs all ${count} shards.`);
  }
  given.forEach((shard, i) => {
    if (shard.index !== i) throw new UsageError(`shards out of order: ${shard.path} is shard ${shard.index}/${count} but comes ${ordinal(i)}; give the shards in order 0 to ${count - 1}.`);
  });
}
