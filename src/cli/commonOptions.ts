/**
 * Options every record command shares (input/output, batching, threads), registered in one place so that
 * embed, score, mutate and fill read the same flags the same way. Extend here, not per command.
 */
import type { Command } from 'commander';
import type { ModelOptions } from '../model.js';
import { parseInteger } from './options.js';
import type { PipelineOptions } from './pipeline.js';

export interface CommonCliOptions {
  model: string;
  input: string;
  output: string;
  format?: string;
  stripGaps?: boolean;
  maxBatchTokens?: number;
  threads?: number;
}

export function addCommonOptions(command: Command, outputHelp: string): Command {
  return command
    .requiredOption('--model <dir>', 'checkpoint folder in Hugging Face format (config.json, vocab.txt, *.safetensors)')
    .requiredOption('--input <file>', 'CSV with a header: id, heavy, light (either chain may be empty); "-" = stdin')
    .requiredOption('--output <file>', `${outputHelp}; "-" = stdout`)
    .option('--format <name>', 'output format when the extension does not say: jsonl | csv')
    .option('--strip-gaps', 'remove alignment gaps ("-" and ".") from the chains instead of rejecting those rows')
    .option('--max-batch-tokens <n>', 'token budget per batch, padding included (default 8192)', parseInteger('--max-batch-tokens', { min: 1 }))
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all cores)', parseInteger('--threads', { min: 1 }));
}

export function modelOptionsFrom(options: CommonCliOptions): ModelOptions {
  return {
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.maxBatchTokens ? { batching: { maxBatchTokens: options.maxBatchTokens } } : {}),
  };
}

export function pipelineOptionsFrom(options: CommonCliOptions): PipelineOptions {
  return {
    input: options.input,
    output: options.output,
    stripGaps: Boolean(options.stripGaps),
    ...(options.format ? { format: options.format } : {}),
  };
}

export const EXIT_CODES_HELP =
  '\nExit codes: 0 every row processed; 1 failure; 2 usage error; 3 some rows rejected (listed in\n' +
  '<output>.errors.jsonl, every valid row still written).';
