/**
 * Interoperability with the huggingface_hub Python library, both ways, when a Python with it is at hand
 * (IGBERT_TEST_PYTHON, default /tmp/ref/bin/python, as scripts/bench.ts); skipped otherwise (CI has none):
 *   - Python finds, offline, what igbert cached, and its cache scanner reports no problem;
 *   - Python's own download of the same repository from the same stand-in Hub gives the same cache tree, and igbert
 *     loads it offline without a request.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveModelDir, type HubOptions } from '../src/hub/index.js';
import { CHECKPOINTS } from './helpers.js';
import { FakeHub, filesOf, sha256 } from './hubServer.js';

const PYTHON = process.env['IGBERT_TEST_PYTHON'] ?? '/tmp/ref/bin/python';
const hasHubLibrary = spawnSync(PYTHON, ['-c', 'import huggingface_hub'], { stdio: 'ignore' }).status === 0;
const skip = hasHubLibrary ? false : `no Python with huggingface_hub at ${PYTHON} (set IGBERT_TEST_PYTHON)`;

/** Runs Python asynchronously (the stand-in Hub lives in this process) with a Hub environment of its own. */
function python(code: string, env: Record<string, string>): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|HUGGING|TRANSFORMERS_)/.test(k)));
  const child = spawn(PYTHON, ['-c', code], {
    env: { ...clean, HF_HOME: mkdtempSync(join(tmpdir(), 'igbert-hf-home-')), HF_HUB_DISABLE_TELEMETRY: '1', HF_HUB_DISABLE_PROGRESS_BARS: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done, fail) =>
    child.on('close', (code) => (code === 0 ? done(stdout) : fail(new Error(`python exited ${code}:\n${stderr}`)))),
  );
}

/** Every entry under a cache folder: path, and a link's target or a file's sha256 (Python's advisory .locks/ aside). */
function listing(root: string): string[] {
  const entries: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (rel === '.locks') continue;
      const info = lstatSync(path);
      if (info.isSymbolicLink()) entries.push(`${rel} -> ${readlinkSync(path)}`);
      else if (info.isDirectory()) walk(path);
      else entries.push(`${rel} ${sha256(readFileSync(path)).slice(0, 12)}`);
    }
  };
  walk(root);
  return entries;
}

const REPO = 'test-org/IgBert-tiny';
let hub: FakeHub;
let commits: Record<string, string>;

describe('interoperability with huggingface_hub (Python)', { skip }, () => {
  before(async () => {
    hub = await FakeHub.start();
    const h64 = filesOf(join(CHECKPOINTS, 'mlm-h64'), { 'pytorch_model.bin': 'not a pickle' });
    commits = hub.addRepo(REPO, { v1: h64, v2: filesOf(join(CHECKPOINTS, 'mlm-legacy')) }, { main: 'v1', sharded: 'v2' });
  });
  after(() => hub?.close());
  const ours = (cacheDir: string, extra: HubOptions = {}): Promise<string> =>
    resolveModelDir(REPO, { endpoint: hub.endpoint, cacheDir, token: false, progress: false, ...extra });

  test('Python finds offline what igbert downloaded; scan_cache_dir reports no warning', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'igbert-hub-py-'));
    const snapshot = await ours(cacheDir);
    const report = JSON.parse(
      await python(
        `import json
from huggingface_hub import snapshot_download, hf_hub_download, try_to_load_from_cache, scan_cache_dir
from huggingface_hub.file_download import _CACHED_NO_EXIST
repo = ${JSON.stringify(REPO)}
info = scan_cache_dir()
print(json.dumps({
  "snapshot": snapshot_download(repo, local_files_only=True),
  "config": hf_hub_download(repo, "config.json", local_files_only=True),
  "no_exist": try_to_load_from_cache(repo, "special_tokens_map.json") is _CACHED_NO_EXIST,
  "warnings": [str(w) for w in info.warnings],
  "revisions": [{"commit": r.commit_hash, "refs": sorted(r.refs), "files": sorted(f.file_name for f in r.files)}
                for repo_info in info.repos for r in repo_info.revisions],
}))`,
        { HF_HUB_CACHE: cacheDir, HF_HUB_OFFLINE: '1' },
      ),
    );
    assert.equal(report.snapshot, snapshot);
    assert.equal(report.config, join(snapshot, 'config.json'));
    assert.equal(report.no_exist, true, "transformers would skip special_tokens_map.json from the cache's record");
    assert.deepEqual(report.warnings, []);
    assert.deepEqual(report.revisions, [
      { commit: commits['v1'], refs: ['main'], files: ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt'] },
    ]);
  });

  for (const revision of ['main', 'sharded']) {
    test(`Python's hf_hub_download and igbert build the same cache tree (${revision}); igbert reads Python's offline`, async () => {
      const pythonCache = mkdtempSync(join(tmpdir(), 'igbert-hub-py-'));
      const ourCache = mkdtempSync(join(tmpdir(), 'igbert-hub-ts-'));
      // What transformers' from_pretrained asks for a BERT checkpoint with safetensors, file by file.
      await python(
        `import json, os
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
repo, revision = ${JSON.stringify(REPO)}, ${JSON.stringify(revision)}
def get(name):
    try:
        return hf_hub_download(repo, name, revision=revision)
    except EntryNotFoundError:
        return None
for name in ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]:
    get(name)
if get("model.safetensors") is None:
    index = get("model.safetensors.index.json")
    for shard in sorted(set(json.load(open(index))["weight_map"].values())):
        get(shard)`,
        { HF_HUB_CACHE: pythonCache, HF_ENDPOINT: hub.endpoint },
      );
      await ours(ourCache, { revision });
      assert.deepEqual(listing(ourCache), listing(pythonCache));

      hub.reset();
      const snapshot = await ours(pythonCache, { revision, offline: true });
      assert.equal(snapshot, join(pythonCache, 'models--test-org--IgBert-tiny', 'snapshots', commits[revision === 'main' ? 'v1' : 'v2'] as string));
      assert.equal(hub.requests.length, 0);
    });
  }
});
