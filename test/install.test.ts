/**
 * Installing igbert: the project's own `npm ci` and a consumer's install of the packed tarball, both offline (from
 * npm's cache, every proxy pointing at a closed port, so any download fails) and silent about configuration; the
 * consumer then imports the three entry points and type-checks against them with skipLibCheck off.
 * Skipped, with the reason, where npm is absent or its cache lacks a package (run `npm ci` first).
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { readJson, ROOT } from './helpers.js';

const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const NPM = npmVersion.status === 0 ? npmVersion.stdout.trim() : undefined;
/** The first npm that honours package.json's `allowScripts` (its `false` entries skip a dependency's scripts). */
const NPM_WITH_ALLOW_SCRIPTS = [11, 16, 0];
const npmIsRecent = (version: string): boolean => {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((parts[i] ?? 0) !== NPM_WITH_ALLOW_SCRIPTS[i]) return (parts[i] ?? 0) > NPM_WITH_ALLOW_SCRIPTS[i]!;
  return true;
};

/** No network beyond npm's cache: the registry is not asked (--offline) and onnxruntime-node's download fails. */
const OFFLINE_ENV = {
  ...process.env,
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9',
  GLOBAL_AGENT_HTTP_PROXY: 'http://127.0.0.1:9',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = OFFLINE_ENV): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Skips the test when npm's cache cannot serve an offline install (a machine that never ran `npm ci`). */
function skipIfNotCached(t: TestContext, result: SpawnSyncReturns<string>): boolean {
  if (result.status !== 0 && /ENOTCACHED/.test(result.stderr)) {
    t.skip('npm cache lacks a package of the lockfile: run `npm ci` once with the registry reachable');
    return true;
  }
  return false;
}

const CUDA_LIBRARY = join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
const scratch = mkdtempSync(join(tmpdir(), 'igbert-install-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('installing igbert', { skip: NPM ? false : 'npm is not on PATH' }, () => {
  test('npm reads the project configuration without warnings', () => {
    const result = npm(['pkg', 'get', 'name'], ROOT, process.env);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /project config/i);
  });

  test("npm ci of the lockfile runs no dependency's install script: onnxruntime-node downloads nothing", (t) => {
    if (!npmIsRecent(NPM!)) return t.skip(`npm ${NPM} predates allowScripts (${NPM_WITH_ALLOW_SCRIPTS.join('.')}): the project refuses it`);
    const project = join(scratch, 'project');
    mkdirSync(project);
    // The project's own scripts (prepare = build) are not the subject: the copy has none, and no sources.
    const manifest = readJson(join(ROOT, 'package.json'));
    delete manifest.scripts;
    writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const name of ['package-lock.json', '.npmrc']) copyFileSync(join(ROOT, name), join(project, name));
    const result = npm(['ci', '--offline', '--omit=dev'], project);
    if (skipIfNotCached(t, result)) return;
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /project config|install-scripts/i);
    assert.ok(existsSync(join(project, 'node_modules', 'onnxruntime-node', 'package.json')));
    assert.ok(!existsSync(join(project, CUDA_LIBRARY)), 'onnxruntime-node fetched its CUDA libraries');
  });
});
