/**
 * The browser entry point stays isomorphic: following every import from src/web.ts (and the page) reaches no Node
 * built-in (node:*) and no Node-only package. Fast; no browser needed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers.js';

const NODE_ONLY_PACKAGES = ['onnxruntime-node', 'commander', 'hyparquet-writer'];
const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every file reached from `entry` through relative imports, and the bare specifiers each one imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (graph.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    const bare: string[] = [];
    for (const match of source.matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2]) as string;
      if (/^import\s+type\b|^export\s+type\b/.test(match[0])) continue; // erased at build time
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        if (existsSync(target)) pending.push(target);
      } else {
        bare.push(specifier);
      }
    }
    graph.set(file, bare);
  }
  return graph;
}

function nodeOnlyImports(entry: string): string[] {
  const offenders: string[] = [];
  for (const [file, imports] of importGraph(join(ROOT, entry))) {
    for (const specifier of imports) {
      if (specifier.startsWith('node:') || NODE_ONLY_PACKAGES.includes(specifier)) offenders.push(`${relative(ROOT, file)} imports ${specifier}`);
    }
    if (/src\/(node|cli|hub|server)\//.test(file)) offenders.push(`${relative(ROOT, file)} is Node-only`);
  }
  return offenders;
}

describe('browser entry point', () => {
  for (const entry of ['src/web.ts', 'web/main.ts', 'web/bench.ts']) {
    it(`${entry} reaches no Node-only module`, () => assert.deepEqual(nodeOnlyImports(entry), []));
  }
  it('the check sees Node imports where they are (the Node entry point)', () => {
    assert.ok(nodeOnlyImports('src/index.ts').some((o) => o.includes('node:fs')));
  });
});
