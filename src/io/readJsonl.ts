/**
 * JSON Lines → records: one object per non-empty line, keys named like CSV columns (chosen from the first object).
 * A line that is not a JSON object, or whose chain is not a string, is rejected. Other keys become `extra` as text
 * (strings unchanged, numbers and booleans as written, null as "", arrays and objects as JSON).
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { excerpt } from '../errors.js';
import { columnFor, resolveColumns, type ResolvedColumns } from './columns.js';
import { invalidRecord, numberedRecord, type NumberedRecord, type ReadOptions } from './numberedRecord.js';

export async function* readJsonl(stream: Readable, path: string, options: ReadOptions): AsyncGenerator<NumberedRecord> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let columns: ResolvedColumns | undefined;
  let row = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    row++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      yield invalidRecord(row, undefined, `row ${row} is not valid JSON: ${excerpt(line)}.`);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield invalidRecord(row, undefined, `row ${row} is not a JSON object ({"id": ..., "heavy": ..., "light": ...}).`);
      continue;
    }
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (!columns) {
      // The first object fixes (and announces) the columns; keys absent from it are looked up in each later object.
      columns = resolveColumns(keys, options.columns ?? {}, path);
      options.onColumns?.(columns, keys);
    }
    const given = options.columns ?? {};
    const rowColumns: ResolvedColumns = {
      id: columns.id ?? columnFor('id', keys, given),
      heavy: columns.heavy ?? columnFor('heavy', keys, given),
      light: columns.light ?? columnFor('light', keys, given),
    };
    const rawId = rowColumns.id === undefined ? undefined : object[rowColumns.id];
    const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined;
    const chains: { heavy?: string; light?: string } = {};
    let problem: string | undefined;
    for (const chain of ['heavy', 'light'] as const) {
      const key = rowColumns[chain];
      const text = key === undefined ? undefined : object[key];
      if (typeof text === 'string') chains[chain] = text;
      else if (text !== undefined && text !== null) problem ??= `${excerpt(key ?? chain)} must be a string of residues, got ${excerpt(JSON.stringify(text))}`;
    }
    if (problem !== undefined) {
      yield invalidRecord(row, id, `row ${row}: ${problem}.`);
      continue;
    }
    const extra: Record<string, string> = {};
    for (const [key, item] of Object.entries(object)) {
      if (key === rowColumns.id || key === rowColumns.heavy || key === rowColumns.light) continue;
      extra[key] = typeof item === 'string' ? item : item === null ? '' : typeof item === 'object' ? JSON.stringify(item) : String(item);
    }
    yield numberedRecord(row, { id, ...chains }, extra, options);
  }
}
