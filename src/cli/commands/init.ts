/** `igbert init --random`: write a Hugging Face format checkpoint with random weights (tests, benchmarks, demos). */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { IGBERT_CONFIG, TINY_CONFIG, type BertConfig } from '../../config.js';
import { FileError, UsageError } from '../../errors.js';
import { bertForMaskedLmPlan, configJson, generateTensor, tokenizerFiles } from '../../init/randomCheckpoint.js';
import { SeededRandom } from '../../init/random.js';
import { writeSafetensorsStreaming } from '../../weights/checkpointFiles.js';
import { parseChoice, parseSeed, SEED_RANGE } from '../options.js';

const PRESETS: Record<string, BertConfig> = { igbert: IGBERT_CONFIG, tiny: TINY_CONFIG };

interface InitCliOptions {
  random?: boolean;
  preset: 'igbert' | 'tiny';
  output: string;
  seed: number;
  force?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Write a Hugging Face format BertForMaskedLM checkpoint (config.json, model.safetensors, tokenizer files).')
    .option('--random', 'random weights drawn as transformers initialises BERT (required: no other source exists yet)')
    .option('--preset <name>', 'igbert = IgBert\'s exact shape (30 layers, 1024 hidden, 1.68 GB); tiny = 2 layers, 128 hidden', parseChoice('--preset', ['igbert', 'tiny'] as const), 'tiny')
    .requiredOption('--output <dir>', 'folder to create (must be empty or absent)')
    .option('--seed <n>', `random seed, ${SEED_RANGE} (same seed, same bytes)`, parseSeed(), 0)
    .option('--force', 'write into a folder that is not empty')
    .addHelpText('after', '\nExample:\n  igbert init --random --preset tiny --output ./tiny-model --seed 1')
    .action(async (options: InitCliOptions) => {
      if (!options.random) {
        throw new UsageError('init needs --random: igbert can only create random-weight checkpoints (for real weights, download Exscientia/IgBert).');
      }
      await writeRandomCheckpoint(options.output, PRESETS[options.preset] as BertConfig, options.seed, Boolean(options.force));
      process.stderr.write(`igbert: wrote a random ${options.preset} checkpoint (seed ${options.seed}) to ${options.output}\n`);
    });
}

export async function writeRandomCheckpoint(dir: string, config: BertConfig, seed: number, force = false): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (cause) {
    throw new FileError(`cannot create ${dir}: ${(cause as Error).message}`, { cause });
  }
  if (!force && (await readdir(dir)).length > 0) {
    throw new UsageError(`${dir} is not empty; choose a new folder or pass --force to overwrite checkpoint files in it.`);
  }
  const random = new SeededRandom(seed);
  const plan = bertForMaskedLmPlan(config).map((tensor) => ({
    ...tensor,
    dtype: 'F32' as const,
    byteLength: 4 * tensor.shape.reduce((a, b) => a * b, 1),
  }));
  // One tensor in memory at a time: the IgBert preset (1.68 GB) is generated while it is written.
  await writeSafetensorsStreaming(
    join(dir, 'model.safetensors'),
    plan,
    (tensor) => {
      const values = generateTensor(tensor, config, random);
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    },
    { format: 'pt' },
  );
  await writeFile(join(dir, 'config.json'), configJson(config));
  for (const [name, text] of Object.entries(tokenizerFiles())) await writeFile(join(dir, name), text);
}
