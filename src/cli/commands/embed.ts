/** `igbert embed`: sequence (and residue) embeddings for every row of a CSV, as JSON lines in input order. */
import type { Command } from 'commander';
import { loadModel } from '../../node/loadModel.js';
import { embedEncoded } from '../../tasks/embed.js';
import { POOLINGS, poolingRows, type Pooling } from '../../tasks/pooling.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { parseChoice, parseInteger } from '../options.js';
import { runRecordPipeline } from '../pipeline.js';

interface EmbedCliOptions {
  model: string;
  input: string;
  output: string;
  pooling: Pooling;
  residues?: boolean;
  layer?: number;
  maxBatchTokens?: number;
  threads?: number;
  stripGaps?: boolean;
}

export function registerEmbed(program: Command): void {
  program
    .command('embed')
    .description('Embed antibodies: one JSON object {"id", "embedding"} per input row, in input order.')
    .requiredOption('--model <dir>', 'checkpoint folder in Hugging Face format (config.json, vocab.txt, *.safetensors)')
    .requiredOption('--input <file>', 'CSV with a header: id, heavy, light (either chain may be empty); "-" = stdin')
    .requiredOption('--output <file>', 'JSON Lines output; "-" = stdout')
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
    .option('--strip-gaps', 'remove alignment gaps ("-" and ".") from the chains instead of rejecting those rows')
    .option('--max-batch-tokens <n>', 'token budget per batch, padding included (default 8192)', parseInteger('--max-batch-tokens', { min: 1 }))
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all cores)', parseInteger('--threads', { min: 1 }))
    .addHelpText(
      'after',
      '\nExit codes: 0 all rows embedded; 1 failure; 2 usage error; 3 some rows rejected (listed in <output>.errors.jsonl,\n' +
        'every valid row still written).\n\nExample:\n  igbert embed --model ./IgBert --input pairs.csv --output embeddings.jsonl --pooling mean',
    )
    .action(async (options: EmbedCliOptions) => {
      process.exitCode = await runEmbed(options);
    });
}

async function runEmbed(options: EmbedCliOptions): Promise<number> {
  await using model = await loadModel(options.model, {
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.maxBatchTokens ? { batching: { maxBatchTokens: options.maxBatchTokens } } : {}),
  });
  // Fail on a bad --layer / pooler request before reading any input.
  model.resolveLayer(options.layer);
  model.assertSupports({ pooler: options.pooling === 'pooler' });
  return await runRecordPipeline<EncodedAntibody>(
    { input: options.input, output: options.output, stripGaps: Boolean(options.stripGaps) },
    {
      prepare({ row, record }) {
        const [encoded] = model.encode([record], row) as [EncodedAntibody];
        if (options.pooling !== 'pooler') poolingRows(encoded, options.pooling, row);
        return encoded;
      },
      async process(encoded) {
        const results = await embedEncoded(model, encoded, {
          pooling: options.pooling,
          ...(options.layer !== undefined ? { layer: options.layer } : {}),
          residues: Boolean(options.residues),
        });
        return results.map((r) => ({ id: r.id, embedding: r.embedding, residue_embeddings: r.residueEmbeddings }));
      },
    },
  );
}
