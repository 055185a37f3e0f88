/**
 * `--keep-cols`: input columns copied into every result row, right after "id". The id and chain columns are not in a
 * record's `extra`, so they are taken from the record itself (chains as read, after --strip-gaps). Keeping the id
 * column when it is named "id" keeps it as the output's own id column.
 */
import { UsageError } from '../../errors.js';
import type { ResolvedColumns } from '../../io/columns.js';
import type { ColumnSpec } from '../../io/outputFormats.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import type { ResultRow } from '../../io/resultWriter.js';

const clash = (name: string): UsageError =>
  new UsageError(`--keep-cols ${JSON.stringify(name)}: the output already has a column of that name; rename the input column.`);

export class KeptColumns {
  private names: readonly string[];
  private columns: ResolvedColumns | undefined;

  /** `output`: the command's result columns when known, so that a clash is refused before any work. */
  constructor(
    names: readonly string[],
    private readonly output?: readonly ColumnSpec[],
  ) {
    this.names = names;
    const taken = names.find((name) => name !== 'id' && output?.some((column) => column.name === name));
    if (taken !== undefined) throw clash(taken);
  }

  /** Told the input's columns: every kept name must be one of them. */
  resolve(columns: ResolvedColumns, names: readonly string[]): void {
    this.columns = columns;
    const missing = this.names.filter((name) => !names.includes(name));
    if (missing.length > 0) {
      throw new UsageError(`--keep-cols: ${missing.map((m) => JSON.stringify(m)).join(', ')} not in the input (found: ${names.join(', ')}).`);
    }
    if (this.names.includes('id')) {
      if (columns.id === 'id') this.names = this.names.filter((name) => name !== 'id');
      else if (this.output?.some((column) => column.name === 'id')) throw clash('id');
    }
  }

  /** Result rows in input order, with the kept columns of the input row each came from. */
  rows(results: readonly (ResultRow | ResultRow[])[], sources: readonly NumberedRecord[]): ResultRow[] {
    const rows: ResultRow[] = [];
    results.forEach((result, i) => {
      const group = Array.isArray(result) ? result : [result];
      if (this.names.length === 0) {
        rows.push(...group);
        return;
      }
      const kept = this.values(sources[i] as NumberedRecord);
      for (const row of group) rows.push(withKept(row, kept));
    });
    return rows;
  }

  private values(numbered: NumberedRecord): Record<string, string | null> {
    const values: Record<string, string | null> = {};
    for (const name of this.names) {
      if (name === this.columns?.id) values[name] = numbered.record.id ?? null;
      else if (name === this.columns?.heavy) values[name] = numbered.record.heavy ?? null;
      else if (name === this.columns?.light) values[name] = numbered.record.light ?? null;
      else values[name] = numbered.extra?.[name] ?? null;
    }
    return values;
  }
}

function withKept(row: ResultRow, kept: Record<string, string | null>): ResultRow {
  for (const name of Object.keys(kept)) if (name in row) throw clash(name);
  if (!('id' in row)) return { ...kept, ...row };
  const { id, ...rest } = row;
  return { id, ...kept, ...rest };
}
