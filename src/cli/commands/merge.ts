/** `igbert merge`: the outputs of `--shard 0/N` … `--shard N-1/N` → one file, identical to an unsharded run's. */
import type { Command } from 'commander';
import { mergeOutputs } from '../../io/merge.js';
import { OUTPUT_FORMATS } from '../../io/resultWriter.js';
import { EXIT } from '../exitCodes.js';

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
      '\nExit codes: 0 merged; 1 failure (a shard missing or unfinished); 2 usage error; 3 merged, and the shards\n' +
        'rejected some input rows (listed in <output>.errors.jsonl).\n\n' +
        'Example:\n  igbert merge --output embeddings.parquet shards/part-*.parquet',
    )
    .action(async (shards: string[], options: MergeCliOptions) => {
      const { rejected } = await mergeOutputs(options.output, shards, options.format);
      if (rejected > 0) process.stderr.write(`igbert: the shards rejected ${rejected} input row(s), listed in ${options.output}.errors.jsonl.\n`);
      process.exitCode = rejected > 0 ? EXIT.rowsRejected : EXIT.ok;
    });
}
