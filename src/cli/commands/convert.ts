/** `igbert convert`: write a self-contained ONNX model (fp32, fp16 or int8) for other ONNX Runtime users. */
import type { Command } from 'commander';
import { addHubOptions, hubOptionsFrom, type HubCliOptions } from '../../hub/cliOptions.js';
import { assertNotAnInput } from '../../io/outputTarget.js';
import { convertCheckpoint, ONNX_FILE_NAMES } from '../../node/convertModel.js';
import { WEIGHT_DTYPES, type WeightDType } from '../../runtime/ort/conversion.js';
import { parseChoice } from '../options.js';

interface ConvertCliOptions extends HubCliOptions {
  model: string;
  output: string;
  dtype: WeightDType;
  attention: 'standard' | 'multihead';
}

export function registerConvert(program: Command): void {
  const command = program
    .command('convert')
    .description(
      'Write the model as ONNX (graph + external weights) with its config and tokenizer files, in the folder layout ' +
        'transformers.js and other ONNX Runtime users load.',
    )
    .requiredOption('--model <dir|org/name>', 'checkpoint folder or Hugging Face Hub id')
    .requiredOption('--output <dir>', 'output folder (config.json, tokenizer files and tokenizer.json, onnx/model*.onnx + .onnx_data)')
    .option('--dtype <dtype>', 'fp32 (exact) | fp16 (half-size weights, float32 compute) | int8 (quantised encoder Linears)', parseChoice('--dtype', WEIGHT_DTYPES), 'fp32')
    .option(
      '--attention <kind>',
      'standard (plain ONNX operators: any runtime or execution provider) | multihead (ONNX Runtime contrib operator: faster on CPU and wasm)',
      parseChoice('--attention', ['standard', 'multihead'] as const),
      'standard',
    );
  addHubOptions(command)
    .addHelpText(
      'after',
      `\nFiles: ${Object.entries(ONNX_FILE_NAMES).map(([d, f]) => `${d} → onnx/${f}`).join(', ')}.\n` +
        'Inputs input_ids, attention_mask, token_type_ids (int64 [batch, sequence]); outputs last_hidden_state, logits\n' +
        '(masked-LM checkpoints), pooler_output (checkpoints with a pooler). int8 uses ONNX Runtime\'s\n' +
        'DynamicQuantizeMatMul (com.microsoft), so it needs ONNX Runtime. The folder is itself a --model for every\n' +
        'igbert command (the converted weights are read in place; --dtype picks the variant), and transformers.js\n' +
        'loads it (config.json says the weights are external data; tokenizer.json is written where the checkpoint has none).\n\nExample:\n' +
        '  igbert convert --model ./IgBert --dtype int8 --output ./IgBert-onnx',
    )
    .action(async (options: ConvertCliOptions) => {
      await assertNotAnInput([options.output], [options.model], 'model folder');
      const result = await convertCheckpoint(options.model, options.output, {
        dtype: options.dtype,
        attention: options.attention,
        hub: hubOptionsFrom(options),
      });
      process.stderr.write(`igbert: wrote ${result.modelPath} (+ ${result.dataPath}); outputs: ${result.outputs.join(', ')}\n`);
    });
}
