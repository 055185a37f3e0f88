/** What the page writes and reads as files: CSV and NPY downloads, and batch input (CSV/TSV or FASTA). */
import { parse } from 'csv-parse/browser/esm/sync';
import { COLUMN_CANDIDATES } from '../../src/io/columns.js';
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

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted. */
export function csvText(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cell = (value: string | number | null): string => {
    if (value === null) return '';
    const text = String(value);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\n') + '\n';
}

/** NPY 1.0 of a little-endian float32 matrix [rows, width] (numpy.load reads it). */
export function npyBytes(rows: readonly Float32Array[], width: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${width}), }`;
  const headerLength = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const text = dict.padEnd(headerLength - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(headerLength + rows.length * width * 4);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(new TextEncoder().encode(text), 10);
  rows.forEach((row, i) => out.set(new Uint8Array(row.buffer, row.byteOffset, width * 4), headerLength + i * width * 4));
  return out;
}

/** One batch row: id, chains, and every other column (for colouring the scatter). */
export interface BatchRow {
  id: string;
  heavy: string;
  light: string;
  extra: Record<string, string>;
}

/** Reads a CSV/TSV (header with id/heavy/light columns, common names accepted) or a paired FASTA file. */
export function parseBatch(name: string, text: string): BatchRow[] {
  if (/\.(fa|fasta|faa)$/i.test(name) || text.trimStart().startsWith('>')) return parseFasta(name, text);
  const rows = parse(text, { columns: true, skip_empty_lines: true, bom: true, delimiter: name.endsWith('.tsv') ? '\t' : ',' }) as Record<string, string>[];
  const names = Object.keys(rows[0] ?? {});
  const find = (candidates: readonly string[]): string | undefined =>
    candidates.find((c) => names.includes(c)) ?? names.find((n) => candidates.some((c) => c.toLowerCase() === n.toLowerCase()));
  const [idColumn, heavyColumn, lightColumn] = [find(COLUMN_CANDIDATES.id), find(COLUMN_CANDIDATES.heavy), find(COLUMN_CANDIDATES.light)];
  if (!heavyColumn && !lightColumn) {
    throw new Error(`${name}: no heavy or light column (found: ${names.join(', ') || 'no header'}); name them "heavy" and "light".`);
  }
  return rows.map((row, i) => ({
    id: (idColumn && row[idColumn]) || String(i + 1),
    heavy: (heavyColumn && row[heavyColumn]) || '',
    light: (lightColumn && row[lightColumn]) || '',
    extra: Object.fromEntries(Object.entries(row).filter(([k]) => k !== idColumn && k !== heavyColumn && k !== lightColumn)),
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
    else if (entries.length === 0) throw new Error(`${name} is not FASTA: a sequence comes before any ">name" line.`);
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
