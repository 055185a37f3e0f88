/**
 * Installing igbert: npm reads the project's configuration silently (the project's own `npm ci`, offline, is run by
 * test/readme.test.ts as the README writes it); a consumer installs the packed tarball offline (from npm's cache,
 * every proxy closed, so any download fails), imports the three entry points and type-checks against them with
 * skipLibCheck off. Skipped, with the reason, where npm is absent or its cache lacks a package (run `npm ci` first).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readJson, ROOT } from './helpers.js';
import { CUDA_LIBRARY, NPM, npm, offlineEnv, skippedAsNotCached } from './offlineInstall.js';

const scratch = mkdtempSync(join(tmpdir(), 'igbert-install-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('installing igbert', { skip: NPM ? false : 'npm is not on PATH' }, () => {
  test('npm reads the project configuration without warnings', () => {
    const result = npm(['pkg', 'get', 'name'], ROOT, offlineEnv());
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /project config/i);
  });

  test('a consumer installs the packed tarball offline (ONNXRUNTIME_NODE_INSTALL=skip), imports it and type-checks with skipLibCheck off', (t) => {
    if (!existsSync(join(ROOT, 'dist', 'index.d.ts'))) return t.skip('dist/ is not built: `npm run build` first');
    const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT);
    assert.equal(packed.status, 0, packed.stderr);
    const tarball = (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename;

    // A lockfile made from igbert's own (its runtime packages), so that npm installs from its cache alone.
    const consumer = join(scratch, 'consumer');
    mkdirSync(consumer);
    copyFileSync(join(scratch, tarball), join(consumer, tarball));
    const manifest = readJson(join(ROOT, 'package.json'));
    const lock = readJson(join(ROOT, 'package-lock.json'));
    const dependencies = { igbert: `file:${tarball}` };
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', version: '1.0.0', dependencies },
      'node_modules/igbert': {
        version: manifest.version,
        resolved: `file:${tarball}`,
        integrity: `sha512-${createHash('sha512').update(readFileSync(join(consumer, tarball))).digest('base64')}`,
        license: manifest.license,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
        engines: manifest.engines,
      },
    };
    for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
      if (path !== '' && !entry.dev) packages[path] = entry;
    }
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies }));
    writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));

    // The README's consumer install: the environment variable onnxruntime-node's install script reads.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /ONNXRUNTIME_NODE_INSTALL=skip npm install igbert/);
    const installed = npm(['ci'], consumer, offlineEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' }));
    if (skippedAsNotCached(t, installed)) return;
    assert.equal(installed.status, 0, installed.stderr);
    assert.ok(!existsSync(join(consumer, CUDA_LIBRARY)));

    writeFileSync(
      join(consumer, 'main.ts'),
      [
        "import { IgBert, InputError, type AntibodyRecord, type EmbeddingResult } from 'igbert';",
        "import { IgBert as WebIgBert, type WebLoadOptions } from 'igbert/web';",
        "import { IgBertServer, type ServerOptions } from 'igbert/server';",
        "const record: AntibodyRecord = { id: 'ab1', heavy: 'EVQLVESGG', light: 'DIQMTQSPS' };",
        'const options: WebLoadOptions = {};',
        'export async function embed(dir: string): Promise<EmbeddingResult[]> {',
        '  const model = await IgBert.load(dir);',
        '  try {',
        '    return await model.embed([record]);',
        '  } finally {',
        '    await model.dispose();',
        '  }',
        '}',
        'export const parts = [WebIgBert.load, options, IgBertServer, InputError] as const;',
        'export type Options = ServerOptions;',
        "console.log([typeof IgBert.load, typeof WebIgBert.load, typeof IgBertServer].join(' '));",
        '',
      ].join('\n'),
    );
    // A strict consumer: skipLibCheck off and only the Node types listed (so no stray global from @types/* helps).
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          lib: ['ES2023', 'DOM'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    const compiled = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], { encoding: 'utf8' });
    assert.equal(compiled.status, 0, `the consumer's tsc reported:\n${compiled.stdout}${compiled.stderr}`);
    const ran = spawnSync(process.execPath, [join(consumer, 'out', 'main.js')], { cwd: consumer, encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), 'function function function');
  });
});

/** Packages whose types the published declarations may import (each must pass the strict consumer check above). */
const PUBLIC_TYPE_PACKAGES: readonly string[] = [];

test("the declarations behind package.json's exports import no package's types but the listed ones", (t) => {
  const exportsMap = readJson(join(ROOT, 'package.json')).exports as Record<string, { types?: string }>;
  const queue = Object.values(exportsMap).flatMap((entry) => (entry.types ? [join(ROOT, entry.types)] : []));
  if (!queue.every((file) => existsSync(file))) return t.skip('dist/ is not built: `npm run build` first');
  const seen = new Set<string>();
  const imported = new Map<string, string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) queue.push(join(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
      else imported.set(specifier, file.slice(ROOT.length + 1));
    }
  }
  for (const [specifier, file] of imported) {
    const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
    assert.ok(name.startsWith('node:') || PUBLIC_TYPE_PACKAGES.includes(name), `${file} imports the types of ${specifier}`);
  }
});
