/** The `igbert` command line: parses arguments, runs one command, maps errors to exit codes in one place. */
import { Command, CommanderError } from 'commander';
import { PRODUCER } from '../version.js';
import { EXIT, exitCodeFor, reportError } from './exitCodes.js';
import { registerConvert } from './commands/convert.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEmbed } from './commands/embed.js';
import { registerFill } from './commands/fill.js';
import { registerMutate } from './commands/mutate.js';
import { registerScore } from './commands/score.js';
import { registerServe } from './commands/serve.js';
import { registerInit } from './commands/init.js';
import { registerMerge } from './commands/merge.js';
import { registerProbe } from './commands/probe.js';
import { registerTokenize } from './commands/tokenize.js';

const ENVIRONMENT_HELP = `
Environment:
  HF_HOME, HF_HUB_CACHE           Hugging Face cache for --model <org/name> (shared with Python; default ~/.cache/huggingface/hub)
  HF_TOKEN                        token for private and gated models
  HF_ENDPOINT                     the Hub or a mirror (default https://huggingface.co)
  HF_HUB_OFFLINE=1                use the cache only (as --offline)
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  proxy for Hub downloads, and hosts reached directly
  IGBERT_CACHE_DIR                converted fp16/int8 weights (default ~/.cache/igbert)
  IGBERT_CUDA_ADDON               the CUDA engine's addon to load (default native/cuda/build/igbert_cuda.node here)
  IGBERT_CUDA_GEMM_TUNE=1         --device cuda: time cuBLASLt's candidate GEMM algorithms per batch size (off: the
                                  heuristic's choice, reproducible across processes; timing gained nothing measurable)
More: docs/hub.md (downloads), docs/pipeline.md (datasets at scale), docs/engines.md and native/cuda/README.md (GPUs).`;

export function buildProgram(): Command {
  const program = new Command('igbert')
    .description('IgBert antibody language model (ONNX Runtime on CPU/WebGPU, native CUDA on NVIDIA GPUs), with the same numbers as Hugging Face transformers.')
    .version(PRODUCER.version)
    .addHelpText('after', ENVIRONMENT_HELP);
  registerTokenize(program);
  registerEmbed(program);
  registerScore(program);
  registerMutate(program);
  registerFill(program);
  registerInit(program);
  registerConvert(program);
  registerMerge(program);
  registerProbe(program);
  registerServe(program);
  registerDoctor(program);
  styleErrors(program, 'igbert');
  return program;
}

/**
 * Commander's own errors (a missing required option, an unknown option or command) in the one CLI style,
 * `igbert: error: ...`, naming the help to read; they throw instead of exiting, so main() maps them to exit 2.
 */
function styleErrors(command: Command, path: string): void {
  command.exitOverride().configureOutput({
    outputError: (text, write) => write(`igbert: ${text.trimEnd()} (see ${path} --help)\n`),
  });
  for (const subcommand of command.commands) styleErrors(subcommand, `${path} ${subcommand.name()}`);
}

export async function main(argv: string[]): Promise<number> {
  // stderr closed under us (`2>&1 | head`): nothing can be said there any more, and that must not crash the run.
  process.stderr.on('error', () => undefined);
  // stdout closed by its reader (`igbert --help | head -1`): what is left unread is not wanted — as Unix tools do,
  // end quietly. Data outputs see the same error through their own writes (OutputClosedError) and stop there.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed its message (or the help / version text).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    reportError(error);
    return exitCodeFor(error);
  }
}

