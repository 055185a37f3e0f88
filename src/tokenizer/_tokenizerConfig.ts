/**
 * tokenizer_config.json + special_tokens_map.json -> BertTokenizerOptions, following what transformers 5's
 * `BertTokenizer.from_pretrained` does with them (tokenization_utils_base.py `_from_pretrained`), checked case by
 * case in test/fixtures/reference/tokenizer.json ("config_cases"):
 * - Absent keys take BertTokenizer's defaults: do_lower_case TRUE (so a folder with only vocab.txt lower-cases, and
 *   every upper-case residue becomes [UNK]), strip_accents null (= follow do_lower_case), tokenize_chinese_chars true.
 * - A special token is a string or an AddedToken object {"content": ..., "lstrip": ..., ...} (optionally "__type").
 * - special_tokens_map.json is read only when tokenizer_config.json has no "added_tokens_decoder"; its named tokens
 *   override the config's. Its "additional_special_tokens" count only when the config lists none of its own
 *   ("extra_special_tokens", the v5 name, or "additional_special_tokens"); its "extra_special_tokens" are appended.
 * - Keys that transformers 5's BertTokenizer ignores (do_basic_tokenize, never_split, clean_up_tokenization_spaces,
 *   ...) are ignored here too. Added tokens with lstrip/rstrip/single_word/normalized or non-special added tokens
 *   change how text is split; we do not implement them, so they are refused rather than approximated.
 */
import { CheckpointError, UnsupportedError } from '../errors.js';
import type { BertTokenizerOptions, SpecialTokenName } from './tokenizerOptions.js';

const SPECIAL_TOKEN_NAMES: readonly SpecialTokenName[] = ['unk', 'sep', 'pad', 'cls', 'mask'];
const TOKENIZER_CLASSES = new Set(['BertTokenizer', 'BertTokenizerFast']);
/** transformers' VERY_LARGE_INTEGER (int(1e30)), written as model_max_length when a checkpoint has no limit. */
const NO_LIMIT = 1e29;

type Json = Record<string, unknown>;

function parseObject(text: string, file: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError(`${file} is not valid JSON (${(cause as Error).message}). Re-download it or delete it.`, {
      cause,
      details: { file },
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(`${file} must hold a JSON object.`, { details: { file } });
  }
  return value as Json;
}

/** The text of a special token given as a string or as an AddedToken object; refuses flags we do not implement. */
function tokenContent(value: unknown, file: string, key: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const token = value as Json;
    const content = token['content'];
    if (typeof content !== 'string') {
      throw new CheckpointError(`${file}: ${key} has no string "content".`, { details: { file, key } });
    }
    for (const flag of ['lstrip', 'rstrip', 'single_word', 'normalized'] as const) {
      if (token[flag] === true) {
        throw new UnsupportedError(
          `${file}: ${key} (${JSON.stringify(content)}) sets "${flag}": true, which changes how text around it is ` +
            `split; igbert implements special tokens with ${flag} false only. Set it to false if the model allows.`,
          { details: { file, key, flag } },
        );
      }
    }
    if (token['special'] === false) {
      throw new UnsupportedError(
        `${file}: ${key} (${JSON.stringify(content)}) is a non-special added token; igbert supports special added ` +
          'tokens only.',
        { details: { file, key } },
      );
    }
    return content;
  }
  throw new CheckpointError(`${file}: ${key} must be a string or an AddedToken object, found ${JSON.stringify(value)}.`, {
    details: { file, key },
  });
}

function tokenList(value: unknown, file: string, key: string): string[] {
  if (!Array.isArray(value)) {
    throw new UnsupportedError(`${file}: ${key} must be a list of tokens, found ${JSON.stringify(value)}.`, {
      details: { file, key },
    });
  }
  return value.map((token, index) => tokenContent(token, file, `${key}[${index}]`));
}

function optionalBoolean(config: Json, key: string, file: string): boolean | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new CheckpointError(`${file}: "${key}" must be true or false, found ${JSON.stringify(value)}.`, {
      details: { file, key, value },
    });
  }
  return value;
}

/**
 * Reads the optional tokenizer files of a checkpoint. `configFile` / `mapFile` name them in error messages.
 * Absent files give BertTokenizer's defaults.
 */
export function tokenizerOptionsFromFiles(
  configText: string | undefined,
  mapText: string | undefined,
  configFile = 'tokenizer_config.json',
  mapFile = 'special_tokens_map.json',
): BertTokenizerOptions {
  const config = configText === undefined ? {} : parseObject(configText, configFile);
  const tokenizerClass = config['tokenizer_class'];
  if (tokenizerClass !== undefined && tokenizerClass !== null && !TOKENIZER_CLASSES.has(String(tokenizerClass))) {
    throw new UnsupportedError(
      `${configFile}: tokenizer_class is ${JSON.stringify(tokenizerClass)}; igbert implements BertTokenizer only.`,
      { details: { file: configFile, key: 'tokenizer_class', value: tokenizerClass } },
    );
  }
  const stripAccents = config['strip_accents'];
  if (stripAccents !== undefined && stripAccents !== null && typeof stripAccents !== 'boolean') {
    throw new CheckpointError(`${configFile}: "strip_accents" must be true, false or null.`, {
      details: { file: configFile, key: 'strip_accents', value: stripAccents },
    });
  }
  const paddingSide = config['padding_side'];
  if (paddingSide !== undefined && paddingSide !== 'right' && paddingSide !== 'left') {
    throw new CheckpointError(`${configFile}: "padding_side" must be "right" or "left".`, {
      details: { file: configFile, key: 'padding_side', value: paddingSide },
    });
  }
  const maxLength = config['model_max_length'];
  if (maxLength !== undefined && maxLength !== null && (typeof maxLength !== 'number' || !(maxLength > 0))) {
    throw new CheckpointError(`${configFile}: "model_max_length" must be a positive number.`, {
      details: { file: configFile, key: 'model_max_length', value: maxLength },
    });
  }

  const specialTokens: Partial<Record<SpecialTokenName, string>> = {};
  const setNamed = (source: Json, file: string): void => {
    for (const name of SPECIAL_TOKEN_NAMES) {
      const key = `${name}_token`;
      if (source[key] === undefined) continue;
      if (source[key] === null) {
        throw new CheckpointError(`${file}: ${key} is null; igbert needs all of [PAD] [UNK] [CLS] [SEP] [MASK].`, {
          details: { file, key },
        });
      }
      specialTokens[name] = tokenContent(source[key], file, key);
    }
  };
  setNamed(config, configFile);

  // transformers renames the legacy "additional_special_tokens" to "extra_special_tokens" unless the latter is a
  // non-empty list; once the config has either key, special_tokens_map's legacy list is ignored.
  const extra = config['extra_special_tokens'];
  const useLegacy = config['additional_special_tokens'] !== undefined && !(Array.isArray(extra) && extra.length > 0);
  const listKey = useLegacy ? 'additional_special_tokens' : 'extra_special_tokens';
  const configHasList = extra !== undefined || config['additional_special_tokens'] !== undefined;
  let additional = config[listKey] == null ? [] : tokenList(config[listKey], configFile, listKey);

  // Entries of added_tokens_decoder are added tokens too (their ids come from vocab.txt when the content is there).
  const decoder = config['added_tokens_decoder'];
  if (decoder !== undefined && decoder !== null) {
    if (typeof decoder !== 'object' || Array.isArray(decoder)) {
      throw new CheckpointError(`${configFile}: added_tokens_decoder must be an object of id -> token.`, {
        details: { file: configFile, key: 'added_tokens_decoder' },
      });
    }
    for (const [id, token] of Object.entries(decoder as Json)) {
      additional.push(tokenContent(token, configFile, `added_tokens_decoder["${id}"]`));
    }
  } else if (mapText !== undefined) {
    const map = parseObject(mapText, mapFile);
    setNamed(map, mapFile);
    if (!configHasList && map['additional_special_tokens'] != null) {
      additional = tokenList(map['additional_special_tokens'], mapFile, 'additional_special_tokens');
    }
    if (map['extra_special_tokens'] != null) {
      additional.push(...tokenList(map['extra_special_tokens'], mapFile, 'extra_special_tokens'));
    }
  }

  const options: BertTokenizerOptions = {
    specialTokens,
    additionalSpecialTokens: [...new Set(additional)],
  };
  const doLowerCase = optionalBoolean(config, 'do_lower_case', configFile);
  if (doLowerCase !== undefined) options.doLowerCase = doLowerCase;
  if (typeof stripAccents === 'boolean' || stripAccents === null) options.stripAccents = stripAccents;
  const chinese = optionalBoolean(config, 'tokenize_chinese_chars', configFile);
  if (chinese !== undefined) options.tokenizeChineseChars = chinese;
  if (typeof maxLength === 'number' && maxLength < NO_LIMIT) options.modelMaxLength = maxLength;
  if (paddingSide !== undefined) options.paddingSide = paddingSide;
  return options;
}
