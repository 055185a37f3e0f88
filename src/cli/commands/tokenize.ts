/** `igbert tokenize`: raw BertTokenizer output for one text per input line, exactly as Hugging Face gives it. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { FileError } from '../../errors.js';
import { checkOutputHolds, extensionFormat, type ColumnSpec } from '../../io/outputFormats.js';
import { resolveOutputTarget } from '../../io/outputTarget.js';
import { openResultWriter } from '../../io/resultWriter.js';
import { loadTokenizer } from '../../node/loadModel.js';
import { DEFAULT_MODEL } from '../../hub/index.js';
import { addHubOptions, hubOptionsFrom, type HubCliOptions } from '../../hub/cliOptions.js';

interface TokenizeCliOptions extends HubCliOptions {
  model: string;
  input: string;
  output: string;
}

const TOKENIZER_COLUMNS: ColumnSpec[] = ['input_ids', 'attention_mask', 'token_type_ids', 'special_tokens_mask'].map((name) => ({ name, holds: 'list' }));

export function registerTokenize(program: Command): void {
  const command = program
    .command('tokenize')
    .description(
      'Tokenise raw text like Hugging Face BertTokenizer(text, add_special_tokens=True, return_special_tokens_mask=True): ' +
        'one JSON object per input line.',
    )
    .option('--model <dir|org/name>', 'checkpoint folder or Hub id (only vocab.txt and the tokenizer files are read)', DEFAULT_MODEL)
    .requiredOption('--input <file>', 'text file, one raw text per line (e.g. "E V Q L [SEP] D I Q"); "-" = stdin')
    .requiredOption('--output <file>', 'JSON Lines: {"input_ids","attention_mask","token_type_ids","special_tokens_mask"}; "-" = stdout')
    .addHelpText(
      'after',
      '\nRaw mode does no validation: unspaced "EVQL" is one [UNK], lowercase and "-", ".", "*" are [UNK], as in\n' +
        'Hugging Face. For antibodies use `igbert embed`, which validates and spaces the residues itself.',
    );
  addHubOptions(command).action(async (options: TokenizeCliOptions) => {
      const target = await resolveOutputTarget(options.output, [options.input]);
      checkOutputHolds(extensionFormat(target.given) ?? 'jsonl', target, TOKENIZER_COLUMNS);
      const tokenizer = await loadTokenizer(options.model, { hub: hubOptionsFrom(options) });
      const lines = splitLines(await readText(options.input));
      const output = await openResultWriter(target, 'jsonl');
      try {
        for (const text of lines) {
          const e = tokenizer.encode(text);
          await output.write({
            input_ids: e.inputIds,
            attention_mask: e.attentionMask,
            token_type_ids: e.tokenTypeIds,
            special_tokens_mask: e.specialTokensMask,
          });
        }
        await output.finish();
      } catch (error) {
        await output.abandon(true);
        throw error;
      }
    });
}

/** One text per line; a final newline does not start another (empty) text. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function readText(path: string): Promise<string> {
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new FileError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}
