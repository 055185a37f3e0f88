/**
 * The folder layout is the data flow (input → tokenizer → batches → engine → tasks → io / cli / server / web) and
 * the source keeps to it (#15): no import cycles, tasks never reach an engine, nothing imports a front end but the
 * front ends above it. Imports are read with TypeScript's own pre-processor (static, type-only, re-exports and
 * dynamic `import()`), so a new file is checked without being listed here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { ROOT } from './helpers.js';

const SRC = join(ROOT, 'src');

/** Every .ts file under src/, by path relative to src/, with the src/ files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
        const imports = importedFiles
          .map((file) => file.fileName)
          .filter((name) => name.startsWith('.'))
          .map((name) => relative(SRC, resolve(dirname(path), name)).replace(/\.js$/, '.ts'));
        graph.set(relative(SRC, path), imports);
      }
    }
  };
  walk(SRC);
  return graph;
}

/** The cycles of a graph (strongly connected components of more than one file, or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

/** The top-level folder (or file) of a path under src/. */
const area = (file: string): string => file.split(/[\\/]/)[0]!;

/** Who may import each front end and engine folder; every other area must not. */
const ALLOWED_IMPORTERS: Record<string, readonly string[]> = {
  cli: ['cli'],
  server: ['server', 'cli'],
  web: ['web', 'web.ts'],
  node: ['node', 'cli', 'server', 'probe', 'index.ts'],
  runtime: ['runtime', 'model.ts', 'api.ts', 'node', 'web', 'cli', 'server'],
};

describe('architecture (#15)', () => {
  const graph = importGraph();

  test('the import graph is read: every src/ file, type-only imports, re-exports and dynamic import() included', () => {
    assert.ok(graph.size > 100, `${graph.size} files`);
    assert.ok(graph.get('tokenizer/bertTokenizer.ts')!.includes('tokenizer/tokenizerOptions.ts'), 'a type-only import is an edge');
    assert.ok(graph.get('web.ts')!.includes('api.ts'), 'a re-export is an edge');
    const { importedFiles } = ts.preProcessFile("const m = await import('./late.js');", true, true);
    assert.deepEqual(importedFiles.map((file) => file.fileName), ['./late.js'], 'a dynamic import is an edge');
  });

  test('no import cycles in src/', () => {
    assert.deepEqual(cycles(graph), []);
  });

  test('the cycle finder finds a cycle (it once ran between resultWriter.ts and the NPY and Parquet writers)', () => {
    const withCycle = new Map([['io/resultWriter.ts', ['io/npyWriter.ts']], ['io/npyWriter.ts', ['io/resultWriter.ts']], ['io/x.ts', []]]);
    assert.deepEqual(cycles(withCycle), [['io/npyWriter.ts', 'io/resultWriter.ts']]);
  });

  test('tasks never import an engine or a front end; front ends and engines are imported only from above', () => {
    const offending: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        const allowed = ALLOWED_IMPORTERS[area(target)];
        if (allowed && !allowed.includes(area(file))) offending.push(`${file} imports ${target}`);
      }
    }
    assert.deepEqual(offending, []);
    const tasks = [...graph].filter(([file]) => area(file) === 'tasks').flatMap(([, imports]) => imports);
    assert.ok(tasks.length > 0 && tasks.every((target) => !['runtime', 'node', 'cli', 'server', 'web'].includes(area(target))));
  });
});
