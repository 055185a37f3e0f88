/** CSV/TSV with a header row → records. A row with the wrong number of fields is rejected, not fatal. */
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { FileError, IgBertError, UsageError } from '../errors.js';
import { resolveColumns } from './columns.js';
import { invalidRecord, numberedRecord, type NumberedRecord, type ReadOptions } from './numberedRecord.js';

export async function* readDelimited(
  stream: Readable,
  path: string,
  delimiter: string,
  options: ReadOptions,
): AsyncGenerator<NumberedRecord> {
  const parser = stream.pipe(
    parse({ bom: true, delimiter, record_delimiter: ['\r\n', '\n'], skip_empty_lines: true, relax_quotes: false, relax_column_count: true, trim: false }),
  );
  // pipe() does not forward the source's errors (a missing file, a broken gzip): hand them to the parser we iterate.
  stream.on('error', (error) => parser.destroy(error));
  let header: string[] | undefined;
  let idIndex = -1;
  let heavyIndex = -1;
  let lightIndex = -1;
  let extraIndices: number[] = [];
  let row = 0;
  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = fields;
        const duplicate = header.find((name, i) => header!.indexOf(name) !== i);
        if (duplicate !== undefined) throw new UsageError(`${path}: the header names column ${JSON.stringify(duplicate)} twice.`);
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
    if (!header) throw new UsageError(`${path} is empty: expected a header line (id, heavy, light) and data rows.`);
  } catch (cause) {
    if (cause instanceof IgBertError) throw cause;
    const error = cause as NodeJS.ErrnoException & { lines?: number };
    const where = error.lines !== undefined ? ` near line ${error.lines}` : '';
    throw new FileError(`${path}${where} is not valid ${delimiter === '\t' ? 'TSV' : 'CSV'}: ${error.message}`, { cause });
  }
}
