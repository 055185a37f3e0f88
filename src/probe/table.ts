/**
 * Labelled antibody tables for the probes: a CSV/TSV with heavy and light columns, an optional id column (else the
 * row number is the id, as for FLAb files) and measurement columns. Label hygiene happens here, before any model
 * runs: a missing or non-numeric target (or one a log transform cannot take) skips the row with a reason; the same
 * antibody listed twice with different labels is reported; a target with no variance is an error.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { FileError, InputError, UsageError } from '../errors.js';
import type { AntibodyRecord } from '../tokenizer/antibody.js';
import type { ProbeTask } from './linearProbe.js';

export const TRANSFORMS = ['none', 'log10', 'neglog10'] as const;
export type TargetTransform = (typeof TRANSFORMS)[number];

export interface TableRow {
  /** 1-based data row (the header is not a row). */
  row: number;
  record: AntibodyRecord & { id: string };
  values: Record<string, string>;
}

export interface ProbeTable {
  path: string;
  /** sha256 of the file's bytes: part of the embedding cache key. */
  sha256: string;
  columns: string[];
  rows: TableRow[];
}

const MISSING = new Set(['', 'na', 'nan', 'n/a', 'null', 'none', '-']);

export async function readProbeTable(path: string): Promise<ProbeTable> {
  if (path === '-') throw new UsageError('probe needs its input as a file, not stdin: the embedding cache is keyed by the file\'s hash.');
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new FileError(code === 'ENOENT' ? `input file ${path} does not exist.` : `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  let raw: Record<string, string>[];
  try {
    raw = parse(bytes, { columns: true, bom: true, delimiter: /\.tsv$/i.test(path) ? '\t' : ',', skip_empty_lines: true });
  } catch (cause) {
    throw new FileError(`${path} is not valid CSV: ${(cause as Error).message}`, { cause });
  }
  const columns = raw[0] ? Object.keys(raw[0]) : [];
  if (raw.length > 0 && !columns.includes('heavy') && !columns.includes('light')) {
    throw new UsageError(`${path}: the header has no "heavy" or "light" column (found: ${columns.join(', ')}).`);
  }
  const rows = raw.map((values, i) => ({
    row: i + 1,
    record: { id: values['id'] || String(i + 1), heavy: values['heavy'] ?? '', light: values['light'] ?? '' },
    values,
  }));
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), columns, rows };
}

export interface TargetOptions {
  column: string;
  task: ProbeTask;
  transform?: TargetTransform;
  /** Classification from a numeric column: class 1 when the (transformed) value is above this. */
  threshold?: number;
  /** Classification from a two-label column: the label that is class 1. Default: the second in sorted order. */
  positive?: string;
}

export interface SkippedRow {
  row: number;
  id: string;
  value: string;
  reason: string;
}

export interface ConflictingDuplicate {
  rows: number[];
  ids: string[];
  values: string[];
}

export interface Targets {
  /** Indices into table.rows of the rows with a usable target, ascending. */
  rowIndices: number[];
  /** Target per used row: transformed value (regression) or class 0/1 (classification). */
  values: Float64Array;
  skipped: SkippedRow[];
  conflicts: ConflictingDuplicate[];
  /** Classification: the label text of class 0 and class 1. */
  classes?: [string, string];
}

export function applyTransform(value: number, transform: TargetTransform): number {
  return transform === 'log10' ? Math.log10(value) : transform === 'neglog10' ? -Math.log10(value) : value;
}

export function invertTransform(value: number, transform: TargetTransform): number {
  return transform === 'log10' ? 10 ** value : transform === 'neglog10' ? 10 ** -value : value;
}

export function extractTargets(table: ProbeTable, options: TargetOptions): Targets {
  const transform = options.transform ?? 'none';
  if (!table.columns.includes(options.column)) {
    throw new UsageError(`${table.path} has no column ${JSON.stringify(options.column)}; its columns are ${table.columns.join(', ')}.`);
  }
  const skipped: SkippedRow[] = [];
  const used: { index: number; text: string; number: number }[] = [];
  const numeric = options.task === 'regression' || options.threshold !== undefined;
  table.rows.forEach((row, index) => {
    const text = (row.values[options.column] ?? '').trim();
    const skip = (reason: string) => skipped.push({ row: row.row, id: row.record.id, value: text, reason });
    if (MISSING.has(text.toLowerCase())) return skip('missing target');
    if (!numeric) return used.push({ index, text, number: Number.NaN });
    const value = Number(text);
    if (!Number.isFinite(value)) return skip('target is not a number');
    if (transform !== 'none' && !(value > 0)) return skip(`${transform} needs a positive value`);
    used.push({ index, text, number: applyTransform(value, transform) });
  });

  let values: Float64Array;
  let classes: [string, string] | undefined;
  if (options.task === 'regression') {
    values = Float64Array.from(used, (u) => u.number);
  } else if (options.threshold !== undefined) {
    const threshold = options.threshold;
    values = Float64Array.from(used, (u) => (u.number > threshold ? 1 : 0));
    classes = [`<= ${threshold}`, `> ${threshold}`];
  } else {
    const labels = [...new Set(used.map((u) => u.text))];
    const allNumeric = labels.every((l) => Number.isFinite(Number(l)));
    labels.sort(allNumeric ? (a, b) => Number(a) - Number(b) : undefined);
    if (labels.length > 2) {
      throw new InputError(
        `column ${JSON.stringify(options.column)} has ${labels.length} distinct labels (${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', ...' : ''}); ` +
          'classification needs exactly two. Use --threshold to split a numeric column, or --task regression.',
      );
    }
    if (options.positive !== undefined) {
      if (!labels.includes(options.positive)) {
        throw new UsageError(`--positive ${JSON.stringify(options.positive)} is not a label of column ${JSON.stringify(options.column)} (labels: ${labels.join(', ')}).`);
      }
      labels.sort((a, b) => Number(a === options.positive) - Number(b === options.positive));
    }
    classes = [labels[0] ?? '', labels[1] ?? ''];
    values = Float64Array.from(used, (u) => (u.text === classes?.[1] ? 1 : 0));
  }
  checkVariance(options, values, classes);
  return { rowIndices: used.map((u) => u.index), values, skipped, conflicts: conflictingDuplicates(table, used, values), classes };
}

/** A target needs two labelled rows and two distinct values (classes): anything less is an InputError. */
export function checkVariance(options: TargetOptions, values: Float64Array, classes: [string, string] | undefined): void {
  const column = JSON.stringify(options.column);
  const count = values.length;
  if (count < 2) throw new InputError(`column ${column} has ${count} usable value(s); a probe needs at least two labelled rows.`);
  const first = values[0] as number;
  if (values.every((v) => v === first)) {
    throw new InputError(
      options.task === 'regression'
        ? `column ${column} has no variance: every usable row has the value ${first}. There is nothing to predict.`
        : `column ${column} has one class only (${classes?.[first] ?? first}) among the usable rows; classification needs both.`,
    );
  }
}

/** Antibodies (same heavy and light chain) listed more than once with different target values (or classes). */
function conflictingDuplicates(table: ProbeTable, used: { index: number; text: string }[], values: Float64Array): ConflictingDuplicate[] {
  const groups = new Map<string, number[]>();
  used.forEach((u, k) => {
    const { heavy, light } = (table.rows[u.index] as TableRow).record;
    const key = `${(heavy ?? '').trim().toUpperCase()}/${(light ?? '').trim().toUpperCase()}`;
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  return [...groups.values()]
    .filter((group) => new Set(group.map((k) => values[k])).size > 1)
    .map((group) => {
      const rows = group.map((k) => table.rows[(used[k] as { index: number }).index] as TableRow);
      return { rows: rows.map((r) => r.row), ids: rows.map((r) => r.record.id), values: group.map((k) => (used[k] as { text: string }).text) };
    });
}
