/**
 * One vocabulary: the README's table "Result fields and spellings" is read, and every surface is held to it — the
 * CLI's JSON Lines and CSV rows and its rejected rows, the server's answers and the schemas /openapi.json documents,
 * the library's result objects and errors (the web page's are checked in web.test.ts). Field names and their order,
 * nesting, chains "H"/"L" wherever a chain is a value, and null for a chain the antibody lacks.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IgBert, InputError, parseMutationSets, parseRegions } from '../src/index.js';
import type { IgBertModel } from '../src/model.js';
import { ERROR_SCHEMA } from '../src/server/httpErrors.js';
import { CHECKPOINTS, ROOT } from './helpers.js';
import { post, request, startServer, type Running } from './serverHelpers.js';

const MODEL = join(CHECKPOINTS, 'mlm-h64');
const BIN = join(ROOT, 'bin', 'igbert.js');

// --- the table ------------------------------------------------------------------------------------------------

/** A field as the table lists it: its name, "?" when present only on request, and the fields nested in it. */
interface Field {
  name: string;
  optional: boolean;
  fields?: Field[];
}

/** The table's rows by their first cell: [CLI, server and web page; library]. */
function spellingTable(readme: string): Map<string, [string, string]> {
  const start = readme.indexOf('## Result fields and spellings');
  assert.ok(start >= 0, 'the README has a section "Result fields and spellings"');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| what'));
  return new Map(
    rows.map((line) => {
      const cells = line.split(/(?<!\\) \| /).map((cell) => cell.replace(/^\| |\s*\|$/g, '').trim());
      return [cells[0] as string, [cells[1] as string, cells[2] as string]];
    }),
  );
}

/**
 * The fields of a cell, in order: each `name` (with `?` when optional), and `name`: [{...}] or `name`: {...} for the
 * fields of the objects it holds. Capitalised names (TypeScript types) and plain words are not fields.
 */
function fieldsOf(cell: string): Field[] {
  const top: Field[] = [];
  const stack: Field[][] = [top];
  let last: Field | undefined;
  for (const [token, name, optional] of cell.matchAll(/`([^`]+)`(\?)?|\[\{|\}\]|\{|\}/g)) {
    const current = stack[stack.length - 1] as Field[];
    if (name !== undefined) {
      if (/^[A-Z]/.test(name)) continue;
      last = { name, optional: optional === '?' };
      current.push(last);
    } else if (token === '[{' || token === '{') {
      assert.ok(last, `"${token}" follows a field in ${cell}`);
      last.fields = [];
      stack.push(last.fields);
    } else {
      stack.pop();
    }
  }
  return top;
}

/** An object's keys against the table: in the table's order, every field that is not optional present, no others. */
function assertFields(value: unknown, fields: readonly Field[], label: string, allOptional = false): void {
  assert.ok(value !== null && typeof value === 'object', `${label} is an object`);
  const keys = Object.keys(value);
  const expected = fields.filter((f) => keys.includes(f.name) || !(f.optional || allOptional)).map((f) => f.name);
  assert.deepEqual(keys, expected, label);
  for (const field of fields) {
    if (!field.fields || !keys.includes(field.name)) continue;
    const inner = (value as Record<string, unknown>)[field.name];
    const first = Array.isArray(inner) ? inner[0] : inner;
    assertFields(first, field.fields, `${label}.${field.name}`, allOptional);
  }
}

/** The fields a response schema documents, as the table would list them (every one, optional or not). */
function schemaFields(schema: any): Field[] {
  return Object.entries(schema.properties as Record<string, any>).map(([name, property]) => {
    const inner = property.type === 'array' ? property.items : property;
    return { name, optional: false, ...(inner?.type === 'object' ? { fields: schemaFields(inner) } : {}) };
  });
}

const names = (fields: readonly Field[]): unknown =>
  fields.map((f) => (f.fields ? { [f.name]: names(f.fields) } : f.name));

/** Every value under a key "chain", however deep. */
function chainValues(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(chainValues);
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === 'chain' ? [inner] : chainValues(inner)));
}

const table = spellingTable(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const surfaces = (row: string): Field[] => fieldsOf(table.get(row)?.[0] ?? assert.fail(`the table has no row ${row}`));
const library = (row: string): Field[] => fieldsOf(table.get(row)?.[1] ?? assert.fail(`the table has no row ${row}`));

test('the table lists every output, with the fields of each', () => {
  for (const row of ['chain', 'a chain the antibody lacks', 'position', '`embed`', '`score`', '`mutate`', '`mutate --scan`', '`fill`', '`fill` (CSV)']) {
    assert.ok(table.has(row), row);
  }
  assert.deepEqual(names(surfaces('`score`')), [
    'id', 'method', 'log_likelihood', 'mean_log_likelihood', 'perplexity', 'heavy_log_likelihood', 'light_log_likelihood', 'per_residue',
  ]);
  assert.deepEqual(names(surfaces('`fill`')), [
    'id', { designs: ['heavy', 'light', 'logprob'] }, { positions: ['chain', 'position', { candidates: ['residue', 'logprob'] }] },
  ]);
});

// --- the inputs -------------------------------------------------------------------------------------------------

const PAIRED = { id: 'ab1', heavy: 'EVQLVESGG', light: 'DIQMTQ' };
const HEAVY_ONLY = { id: 'h1', heavy: 'EVQLVQ', light: '' };
const MASKED = [
  { id: 'm1', heavy: 'EVQ*VESGG', light: 'DI*MTQ' },
  { id: 'm2', heavy: 'EVQL*Q', light: '' },
];
const MUTATIONS = 'H:V2A;H:Q3E,H:L4V';
const csvOf = (records: readonly { id: string; heavy: string; light: string }[]): string =>
  'id,heavy,light\n' + records.map((r) => `${r.id},${r.heavy},${r.light}`).join('\n') + '\n';

// --- the CLI ----------------------------------------------------------------------------------------------------

describe('the CLI writes the table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'igbert-vocabulary-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const input = join(dir, 'pairs.csv');
  const masked = join(dir, 'masked.csv');
  writeFileSync(input, csvOf([PAIRED, HEAVY_ONLY, { id: 'bad', heavy: 'EV1L', light: '' }]));
  writeFileSync(masked, csvOf(MASKED));

  /** Runs a command into `output` (in the scratch folder); returns its rows, or the CSV header and cells. */
  function run(args: string[], output: string, expectedCode = 0): string {
    const path = join(dir, output);
    const result = spawnSync(process.execPath, [BIN, ...args, '--model', MODEL, '--output', path, '--quiet'], { encoding: 'utf8' });
    assert.equal(result.status, expectedCode, result.stderr);
    return readFileSync(path, 'utf8');
  }
  const jsonLines = (text: string): any[] => text.trim().split('\n').map((line) => JSON.parse(line));
  const csvHeader = (text: string): string[] => (text.split('\n')[0] as string).split(',');
  const scalars = (fields: readonly Field[]): string[] => fields.filter((f) => !f.optional && !f.fields).map((f) => f.name);

  test('embed (with and without --residues)', () => {
    for (const residues of [[], ['--residues']]) {
      for (const row of jsonLines(run(['embed', '--input', input, ...residues], `embed${residues.length}.jsonl`, 3))) {
        assertFields(row, surfaces('`embed`'), `embed ${residues.join(' ')}`);
      }
    }
  });

  test('score: JSON Lines (with --per-residue) and CSV; a missing chain is null, an empty CSV cell', () => {
    const rows = jsonLines(run(['score', '--input', input, '--per-residue'], 'scores.jsonl', 3));
    for (const row of rows) assertFields(row, surfaces('`score`'), 'score');
    assert.equal(rows[1].light_log_likelihood, null);
    const csv = run(['score', '--input', input, '--method', 'wt-marginal'], 'scores.csv', 3);
    assert.deepEqual(csvHeader(csv), scalars(surfaces('`score`')));
    assert.match(csv.split('\n')[2] as string, /^h1,wt-marginal,.*,$/);
  });

  test('rejected rows: the fields of the errors file, chains H/L', () => {
    const [rejected] = jsonLines(readFileSync(join(dir, 'scores.jsonl.errors.jsonl'), 'utf8'));
    assertFields(rejected, surfaces('rejected row (`<output>.errors.jsonl`)'), 'errors file', true);
    assert.deepEqual([rejected.row, rejected.id, rejected.chain, rejected.position], [3, 'bad', 'H', 3]);
  });

  test('mutate: JSON Lines and CSV rows, one per (antibody, set)', () => {
    const rows = jsonLines(run(['mutate', '--input', input, '--mutations', MUTATIONS], 'effects.jsonl', 3));
    assert.equal(rows.length, 4);
    for (const row of rows) assertFields(row, surfaces('`mutate`'), 'mutate');
    assert.deepEqual(csvHeader(run(['mutate', '--input', input, '--mutations', MUTATIONS], 'effects.csv', 3)), scalars(surfaces('`mutate`')));
  });

  test('mutate --scan: JSON Lines and CSV rows, one per substitution, chains H/L', () => {
    const rows = jsonLines(run(['mutate', '--input', input, '--scan', '--region', 'H:1-2'], 'scan.jsonl', 3));
    for (const row of rows) assertFields(row, surfaces('`mutate --scan`'), 'scan');
    assert.deepEqual([...new Set(chainValues(rows))], ['H']);
    assert.deepEqual(csvHeader(run(['mutate', '--input', input, '--scan', '--region', 'L:1'], 'scan.csv', 3)), scalars(surfaces('`mutate --scan`')));
  });

  test('fill: JSON Lines (nested) and CSV (one row per design); chains H/L, a missing chain null', () => {
    const rows = jsonLines(run(['fill', '--input', masked, '--candidates', '2'], 'designs.jsonl'));
    for (const row of rows) assertFields(row, surfaces('`fill`'), 'fill');
    assert.deepEqual(chainValues(rows), ['H', 'L', 'H']);
    assert.equal(rows[1].designs[0].light, null);
    const csv = run(['fill', '--input', masked], 'designs.csv');
    assert.deepEqual(csvHeader(csv), scalars(surfaces('`fill` (CSV)')));
    assert.match(csv.split('\n')[2] as string, /^m2,1,EVQL\wQ,,/);
  });
});

// --- the server -------------------------------------------------------------------------------------------------

describe('the server answers the table, and /openapi.json documents it', () => {
  let running: Running;
  let openapi: any;
  before(async () => {
    running = await startServer();
    openapi = (await request(`${running.url}/openapi.json`)).body;
  });
  after(() => running.close());

  const results = async (path: string, body: object): Promise<any[]> => {
    const response = await post(`${running.url}${path}`, body);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.results;
  };
  /** The documented fields of one result row; /v1/mutate documents two kinds, told apart by `which`. */
  const documented = (path: string, which = 0): Field[] => {
    const items = openapi.paths[path].post.responses['200'].content['application/json'].schema.properties.results.items;
    return schemaFields(items.oneOf ? items.oneOf[which] : items);
  };
  /** The documented fields are the table's, all of them, optional ones included. */
  const assertDocumented = (path: string, row: string, which = 0): void =>
    assert.deepEqual(names(documented(path, which)), names(surfaces(row)), `${path} in /openapi.json`);

  test('/v1/embed', async () => {
    for (const row of await results('/v1/embed', { items: [PAIRED, HEAVY_ONLY], residues: true })) assertFields(row, surfaces('`embed`'), 'embed');
    assertDocumented('/v1/embed', '`embed`');
  });

  test('/v1/score: the same rows as igbert score; a missing chain is null', async () => {
    const rows = await results('/v1/score', { items: [PAIRED, HEAVY_ONLY], per_residue: true });
    for (const row of rows) assertFields(row, surfaces('`score`'), 'score');
    assert.equal(rows[1].light_log_likelihood, null);
    assertDocumented('/v1/score', '`score`');
  });

  test('/v1/mutate: one row per (item, set), or per substitution, as igbert mutate writes them', async () => {
    const rows = await results('/v1/mutate', { items: [PAIRED, HEAVY_ONLY], mutations: MUTATIONS });
    assert.deepEqual(rows.map((r) => [r.id, r.mutations]), [['ab1', 'H:V2A'], ['ab1', 'H:Q3E,H:L4V'], ['h1', 'H:V2A'], ['h1', 'H:Q3E,H:L4V']]);
    for (const row of rows) assertFields(row, surfaces('`mutate`'), 'mutate');
    const scan = await results('/v1/mutate', { items: [PAIRED], scan: true, region: 'H:1,L:1' });
    assert.equal(scan.length, 2 * 19);
    for (const row of scan) assertFields(row, surfaces('`mutate --scan`'), 'scan');
    assert.deepEqual([...new Set(chainValues(scan))], ['H', 'L']);
    assertDocumented('/v1/mutate', '`mutate`', 0);
    assertDocumented('/v1/mutate', '`mutate --scan`', 1);
  });

  test('/v1/fill: chains H/L, a missing chain null', async () => {
    const rows = await results('/v1/fill', { items: MASKED, candidates: 2 });
    for (const row of rows) assertFields(row, surfaces('`fill`'), 'fill');
    assert.deepEqual(chainValues(rows), ['H', 'L', 'H']);
    assert.equal(rows[1].designs[0].light, null);
    assertDocumented('/v1/fill', '`fill`');
  });

  test('errors: details name the chain H or L', async () => {
    const response = await post(`${running.url}/v1/embed`, { items: [PAIRED, { id: 'b', light: 'DI1Q' }] });
    assert.equal(response.status, 422);
    assertFields(response.body, surfaces('server error'), 'error', true);
    assert.deepEqual(response.body.details, { code: 'INVALID_INPUT', item: 1, id: 'b', chain: 'L', position: 3, character: '1' });
    assert.deepEqual((ERROR_SCHEMA as any).properties.details.properties.chain.enum, ['H', 'L']);
  });
});

// --- the library ------------------------------------------------------------------------------------------------

describe('the library returns the table (camelCase)', () => {
  let model: IgBertModel;
  before(async () => {
    model = await IgBert.load(MODEL, { threads: 1 });
  });
  after(() => model.dispose());

  test('embed, score, mutate, scan, fill', async () => {
    for (const result of await model.embed([PAIRED], { residues: true })) assertFields(result, library('`embed`'), 'EmbeddingResult');
    const scores = await model.score([PAIRED, HEAVY_ONLY], { perResidue: true });
    for (const result of scores) assertFields(result, library('`score`'), 'ScoreResult');
    assert.equal(scores[1]?.lightLogLikelihood, null);
    assert.deepEqual([...new Set(chainValues(scores))], ['H', 'L']);
    for (const result of await model.mutate([PAIRED], { mutations: MUTATIONS })) assertFields(result, library('`mutate`'), 'MutationScore');
    const [scan] = await model.scan([HEAVY_ONLY], { regions: 'H:1-2' });
    assertFields(scan, library('`mutate --scan`'), 'ScanResult');
    assert.equal(scan?.light, null);
    assert.deepEqual(chainValues(scan), ['H', 'H']);
    const fills = await model.fill(MASKED);
    for (const result of fills) assertFields(result, library('`fill`'), 'FillResult');
    assert.equal(fills[1]?.designs[0]?.light, null);
  });

  test('InputError.location, and parsed mutations and regions, name chains H/L', async () => {
    await assert.rejects(model.score([PAIRED, { id: 'b', light: 'DI1Q' }]), (error: unknown) => {
      assert.ok(error instanceof InputError);
      const [, locationRow] = table.get('rejected row (`<output>.errors.jsonl`)') ?? [];
      assertFields({ location: error.location }, fieldsOf(locationRow as string).filter((f) => f.name === 'location'), 'InputError', true);
      assert.equal(error.location.chain, 'L');
      return true;
    });
    assert.deepEqual(parseMutationSets('H:S30A,l:Y49F')[0]?.map((m) => m.chain), ['H', 'L']);
    assert.deepEqual(parseRegions('H:95-102,l').map((r) => r.chain), ['H', 'L']);
  });
});
