/** `igbert embed`: sequence (and residue) embeddings for every row of a CSV, as JSON lines in input order. */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { readCsvRecords, type NumberedRecord } from '../../io/readRecords.js';
import { LineWriter } from '../../io/output.js';
import { float32ArrayJson } from '../../io/numbers.js';
import type { IgBertModel } from '../../model.js';
import { loadModel } from '../../node/loadModel.js';
import { embedEncoded, type EmbeddingResult } from '../../tasks/embed.js';
import { POOLINGS, poolingRows, type Pooling } from '../../tasks/pooling.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { EXIT } from '../exitCodes.js';
import { parseChoice, parseInteger } from '../options.js';
import { RejectLog } from '../rejects.js';

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

/** Rows per chunk: bounds memory while keeping batches full. */
const CHUNK_ROWS = 1024;

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
  const output = await LineWriter.open(options.output);
  const rejects = new RejectLog(options.output);
  let ok = false;
  try {
    let chunk: NumberedRecord[] = [];
    for await (const numbered of readCsvRecords(options.input, { stripGaps: Boolean(options.stripGaps) })) {
      chunk.push(numbered);
      if (chunk.length >= CHUNK_ROWS) {
        await embedChunk(model, chunk, options, output, rejects);
        chunk = [];
      }
    }
    await embedChunk(model, chunk, options, output, rejects);
    ok = true;
  } finally {
    await output.close(ok);
    await rejects.close();
  }
  if (rejects.count > 0) {
    process.stderr.write(`igbert: ${rejects.count} row(s) rejected, see ${rejects.path}; all other rows were embedded.\n`);
    return EXIT.rowsRejected;
  }
  return EXIT.ok;
}

async function embedChunk(
  model: IgBertModel,
  chunk: readonly NumberedRecord[],
  options: EmbedCliOptions,
  output: LineWriter,
  rejects: RejectLog,
): Promise<void> {
  const valid: EncodedAntibody[] = [];
  for (const { row, record } of chunk) {
    try {
      const [encoded] = model.encode([record], row) as [EncodedAntibody];
      if (options.pooling !== 'pooler') poolingRows(encoded, options.pooling, row);
      valid.push(encoded);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      await rejects.reject(row, record.id, error);
    }
  }
  const results = await embedEncoded(model, valid, {
    pooling: options.pooling,
    ...(options.layer !== undefined ? { layer: options.layer } : {}),
    residues: Boolean(options.residues),
  });
  for (const result of results) await output.write(embeddingLine(result));
}

function embeddingLine(result: EmbeddingResult): string {
  let line = `{"id":${JSON.stringify(result.id)},"embedding":${float32ArrayJson(result.embedding)}`;
  if (result.residueEmbeddings) line += `,"residue_embeddings":[${result.residueEmbeddings.map(float32ArrayJson).join(',')}]`;
  return line + '}';
}
