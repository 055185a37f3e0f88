/**
 * The hook between `--model` and the loaders: a local folder is used as it is (it wins over a Hub id of the same
 * name, as in transformers); an "org/name" that is not on disk is a Hugging Face Hub id, resolved to a snapshot
 * folder of the huggingface_hub cache (downloaded if needed). Anything else is returned unchanged, for the loader
 * to report as a missing folder. `part` 'tokenizer' fetches only the tokenizer files, no weights.
 */
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { downloadCheckpoint, type CheckpointPart } from './downloadCheckpoint.js';
import { hubSettings, isHubId, type HubOptions } from './settings.js';

export async function resolveModelDir(model: string, options: HubOptions = {}, part: CheckpointPart = 'model'): Promise<string> {
  const onDisk = await stat(model).then(
    () => true,
    () => false,
  );
  if (onDisk || !isHubId(model)) {
    if (onDisk && options.revision !== undefined) {
      throw new UsageError(
        `--revision ${options.revision} applies to Hugging Face Hub ids, but ${model} is a local path. ` +
          'Drop --revision, or pass the Hub id (org/name) instead of the folder.',
      );
    }
    return model;
  }
  return downloadCheckpoint(model, hubSettings(options), part);
}
