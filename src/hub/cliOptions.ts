/**
 * The command-line side of Hub downloads: options any command with `--model` can add. Only what the environment
 * cannot say per run is a flag; the endpoint, cache and token stay in HF_ENDPOINT, HF_HUB_CACHE/HF_HOME and HF_TOKEN,
 * shared with the Python tools.
 */
import type { Command } from 'commander';
import type { HubOptions } from './settings.js';

export interface HubCliOptions {
  revision?: string;
  offline?: boolean;
  refresh?: boolean;
  /** false after --no-progress (commander's negation); true otherwise. */
  progress?: boolean;
}

export function addHubOptions(command: Command): Command {
  return command
    .option(
      '--revision <rev>',
      'Hub branch, tag or commit of --model when it is a Hub id (default main); once cached, no request is made',
    )
    .option('--offline', 'use only the Hugging Face cache, never the network (as HF_HUB_OFFLINE=1)')
    .option('--refresh', "ask the Hub for the branch's current commit even when the cache has one")
    .option('--no-progress', 'no download progress on stderr (as HF_HUB_DISABLE_PROGRESS_BARS=1)');
}

/** HubOptions from parsed flags; flags not given leave the environment's setting in force. */
export function hubOptionsFrom(options: HubCliOptions): HubOptions {
  return {
    ...(options.revision !== undefined ? { revision: options.revision } : {}),
    ...(options.offline ? { offline: true } : {}),
    ...(options.refresh ? { refresh: true } : {}),
    ...(options.progress === false ? { progress: false } : {}),
  };
}
