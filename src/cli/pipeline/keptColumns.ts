/**
 * `--keep-cols`: input columns copied into every result row, right after "id". The id and chain columns are not in a
 * record's `extra`, so they are taken from the record itself (chains as read, after --strip-gaps).
 */
import { UsageError } from '../../errors.js';
import type { ResolvedColumns } from '../../io/columns.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import type { ResultRow } from '../../io/resultWriter.js';

/** Result rows in input order, with the kept columns of the input row each came from. */
export function withKeptColumns(
  results: readonly (ResultRow | ResultRow[])[],
  sources: readonly NumberedRecord[],
  keep: readonly string[],
  columns: ResolvedColumns | undefined,
): ResultRow[] {
  const rows: ResultRow[] = [];
  results.forEach((result, i) => {
    const group = Array.isArray(result) ? result : [result];
    if (keep.length === 0) {
      rows.push(...group);
      return;
    }
    const kept = keptValues(sources[i] as NumberedRecord, keep, columns);
    for (const row of group) rows.push(withKept(row, kept));
  });
  return rows;
}

function keptValues(numbered: NumberedRecord, keep: readonly string[], columns: ResolvedColumns | undefined): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const name of keep) {
    if (name === columns?.id) values[name] = numbered.record.id ?? null;
    else if (name === columns?.heavy) values[name] = numbered.record.heavy ?? null;
    else if (name === columns?.light) values[name] = numbered.record.light ?? null;
    else values[name] = numbered.extra?.[name] ?? null;
  }
  return values;
}

function withKept(row: ResultRow, kept: Record<string, string | null>): ResultRow {
  for (const name of Object.keys(kept)) {
    if (name in row) {
      throw new UsageError(`--keep-cols ${JSON.stringify(name)}: the output already has a column of that name; rename the input column.`);
    }
  }
  if (!('id' in row)) return { ...kept, ...row };
  const { id, ...rest } = row;
  return { id, ...kept, ...rest };
}
