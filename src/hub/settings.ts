/**
 * Where the Hugging Face Hub and its cache are, read from the same environment variables, with the same defaults,
 * as the huggingface_hub Python library (constants.py), so that igbert and Python share one cache.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { ProgressListener } from './progress.js';

/** The checkpoint used when none is named: IgBert on the Hugging Face Hub. */
export const DEFAULT_MODEL = 'Exscientia/IgBert';
export const DEFAULT_REVISION = 'main';
export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** How a Hub id given as `--model` is resolved. Every field is optional; absent = the environment's setting. */
export interface HubOptions {
  /** Branch, tag or commit hash (default "main"). A branch or tag is resolved once and then read from the cache. */
  revision?: string;
  /** Use the cache only, never the network (default: HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE). */
  offline?: boolean;
  /** Ask the Hub which commit `revision` points to now, even when the cache already has one for it. */
  refresh?: boolean;
  /** Cache folder (default: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub URL (default: HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Access token; false sends none (default: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the `hf auth login` file). */
  token?: string | false;
  /** Download progress: true = on stderr, false = silent, or a listener (default: on, unless HF_HUB_DISABLE_PROGRESS_BARS). */
  progress?: boolean | ProgressListener;
  /** Attempts to resume a transfer cut off without progress, before giving up (default 5, as huggingface_hub). */
  retries?: number;
}

/** HubOptions with every default applied. */
export interface HubSettings {
  revision: string;
  offline: boolean;
  refresh: boolean;
  cacheDir: string;
  endpoint: string;
  token: string | undefined;
  progress: boolean | ProgressListener;
  retries: number;
  /** Seconds to wait for the Hub's answer to a metadata request (HF_HUB_ETAG_TIMEOUT, default 10). */
  metadataTimeoutSeconds: number;
  /** Seconds without a byte before a transfer counts as cut off (HF_HUB_DOWNLOAD_TIMEOUT, default 10). */
  idleTimeoutSeconds: number;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** huggingface_hub's `_is_true`. */
const isTrue = (value: string | undefined): boolean => ['1', 'ON', 'YES', 'TRUE'].includes((value ?? '').toUpperCase());

/** Python's os.path.expanduser for the "~" and "~/..." forms, which is what people put in these variables. */
function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function positiveSeconds(env: Environment, name: string, fallback: number): number {
  const value = Number(env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Environment = process.env): string {
  return expandHome(env['HF_HOME'] || join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'huggingface'));
}

/** The hub cache: `$HF_HUB_CACHE`, else the legacy `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`. */
export function hubCacheDir(env: Environment = process.env): string {
  return expandHome(env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'] || join(hfHome(env), 'hub'));
}

/** The token huggingface_hub would send: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the file `hf auth login` writes. */
export function hubToken(env: Environment = process.env): string | undefined {
  const clean = (token: string | undefined): string | undefined => token?.replace(/[\r\n]/g, '').trim() || undefined;
  const fromEnv = clean(env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN']);
  if (fromEnv) return fromEnv;
  try {
    return clean(readFileSync(expandHome(env['HF_TOKEN_PATH'] || join(hfHome(env), 'token')), 'utf8'));
  } catch {
    return undefined; // not logged in
  }
}

/** Revisions become folder names under refs/ (refs/pr/1 included), so they may not climb out of it. */
function checkRevision(revision: string): string {
  if (revision === '' || revision.startsWith('/') || revision.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new UsageError(
      `--revision ${JSON.stringify(revision)} is not a branch, tag or commit name. Use e.g. main, v1.0, refs/pr/1 or a 40-character commit hash.`,
    );
  }
  return revision;
}

function checkEndpoint(endpoint: string, fromEnv: boolean): string {
  try {
    const url = new URL(endpoint);
    if (url.protocol === 'http:' || url.protocol === 'https:') return endpoint.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw new UsageError(
    `${fromEnv ? 'HF_ENDPOINT' : 'the Hub endpoint'} ${JSON.stringify(endpoint)} is not an http(s) URL; ` +
      `unset it to use ${DEFAULT_ENDPOINT}, or set it to a Hub mirror's address.`,
  );
}

/** Applies the environment's defaults to `options` (explicit options win over the environment). */
export function hubSettings(options: HubOptions = {}, env: Environment = process.env): HubSettings {
  const endpoint = options.endpoint ?? env['HF_ENDPOINT'];
  return {
    revision: checkRevision(options.revision ?? DEFAULT_REVISION),
    offline: options.offline ?? (isTrue(env['HF_HUB_OFFLINE']) || isTrue(env['TRANSFORMERS_OFFLINE'])),
    refresh: options.refresh ?? false,
    cacheDir: options.cacheDir !== undefined ? expandHome(options.cacheDir) : hubCacheDir(env),
    endpoint: endpoint ? checkEndpoint(endpoint, options.endpoint === undefined) : DEFAULT_ENDPOINT,
    token: options.token === false ? undefined : (options.token ?? hubToken(env)),
    progress: options.progress ?? !isTrue(env['HF_HUB_DISABLE_PROGRESS_BARS']),
    retries: options.retries ?? 5,
    metadataTimeoutSeconds: positiveSeconds(env, 'HF_HUB_ETAG_TIMEOUT', 10),
    idleTimeoutSeconds: positiveSeconds(env, 'HF_HUB_DOWNLOAD_TIMEOUT', 10),
  };
}

/**
 * Whether `name` has the form of a Hub model id, "org/name" (huggingface_hub's repo id rule: word characters, "-"
 * and "." inside each part, no "--" or ".."). Local folders are checked first by the caller, so "data/model" that
 * exists on disk is a folder, never a Hub id.
 */
export function isHubId(name: string): boolean {
  const part = /^[A-Za-z0-9_](?:[\w.-]*[A-Za-z0-9_])?$/;
  const parts = name.split('/');
  return (
    parts.length === 2 && parts.every((p) => part.test(p)) && !name.includes('--') && !name.includes('..') && name.length <= 96
  );
}
