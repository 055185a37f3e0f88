/**
 * A Hub model id -> a snapshot folder in the huggingface_hub cache holding what igbert loads, and nothing else:
 * config.json, vocab.txt, the optional tokenizer_config.json and special_tokens_map.json, and model.safetensors or
 * model.safetensors.index.json with its shards (never pytorch_model.bin). Files are asked for in the order
 * transformers' `from_pretrained` asks, by HEAD on the resolve endpoint, so a repository with safetensors costs no
 * request for other weight formats.
 *
 * The cache comes first: a revision whose snapshot is complete is used without any request, so runs after the first
 * work offline and always see the same commit. `refresh` asks the Hub for the branch's current commit again.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CheckpointError, FileError, IgBertError } from '../errors.js';
import { SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME } from '../weights/checkpointFiles.js';
import { HubClient, type FileMetadata } from './hubClient.js';
import { HubError, RANDOM_WEIGHTS_HINT } from './hubError.js';
import { progressListener } from './progress.js';
import { RepoCache } from './repoCache.js';
import type { HubSettings } from './settings.js';

/** A Hub checkpoint as resolved: the repository, the revision asked for, the commit it named and the snapshot folder. */
export interface HubSnapshot {
  repo: string;
  revision: string;
  commit: string;
  dir: string;
}

/** What is loaded: the whole checkpoint, or only its tokenizer (`igbert tokenize` needs no weights). */
export type CheckpointPart = 'model' | 'tokenizer';

/** Files that must exist, first the one whose HEAD names the commit. */
const REQUIRED_FILES: Record<CheckpointPart, readonly string[]> = { model: ['config.json', 'vocab.txt'], tokenizer: ['vocab.txt'] };
/** Read when present; a 404 is remembered in .no_exist/ as Python does. Missing without that record = unknown. */
const OPTIONAL_FILES = ['tokenizer_config.json', 'special_tokens_map.json'];
/** Weight files igbert will not read; asked about only to explain a repository without safetensors. */
const FOREIGN_WEIGHTS = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'tf_model.h5', 'flax_model.msgpack'];

/** Shard names from an index that are plain file names; anything else is left for the loader to refuse and explain. */
async function shardNames(indexPath: string): Promise<string[]> {
  try {
    const weightMap = (JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
    const names = Object.values(weightMap).filter((s): s is string => typeof s === 'string' && /^[^/\\:\0]+$/.test(s) && !s.includes('..'));
    return [...new Set(names)].sort();
  } catch {
    return []; // unreadable or invalid: the loader reports it with the file's path
  }
}

/** What `snapshots/<commit>/` still lacks for igbert to load it (empty = complete). */
export async function missingFiles(cache: RepoCache, commit: string, part: CheckpointPart = 'model'): Promise<string[]> {
  const missing: string[] = [];
  for (const file of REQUIRED_FILES[part]) if (!(await cache.hasFile(commit, file))) missing.push(file);
  for (const file of OPTIONAL_FILES) {
    if (!(await cache.hasFile(commit, file)) && !(await cache.isKnownAbsent(commit, file))) missing.push(file);
  }
  if (part === 'tokenizer' || (await cache.hasFile(commit, SAFE_WEIGHTS_NAME))) return missing;
  if (await cache.hasFile(commit, SAFE_WEIGHTS_INDEX_NAME)) {
    for (const shard of await shardNames(join(cache.snapshotDir(commit), SAFE_WEIGHTS_INDEX_NAME))) {
      if (!(await cache.hasFile(commit, shard))) missing.push(shard);
    }
    return missing;
  }
  return [...missing, `${SAFE_WEIGHTS_NAME} (or ${SAFE_WEIGHTS_INDEX_NAME} and its shards)`];
}

function offlineError(cache: RepoCache, settings: HubSettings, incomplete?: { commit: string; missing: string[] }): HubError {
  const where = `${cache.repo} (revision ${settings.revision})`;
  const what = incomplete
    ? `the cached snapshot of ${where} in ${cache.snapshotDir(incomplete.commit)} lacks ${incomplete.missing.join(', ')}`
    : `${where} is not in the Hugging Face cache at ${settings.cacheDir}`;
  return new HubError(
    'offline-miss',
    `${what}, and offline mode (HF_HUB_OFFLINE=1 or --offline) forbids downloading. Run once online to fill the cache, ` +
      `or copy the files: a cache folder (${basename(cache.folder)}) from another machine into ${settings.cacheDir}, ` +
      `or a checkpoint folder to pass as --model (${RANDOM_WEIGHTS_HINT}).`,
    { details: { repo: cache.repo, revision: settings.revision, cacheDir: settings.cacheDir, ...incomplete } },
  );
}

const snapshot = (cache: RepoCache, settings: HubSettings, commit: string): HubSnapshot => ({
  repo: cache.repo,
  revision: settings.revision,
  commit,
  dir: cache.snapshotDir(commit),
});

/** Resolves `repo` at `settings.revision` to a complete snapshot folder, downloading what the cache lacks. */
export async function downloadCheckpoint(repo: string, settings: HubSettings, part: CheckpointPart = 'model'): Promise<HubSnapshot> {
  const cache = new RepoCache(settings.cacheDir, repo);
  const cachedCommit = await cache.readRef(settings.revision);
  if (cachedCommit && (!settings.refresh || settings.offline)) {
    const missing = await missingFiles(cache, cachedCommit, part);
    if (missing.length === 0) return snapshot(cache, settings, cachedCommit);
    if (settings.offline) {
      throw offlineError(cache, settings, (await cache.hasSnapshot(cachedCommit)) ? { commit: cachedCommit, missing } : undefined);
    }
  }
  if (settings.offline) throw offlineError(cache, settings);
  // A commit hash is immutable; a branch or tag known to the cache is completed at the commit the cache has.
  const commit = settings.refresh && cachedCommit !== settings.revision ? undefined : cachedCommit;
  try {
    return await fetchSnapshot(cache, new HubClient(settings, repo), settings, commit, part);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof IgBertError || typeof code !== 'string') throw error;
    throw new FileError(
      `cannot write to the Hugging Face cache ${settings.cacheDir} (${code}: ${(error as Error).message}). ` +
        'Set HF_HUB_CACHE (or HF_HOME) to a writable folder, or free some space.',
      { cause: error, details: { cacheDir: settings.cacheDir, errno: code } },
    );
  }
}

async function fetchSnapshot(
  cache: RepoCache,
  client: HubClient,
  settings: HubSettings,
  knownCommit: string | undefined,
  part: CheckpointPart,
): Promise<HubSnapshot> {
  const progress = progressListener(settings.progress);
  const { revision } = settings;
  const [first, ...others] = REQUIRED_FILES[part] as [string, ...string[]];
  let commit = knownCommit;
  let firstMetadata: FileMetadata | undefined;
  if (commit === undefined) {
    // The first answer names the commit; every later request asks for that commit, so all files are of one commit
    // even if the branch moves meanwhile.
    const answer = await client.fileMetadata(revision, first);
    if ('absent' in answer) throw missingRequired(cache.repo, revision, answer.commit, first);
    commit = answer.commit;
    firstMetadata = answer;
  }
  const at: string = commit;
  await cache.prepare();

  const ensure = async (file: string, required: boolean, known?: FileMetadata): Promise<boolean> => {
    if (await cache.hasFile(at, file)) return true;
    if (!required && (await cache.isKnownAbsent(at, file))) return false;
    const metadata = known ?? (await client.fileMetadata(at, file));
    if ('absent' in metadata) {
      await cache.markAbsent(at, file);
      if (required) throw missingRequired(cache.repo, revision, at, file);
      return false;
    }
    if (!(await cache.hasBlob(metadata.etag))) await client.download(metadata, file, cache.blobPath(metadata.etag), progress);
    await cache.link(at, file, metadata.etag);
    return true;
  };

  await ensure(first, true, firstMetadata);
  for (const file of others) await ensure(file, true);
  for (const file of OPTIONAL_FILES) await ensure(file, false);
  if (part === 'model' && !(await ensure(SAFE_WEIGHTS_NAME, false))) {
    if (!(await ensure(SAFE_WEIGHTS_INDEX_NAME, false))) throw await noSafetensors(cache.repo, revision, at, client);
    for (const shard of await shardNames(join(cache.snapshotDir(at), SAFE_WEIGHTS_INDEX_NAME))) await ensure(shard, true);
  }
  // Written last, so that a branch name in the cache always leads to a snapshot igbert completed.
  await cache.writeRef(revision, at);
  return snapshot(cache, settings, at);
}

function missingRequired(repo: string, revision: string, commit: string | undefined, file: string): CheckpointError {
  return new CheckpointError(
    `${repo} (revision ${revision}${commit ? `, commit ${commit}` : ''}) has no ${file} on the Hub, so it is not a BERT ` +
      'checkpoint igbert can load (it needs config.json, vocab.txt and model.safetensors). Check --model and --revision.',
    { details: { repo, revision, commit, file } },
  );
}

/** The repository has no safetensors: say what it has instead, and how to get safetensors (never download a pickle). */
async function noSafetensors(repo: string, revision: string, commit: string, client: HubClient): Promise<CheckpointError> {
  const found: string[] = [];
  for (const file of FOREIGN_WEIGHTS) if (!('absent' in (await client.fileMetadata(commit, file)))) found.push(file);
  const where = `${repo} (revision ${revision}, commit ${commit})`;
  const convert =
    `python -c "from transformers import AutoModelForMaskedLM as M; M.from_pretrained('${repo}', revision='${commit}')` +
    `.save_pretrained('${repo.split('/')[1]}-safetensors', safe_serialization=True)"`;
  return new CheckpointError(
    found.length === 0
      ? `${where} has no ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME}: it holds no model weights igbert can read. Check --model and --revision.`
      : `${where} has no ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME}, only ${found.join(', ')}. igbert reads safetensors ` +
          'only and never downloads or unpickles PyTorch .bin files: loading a pickle can run arbitrary code. The Hub\'s ' +
          `conversion bot may have opened a pull request adding ${SAFE_WEIGHTS_NAME} (see the repository's Community tab): ` +
          `pass --revision refs/pr/<number> to use it. Or convert once with transformers (in an environment you trust):\n  ${convert}\n` +
          'then pass --model that folder.',
    { details: { repo, revision, commit, found } },
  );
}
