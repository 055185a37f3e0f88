/** `igbert embed`: sequence (and residue) embeddings for every row of a CSV, as JSON lines in input order. */
import type { Command } from 'commander';
import { scalarColumns, type ColumnSpec } from '../../io/outputFormats.js';
import { loadModel } from '../../node/loadModel.js';
import { embedEncoded } from '../../tasks/embed.js';
import { embedRow } from '../../tasks/resultRows.js';
import { checkPooling, POOLINGS, type Pooling } from '../../tasks/pooling.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { parseChoice, parseInteger } from '../options.js';
import { openJob } from '../pipeline.js';
import { residueCap } from '../residueCap.js';
import { addCommonOptions, EXIT_CODES_HELP, modelOptionsFrom, pipelineOptionsFrom, type CommonCliOptions } from '../commonOptions.js';

interface EmbedCliOptions extends CommonCliOptions {
  pooling: Pooling;
  residues?: boolean;
  layer?: number;
}

export function registerEmbed(program: Command): void {
  const command = program
    .command('embed')
    .description('Embed antibodies: one JSON object {"id", "embedding"} per input row, in input order.');
  addCommonOptions(command, 'JSON Lines output')
    .option(
      '--pooling <name>',
      `${POOLINGS.join(' | ')}; "mean" is the model card's recipe (mean over non-special tokens, ` +
        'which includes the [SEP] between the chains)',
      parseChoice('--pooling', POOLINGS),
      'mean',
    )
    .option('--residues', 'also write "residue_embeddings": one row per residue, heavy then light (no special tokens)')
    .option(
      '--layer <k>',
      'hidden state to use: 0 = embedding output, N = last layer (default), negative counts from the end',
      parseInteger('--layer'),
    )
    .addHelpText(
      'after',
      EXIT_CODES_HELP +
        '\n\nExample:\n  igbert embed --model ./IgBert --input pairs.csv --output embeddings.jsonl --pooling mean',
    )
    .action(async (options: EmbedCliOptions) => {
      process.exitCode = await runEmbed(options);
    });
}

async function runEmbed(options: EmbedCliOptions): Promise<number> {
  const columns: ColumnSpec[] = [
    ...scalarColumns('id'),
    { name: 'embedding', holds: 'vector' },
    ...(options.residues ? [{ name: 'residue_embeddings', holds: 'vectors', option: '--residues' } as const] : []),
  ];
  await using job = await openJob(pipelineOptionsFrom(options), { columns });
  if (job.finished !== undefined) return job.finished;
  await using model = await loadModel(options.model, modelOptionsFrom(options));
  // Fail on a bad --layer / pooler request before reading any input.
  model.resolveLayer(options.layer);
  model.assertSupports({ pooler: options.pooling === 'pooler' });
  return await job.run<EncodedAntibody>(
    {
      engine: model,
      maxResidues: residueCap(options.maxResidues, model.config),
      prepare({ row, record }) {
        const [encoded] = model.encode([record], row) as [EncodedAntibody];
        checkPooling(encoded, options.pooling, row);
        return encoded;
      },
      async process(encoded) {
        const results = await embedEncoded(model, encoded, {
          pooling: options.pooling,
          ...(options.layer !== undefined ? { layer: options.layer } : {}),
          residues: Boolean(options.residues),
        });
        return results.map(embedRow);
      },
    },
  );
}
