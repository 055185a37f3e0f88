/**
 * Which input columns (CSV/TSV header names, JSONL keys) hold the id and the two chains: the names given on the
 * command line, else the first of the common names found (exact spelling first, then ignoring case).
 */
import { excerpt, UsageError } from '../errors.js';

export interface CsvColumns {
  id?: string;
  heavy?: string;
  light?: string;
}

/** Names tried in order when a column is not given; covers OAS paired, SAbDab-style and common spreadsheet headers. */
export const COLUMN_CANDIDATES: Readonly<Record<keyof CsvColumns, readonly string[]>> = {
  id: ['id', 'sequence_id', 'name', 'sequence_id_heavy'],
  heavy: ['heavy', 'sequence_alignment_aa_heavy', 'VH', 'HC', 'heavy_chain'],
  light: ['light', 'sequence_alignment_aa_light', 'VL', 'LC', 'light_chain'],
};

const OPTION_NAMES: Record<keyof CsvColumns, string> = { id: '--id-col', heavy: '--heavy-col', light: '--light-col' };

/** Column names present in the input; a chain without a column is empty in every record. */
export type ResolvedColumns = CsvColumns;

export function resolveColumns(names: readonly string[], given: CsvColumns, source: string): ResolvedColumns {
  const resolved: ResolvedColumns = {};
  for (const role of ['id', 'heavy', 'light'] as const) {
    const name = given[role];
    if (name !== undefined) {
      if (!names.includes(name)) {
        throw new UsageError(
          `${source}: ${OPTION_NAMES[role]} ${JSON.stringify(name)} is not a column (found: ${describeNames(names)}).`,
        );
      }
      resolved[role] = name;
      continue;
    }
    const found = findCandidate(names, COLUMN_CANDIDATES[role]);
    if (found !== undefined) resolved[role] = found;
  }
  if (resolved.heavy === undefined && resolved.light === undefined) {
    throw new UsageError(
      `${source}: no chain column found (found: ${describeNames(names)}). Name them heavy and light ` +
        `(or ${[...COLUMN_CANDIDATES.heavy.slice(1), ...COLUMN_CANDIDATES.light.slice(1)].join(', ')}), ` +
        'or pass --heavy-col / --light-col.',
    );
  }
  if (resolved.heavy !== undefined && resolved.heavy === resolved.light) {
    throw new UsageError(`${source}: the heavy and light chains cannot both come from column ${JSON.stringify(resolved.heavy)}.`);
  }
  return resolved;
}

/** The column names of an input for a message: each a short escaped excerpt, at most ten of them. */
export function describeNames(names: readonly string[]): string {
  if (names.length === 0) return 'nothing';
  const shown = names.slice(0, 10).map((name) => (/^[\w .-]{1,40}$/.test(name) ? name : excerpt(name, 20)));
  return shown.join(', ') + (names.length > 10 ? `, ... (${names.length} columns)` : '');
}

export function findCandidate(names: readonly string[], candidates: readonly string[]): string | undefined {
  for (const candidate of candidates) if (names.includes(candidate)) return candidate;
  for (const candidate of candidates) {
    const match = names.find((name) => name.toLowerCase() === candidate.toLowerCase());
    if (match !== undefined) return match;
  }
  return undefined;
}

/** The column of one role among `names`: the given one, else the first common name present (JSON objects vary). */
export function columnFor(role: keyof CsvColumns, names: readonly string[], given: CsvColumns): string | undefined {
  return given[role] ?? findCandidate(names, COLUMN_CANDIDATES[role]);
}

/** "id=sequence_id_heavy, heavy=VH, light=VL": shown on stderr when the names are not the defaults. */
export function describeColumns(columns: ResolvedColumns): string {
  return (['id', 'heavy', 'light'] as const).map((role) => `${role}=${columns[role] ?? '(none)'}`).join(', ');
}

export function isDefaultColumns(columns: ResolvedColumns): boolean {
  return columns.id === 'id' && columns.heavy === 'heavy' && columns.light === 'light';
}
