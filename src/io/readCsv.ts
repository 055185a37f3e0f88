/**
 * CSV/TSV with a header row → records. A row that cannot be read — the wrong number of fields, a stray quote, a quote
 * that is never closed — is rejected, not fatal: the rows around it are still read (an unclosed quote swallows the
 * rest of the file into one field, which is said). Messages quote the file's text only as short escaped excerpts.
 */
import type { Readable } from 'node:stream';
import { parse, type CsvError, type Info } from 'csv-parse';
import { excerpt, FileError, IgBertError, UsageError } from '../errors.js';
import { resolveColumns } from './columns.js';
import { invalidRecord, numberedRecord, type NumberedRecord, type ReadOptions } from './numberedRecord.js';

export async function* readDelimited(
  stream: Readable,
  path: string,
  delimiter: string,
  options: ReadOptions,
): AsyncGenerator<NumberedRecord> {
  const parser = stream.pipe(
    parse({
      bom: true,
      delimiter,
      record_delimiter: ['\r\n', '\n'],
      skip_empty_lines: true,
      relax_quotes: false,
      relax_column_count: true,
      trim: false,
      skip_records_with_error: true,
      info: true,
    }),
  );
  // pipe() does not forward the source's errors (a missing file, a broken gzip): hand them to the parser we iterate.
  stream.on('error', (error) => parser.destroy(error));
  // Records the parser skipped, reported in line order among the good ones (it tells them before it yields those).
  const skipped: { code: string; lines: number }[] = [];
  parser.on('skip', (error: CsvError) => skipped.push({ code: error.code, lines: Number(error['lines']) }));
  let header: string[] | undefined;
  let idIndex = -1;
  let heavyIndex = -1;
  let lightIndex = -1;
  let extraIndices: number[] = [];
  let row = 0;
  let lastLine = 0;
  function* unreadable(beforeLine: number): Generator<NumberedRecord> {
    while (skipped.length > 0 && (skipped[0] as { lines: number }).lines <= beforeLine) {
      const error = skipped.shift() as { code: string; lines: number };
      row++;
      yield invalidRecord(row, undefined, damage(row, lastLine + 1, error, delimiter));
      lastLine = error.lines;
    }
  }
  try {
    for await (const { record: fields, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      yield* unreadable(info.lines - 1);
      lastLine = info.lines;
      if (!header) {
        header = fields;
        const duplicate = header.find((name, i) => header!.indexOf(name) !== i);
        if (duplicate !== undefined) throw new UsageError(`${path}: the header names column ${excerpt(duplicate)} twice.`);
        const columns = resolveColumns(header, options.columns ?? {}, path);
        options.onColumns?.(columns, header);
        idIndex = columns.id === undefined ? -1 : header.indexOf(columns.id);
        heavyIndex = columns.heavy === undefined ? -1 : header.indexOf(columns.heavy);
        lightIndex = columns.light === undefined ? -1 : header.indexOf(columns.light);
        extraIndices = header.map((_, i) => i).filter((i) => i !== idIndex && i !== heavyIndex && i !== lightIndex);
        continue;
      }
      row++;
      const id = idIndex >= 0 ? fields[idIndex] : undefined;
      if (fields.length !== header.length) {
        yield invalidRecord(
          row,
          fields.length > idIndex ? id : undefined,
          `row ${row} has ${fields.length} field(s) but the header has ${header.length}; ` +
            `check for an unquoted ${delimiter === '\t' ? 'tab' : 'comma'} or a missing field.`,
        );
        continue;
      }
      const extra: Record<string, string> = {};
      for (const i of extraIndices) extra[header[i] as string] = fields[i] as string;
      yield numberedRecord(
        row,
        { id, heavy: heavyIndex >= 0 ? fields[heavyIndex] : undefined, light: lightIndex >= 0 ? fields[lightIndex] : undefined },
        extra,
        options,
      );
    }
    if (!header) {
      if (skipped.length > 0) throw new UsageError(`${path}: the header line cannot be read as ${delimiter === '\t' ? 'TSV' : 'CSV'}.`);
      throw new UsageError(`${path} is empty: expected a header line (id, heavy, light) and data rows.`);
    }
    yield* unreadable(Infinity);
  } catch (cause) {
    if (cause instanceof IgBertError) throw cause;
    const error = cause as NodeJS.ErrnoException & { lines?: number };
    const where = error.lines !== undefined ? ` near line ${error.lines}` : '';
    throw new FileError(`${path}${where} is not valid ${delimiter === '\t' ? 'TSV' : 'CSV'} (${error.code ?? excerpt(error.message, 80)}).`, { cause });
  }
}

/** Why the parser skipped a row, naming its lines, in our words (the parser's own quote the field's raw bytes). */
function damage(row: number, fromLine: number, error: { code: string; lines: number }, delimiter: string): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return (
        `row ${row} (from line ${fromLine}) opens a quote that is never closed, so the rest of the file ` +
        `(${error.lines > fromLine ? `lines ${fromLine}-${error.lines}` : `line ${fromLine}`}) reads as one field: close the quote, or remove it.`
      );
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `row ${row} (line ${error.lines}) has a quote inside a field: quote the whole field, and double the quotes inside it ("").`;
    default:
      return `row ${row} (line ${error.lines}) is not valid ${delimiter === '\t' ? 'TSV' : 'CSV'} (${error.code}).`;
  }
}
