/**
 * The README as a newcomer uses it: its first set-up command, taken from the README and run as written (npm ci
 * included) on a fresh copy of the repository, on a machine that reaches nothing (npm's cache only, the Hub closed),
 * gives embeddings of the example antibodies; the Hub's refusal names the offline way out; its JavaScript and
 * TypeScript snippets parse on Node 20 (the minimum), and the JavaScript ones run with a test checkpoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import ts from 'typescript';
import { CHECKPOINTS, ROOT } from './helpers.js';
import { CUDA_LIBRARY, NPM, offlineEnv, skippedAsNotCached } from './offlineInstall.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The commands of the README's "Set-up" block, each introduced by a "# N." comment (continuation lines joined). */
export function setupCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Set-up'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const commands: string[] = [];
  let current: string | undefined;
  for (const line of block.replace(/\\\n/g, ' ').split('\n')) {
    if (/^# \d+\./.test(line)) current = '';
    else if (current !== undefined && line.trim() && !line.startsWith('#')) {
      commands.push(line.trim());
      current = undefined;
    }
  }
  return commands;
}

const scratch = mkdtempSync(join(tmpdir(), 'igbert-readme-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The files a clone has: tracked ones and new ones git does not ignore, as in the working tree. */
function copyOfRepository(): string {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const copy = join(scratch, 'igbert');
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(ROOT, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(copy, file));
  }
  return copy;
}

describe("the README's set-up", () => {
  test('has two commands: the main job and the tests', () => {
    const commands = setupCommands(README);
    assert.equal(commands.length, 2, commands.join('\n'));
    assert.match(commands[0]!, /^npm ci && .*npx igbert embed /);
    assert.equal(commands[1], 'npm ci && npm test');
  });

  test('command 1, as written, embeds the example antibodies on a fresh copy with no network', { skip: NPM ? false : 'npm is not on PATH' }, (t) => {
    const command = setupCommands(README)[0]!;
    const copy = copyOfRepository();
    const caches = join(scratch, 'caches');
    const run = spawnSync('bash', ['-c', command], {
      cwd: copy,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: offlineEnv({ HF_HOME: join(caches, 'hf'), IGBERT_CACHE_DIR: join(caches, 'igbert') }),
    });
    if (skippedAsNotCached(t, run)) return;
    assert.equal(run.status, 0, `${command}\n${run.stdout}\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /project config/i, 'npm warns about the configuration');
    assert.ok(!existsSync(join(copy, CUDA_LIBRARY)), "onnxruntime-node's CUDA download ran");

    const output = / --output (\S+)/.exec(command.slice(command.indexOf('igbert embed')))![1]!;
    const input = / --input (\S+)/.exec(command)![1]!;
    const ids = readFileSync(join(copy, input), 'utf8').trim().split('\n').slice(1).map((line) => line.split(',')[0]);
    const rows = readFileSync(join(copy, output), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { id: string; embedding: number[] });
    assert.deepEqual(rows.map((row) => row.id), ids);
    assert.ok(ids.length >= 5, 'the example has several antibodies');
    for (const row of rows) assert.ok(row.embedding.length > 0 && row.embedding.every(Number.isFinite), row.id);
  });
});

describe('without the Hub', () => {
  const BIN = join(ROOT, 'bin', 'igbert.js');
  const cases: [string, Record<string, string>][] = [
    ['unreachable', {}],
    ['offline and not cached', { HF_HUB_OFFLINE: '1' }],
  ];
  for (const [label, env] of cases) {
    test(`${label}: the error names a local folder and random weights as the way out`, () => {
      const cwd = mkdtempSync(join(scratch, 'hub-'));
      const run = spawnSync(process.execPath, [BIN, 'embed', '--input', join(ROOT, 'examples', 'pairs.csv'), '--output', 'embeddings.jsonl'], {
        cwd,
        encoding: 'utf8',
        env: offlineEnv({ HF_HOME: join(cwd, 'hf'), ...env }),
      });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /--model/);
      assert.match(run.stderr, /igbert init --random --preset tiny --output \.\/tiny-model/);
    });
  }
});

interface Snippet {
  language: 'js' | 'ts';
  /** 1-based line of the opening fence, for messages. */
  line: number;
  code: string;
}

export function codeSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  for (const match of markdown.matchAll(/^```(js|javascript|mjs|ts|typescript)\n([\s\S]*?)^```/gm)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    snippets.push({ language: match[1]!.startsWith('t') ? 'ts' : 'js', line, code: match[2]! });
  }
  return snippets;
}

/** Syntax Node 20 does not parse: `using` / `await using` declarations (explicit resource management, Node 24). */
function newerSyntax(code: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclarationList(node) && node.flags & ts.NodeFlags.Using) found.push(node.getText());
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ESNext, true));
  return found;
}

describe("the README's code snippets", () => {
  const snippets = codeSnippets(README);
  const folder = join(scratch, 'snippets');
  mkdirSync(join(folder, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(folder, 'node_modules', 'igbert'), 'dir');

  test('there are JavaScript and TypeScript snippets', () => {
    assert.ok(snippets.some((s) => s.language === 'js') && snippets.some((s) => s.language === 'ts'), JSON.stringify(snippets.map((s) => s.line)));
  });

  for (const snippet of snippets) {
    const name = `README.md:${snippet.line} (${snippet.language})`;
    const javascript =
      snippet.language === 'ts'
        ? ts.transpileModule(snippet.code, { compilerOptions: { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext } }).outputText
        : snippet.code;
    const file = join(folder, `readme-${snippet.line}.mjs`);
    writeFileSync(file, javascript);

    test(`${name} parses as a module on Node 20`, () => {
      assert.deepEqual(newerSyntax(javascript), [], 'syntax newer than Node 20');
      const checked = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
      assert.equal(checked.status, 0, checked.stderr);
    });

    if (snippet.language === 'js' && snippet.code.includes("from 'igbert'")) {
      test(`${name} runs with a test checkpoint in place of ./IgBert`, (t) => {
        if (!existsSync(join(ROOT, 'dist', 'index.js'))) return t.skip('dist/ is not built: `npm run build` first');
        const runnable = join(folder, `readme-${snippet.line}-run.mjs`);
        writeFileSync(runnable, javascript.replaceAll("'./IgBert'", JSON.stringify(join(CHECKPOINTS, 'mlm-h64'))));
        const ran = spawnSync(process.execPath, [runnable], { cwd: folder, encoding: 'utf8', env: offlineEnv() });
        assert.equal(ran.status, 0, ran.stderr);
      });
    }
  }
});
