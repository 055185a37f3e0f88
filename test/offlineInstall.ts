/**
 * Running npm in tests as a newcomer would, on a machine that reaches nothing: npm serves packages from its cache
 * only (--offline), every proxy points at a closed port (so onnxruntime-node's CUDA download would fail), the Hub
 * endpoint is closed, and nothing of the npm process running the tests (npm_* variables: its prefix, its config)
 * leaks into the child.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

const version = spawnSync('npm', ['--version'], { encoding: 'utf8' });
/** npm's version, or undefined where npm is not on PATH. */
export const NPM: string | undefined = version.status === 0 ? version.stdout.trim() : undefined;

/** A closed port that fetch does not refuse by number (it blocks 9, 1, ...): connections are refused. */
const CLOSED = 'http://127.0.0.1:47';

export function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([key]) => !/^(npm_|INIT_CWD$|HF_|HUGGING|IGBERT_)/i.test(key));
  return {
    ...Object.fromEntries(inherited),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    HTTPS_PROXY: CLOSED,
    HTTP_PROXY: CLOSED,
    GLOBAL_AGENT_HTTPS_PROXY: CLOSED,
    GLOBAL_AGENT_HTTP_PROXY: CLOSED,
    HF_ENDPOINT: CLOSED,
    ...extra,
  };
}

export function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = offlineEnv()): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Skips the test when npm's cache cannot serve an offline install (a machine that never ran `npm ci`). */
export function skippedAsNotCached(t: TestContext, result: SpawnSyncReturns<string>): boolean {
  if (result.status !== 0 && /ENOTCACHED/.test(result.stderr)) {
    t.skip('npm cache lacks a package of the lockfile: run `npm ci` once with the registry reachable');
    return true;
  }
  return false;
}

/** What onnxruntime-node's install script downloads on Linux x64 unless it is skipped. */
export const CUDA_LIBRARY = join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
