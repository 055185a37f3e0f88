/**
 * The hook between `--model` and the loaders: a local folder is used as it is (it wins over a Hub id of the same
 * name, as in transformers); an "org/name" that is not on disk is a Hugging Face Hub id, resolved to a snapshot
 * folder of the huggingface_hub cache (downloaded if needed). Anything else is returned unchanged, for the loader
 * to report as a missing folder. `part` 'tokenizer' fetches only the tokenizer files, no weights.
 */
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { downloadCheckpoint, type CheckpointPart, type HubSnapshot } from './downloadCheckpoint.js';
import { hubSettings, isHubId, type HubOptions } from './settings.js';

/** The folder to load, and for a Hub id the snapshot it is (repository, revision, commit). */
export interface ResolvedModel {
  dir: string;
  hub?: HubSnapshot;
}

export async function resolveModelDir(model: string, options: HubOptions = {}, part: CheckpointPart = 'model'): Promise<string> {
  return (await resolveModel(model, options, part)).dir;
}

export async function resolveModel(model: string, options: HubOptions = {}, part: CheckpointPart = 'model'): Promise<ResolvedModel> {
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
    return { dir: model };
  }
  const hub = await downloadCheckpoint(model, hubSettings(options), part);
  return { dir: hub.dir, hub };
}
