/**
 * Options every record command shares (input/output, batching, threads, and running at scale: resume, shards,
 * strict checking, progress), registered in one place so that embed, score, mutate and fill read the same flags the
 * same way. Extend here, not per command.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_MODEL } from '../hub/index.js';
import { addHubOptions, hubOptionsFrom, type HubCliOptions } from '../hub/cliOptions.js';
import type { LoadOptions } from '../node/loadModel.js';
import type { DevicePreference } from '../runtime/candidates.js';
import { PRECISIONS, type Precision } from '../runtime/engine.js';
import { INPUT_FORMATS } from '../io/readRecords.js';
import { OUTPUT_FORMATS } from '../io/resultWriter.js';
import { parseChoice, parseInteger } from './options.js';
import type { PipelineOptions } from './pipeline.js';
import { parseShard, type Shard } from './shard.js';

export interface CommonCliOptions extends HubCliOptions {
  model: string;
  dtype?: Precision;
  device?: DevicePreference;
  gpus?: number[];
  input: string;
  output: string;
  format?: string;
  inputFormat?: string;
  idCol?: string;
  heavyCol?: string;
  lightCol?: string;
  chain?: 'H' | 'L';
  keepCols?: string[];
  stripGaps?: boolean;
  maxBatchTokens?: number;
  maxResidues?: number;
  chunkRows?: number;
  threads?: number;
  resume?: boolean;
  shard?: Shard;
  strict?: boolean;
  quiet?: boolean;
}

const parseList = (value: string): string[] =>
  value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');

/** The devices a Node process can ask for, in the order `auto` tries them (src/runtime/candidates.ts). */
export const NODE_DEVICES = ['auto', 'cuda', 'webgpu', 'cpu'] as const satisfies readonly DevicePreference[];

export const DEVICE_HELP =
  'auto (default: the fastest that starts: cuda when the CUDA engine is built and a GPU is present, else cpu) | ' +
  'cuda (native engine; npm run build:cuda) | webgpu (ONNX Runtime WebGPU; falls back to cpu with one line) | cpu';
export const GPUS_HELP = 'cuda: the GPUs one job spreads over, e.g. 0,2 (indices among CUDA_VISIBLE_DEVICES; default: every visible GPU)';

/** "0,2" -> [0, 2]: GPU indices, each a non-negative integer (one may repeat: two engines on one GPU). */
export function parseGpuList(value: string): number[] {
  const gpus = value.split(',').map((part) => part.trim());
  if (gpus.length === 0 || gpus.some((gpu) => !/^\d+$/.test(gpu))) {
    throw new UsageError(`--gpus must list GPU indices separated by commas, such as 0,1; got ${JSON.stringify(value)}.`);
  }
  return gpus.map(Number);
}

export const DTYPE_HELP =
  'fp32 (exact; default on cpu/webgpu) | bf16 (cuda default) | fp16 (cuda: fp16 compute; cpu: half-size weights, float32 compute) | ' +
  'int8 (cpu only: quantised encoder, ~2.8x faster on CPU); cpu conversions are made once and cached';

/** --model, --dtype, --device and the Hub flags: how a command gets its model (record commands, serve). */
export function addModelOptions(command: Command): Command {
  command
    .option(
      '--model <dir|org/name>',
      'checkpoint folder in Hugging Face format (config.json, vocab.txt, *.safetensors) or a Hugging Face Hub id',
      DEFAULT_MODEL,
    )
    .option('--device <device>', DEVICE_HELP, parseChoice('--device', NODE_DEVICES))
    .option('--dtype <dtype>', DTYPE_HELP, parseChoice('--dtype', PRECISIONS))
    .option('--gpus <list>', GPUS_HELP, parseGpuList);
  return addHubOptions(command);
}

export function addCommonOptions(command: Command, outputHelp: string): Command {
  return addModelOptions(command)
    .requiredOption(
      '--input <file>',
      'CSV/TSV with a header (id, heavy, light; either chain may be empty), FASTA or JSONL; .gz is read as well; "-" = stdin',
    )
    .option('--input-format <name>', `${INPUT_FORMATS.join(' | ')}: when the extension does not say (stdin is csv)`)
    .option('--id-col <name>', 'id column (default: the first of id, sequence_id, name, sequence_id_heavy)')
    .option('--heavy-col <name>', 'heavy chain column (default: heavy, sequence_alignment_aa_heavy, VH, HC or heavy_chain)')
    .option('--light-col <name>', 'light chain column (default: light, sequence_alignment_aa_light, VL, LC or light_chain)')
    .option('--chain <H|L>', 'FASTA: every record is this one chain (default: pairs named NAME_H/NAME_L or NAME|heavy/NAME|light)', parseChoice('--chain', ['H', 'L'] as const))
    .option('--keep-cols <names>', 'comma-separated input columns copied into every output row, after "id"', parseList)
    .option('--strip-gaps', 'remove alignment gaps ("-" and ".") from the chains instead of rejecting those rows')
    .requiredOption('--output <file>', `${outputHelp}; "-" = stdout`)
    .option('--format <name>', `output format when the extension does not say: ${OUTPUT_FORMATS.join(' | ')}`)
    .option('--max-batch-tokens <n>', 'token budget per batch, padding included (default 8192)', parseInteger('--max-batch-tokens', { min: 1 }))
    .option(
      '--max-residues <n>',
      'rows with more residues are rejected (listed in <output>.errors.jsonl) before any model work; default: the longest row whose forward pass fits in half the memory',
      parseInteger('--max-residues', { min: 1 }),
    )
    .option('--chunk-rows <n>', 'rows per chunk: length-sorting window and unit of progress commits (default 1024)', parseInteger('--chunk-rows', { min: 1 }))
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all cores)', parseInteger('--threads', { min: 1 }))
    .option('--resume', 'continue an interrupted run from <output>.progress.json (same options); the result is identical')
    .option('--shard <k/N>', 'process only part k of N (k from 0) of the input rows, a contiguous range; see `igbert merge`', parseShard)
    .option('--strict', 'check every row first and exit 1 without processing anything if one is bad')
    .option('--quiet', 'no progress or notes on stderr');
}

export function modelOptionsFrom(options: CommonCliOptions): LoadOptions {
  return {
    hub: { ...hubOptionsFrom(options), ...(options.quiet ? { progress: false } : {}) },
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.device ? { device: options.device } : {}),
    ...(options.gpus ? { gpus: options.gpus } : {}),
    ...(options.quiet ? { onProgress: () => {} } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.maxBatchTokens ? { batching: { maxBatchTokens: options.maxBatchTokens } } : {}),
  };
}

/** Options that change nothing in the output files, so a resumed run may give them differently. */
const NOT_PART_OF_THE_JOB = new Set(['resume', 'quiet', 'strict', 'offline', 'refresh', 'progress']);

export function pipelineOptionsFrom(options: CommonCliOptions): PipelineOptions {
  const columns = {
    ...(options.idCol !== undefined ? { id: options.idCol } : {}),
    ...(options.heavyCol !== undefined ? { heavy: options.heavyCol } : {}),
    ...(options.lightCol !== undefined ? { light: options.lightCol } : {}),
  };
  return {
    input: options.input,
    output: options.output,
    modelFolder: options.model,
    stripGaps: Boolean(options.stripGaps),
    columns,
    // Every option of the command (its own ones too: pooling, layer, ...) defines the output of a --resume'd run.
    job: Object.fromEntries(Object.entries(options).filter(([key]) => !NOT_PART_OF_THE_JOB.has(key))),
    ...(options.format ? { format: options.format } : {}),
    ...(options.inputFormat ? { inputFormat: options.inputFormat } : {}),
    ...(options.chain ? { chain: options.chain } : {}),
    ...(options.keepCols?.length ? { keepColumns: options.keepCols } : {}),
    ...(options.chunkRows ? { chunkRows: options.chunkRows } : {}),
    ...(options.maxBatchTokens ? { maxBatchTokens: options.maxBatchTokens } : {}),
    ...(options.resume ? { resume: true } : {}),
    ...(options.shard ? { shard: options.shard } : {}),
    ...(options.strict ? { strict: true } : {}),
    ...(options.quiet ? { quiet: true } : {}),
  };
}

export const EXIT_CODES_HELP =
  '\nExit codes: 0 every row processed; 1 failure (or --strict found a bad row); 2 usage error; 3 some rows rejected\n' +
  '(listed in <output>.errors.jsonl, every valid row still written).\n' +
  'Running at scale (resume, shards, formats, merge): see docs/pipeline.md.';
