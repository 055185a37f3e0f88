/** Hugging Face Hub ids as `--model`: download into, and read from, the huggingface_hub cache. */
export { resolveModel, resolveModelDir, type ResolvedModel } from './resolveModelDir.js';
export { downloadCheckpoint, missingFiles, type CheckpointPart, type HubSnapshot } from './downloadCheckpoint.js';
export {
  DEFAULT_MODEL,
  DEFAULT_REVISION,
  DEFAULT_ENDPOINT,
  hfHome,
  hubCacheDir,
  hubSettings,
  hubToken,
  isHubId,
  type HubOptions,
  type HubSettings,
} from './settings.js';
export { HubError, type HubFailure } from './hubError.js';
export { streamProgress, type DownloadProgress, type ProgressListener } from './progress.js';
export { addHubOptions, hubOptionsFrom, type HubCliOptions } from './cliOptions.js';
