/**
 * What the page reads as files (batch input: CSV/TSV or FASTA) and how it hands files out (downloads). What it
 * writes comes from the CLI's own isomorphic writers (src/io/csv.ts, src/io/npy.ts), and the column names and FASTA
 * pairs it understands are the CLI's too; errors are the package's typed errors.
 */
import { parse } from 'csv-parse/browser/esm/sync';
import { FileError } from '../../src/errors.js';
import { resolveColumns } from '../../src/io/columns.js';
import { pairedName } from '../../src/io/fastaNames.js';

export function downloadBlob(name: string, parts: BlobPart[], type: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One batch row: id, chains, and every other column (for colouring the scatter). */
export interface BatchRow {
  id: string;
  heavy: string;
  light: string;
  extra: Record<string, string>;
}

/** Reads a CSV/TSV (header with id/heavy/light columns, the CLI's common names accepted) or a paired FASTA file. */
export function parseBatch(name: string, text: string): BatchRow[] {
  if (/\.(fa|fasta|faa)$/i.test(name) || text.trimStart().startsWith('>')) return parseFasta(name, text);
  const rows = parse(text, { columns: true, skip_empty_lines: true, bom: true, delimiter: name.endsWith('.tsv') ? '\t' : ',' }) as Record<string, string>[];
  const columns = resolveColumns(Object.keys(rows[0] ?? {}), {}, name);
  const known = new Set([columns.id, columns.heavy, columns.light]);
  return rows.map((row, i) => ({
    id: (columns.id && row[columns.id]) || String(i + 1),
    heavy: (columns.heavy && row[columns.heavy]) || '',
    light: (columns.light && row[columns.light]) || '',
    extra: Object.fromEntries(Object.entries(row).filter(([k]) => !known.has(k))),
  }));
}

// The CLI's FASTA convention (src/io/fastaNames.ts): pairs are adjacent records named <id>_H / <id>_L (or _VH/_VL,
// _HC/_LC, _heavy/_light, or with "|"); any other name is a heavy-only record.
function parseFasta(name: string, text: string): BatchRow[] {
  const entries: { name: string; sequence: string }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('>')) entries.push({ name: line.slice(1).trim().split(/\s+/)[0] ?? '', sequence: '' });
    else if (entries.length === 0) throw new FileError(`${name} is not FASTA: a sequence comes before any ">name" line.`);
    else entries[entries.length - 1]!.sequence += line;
  }
  const rows: BatchRow[] = [];
  for (const entry of entries) {
    const paired = pairedName(entry.name);
    const chain = paired?.chain ?? 'heavy';
    const id = paired?.id ?? entry.name;
    const last = rows[rows.length - 1];
    if (paired && last && last.id === id && last[chain] === '') last[chain] = entry.sequence;
    else rows.push({ id, heavy: chain === 'heavy' ? entry.sequence : '', light: chain === 'light' ? entry.sequence : '', extra: {} });
  }
  return rows;
}
