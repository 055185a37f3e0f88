/** `--strict`: every row of the job's range is read and validated first; bad rows are listed and nothing else is done. */
import { InputError } from '../../errors.js';
import type { OutputTarget } from '../../io/outputTarget.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import { RejectLog } from '../rejects.js';
import type { RowRange } from '../shard.js';
import type { Rejection, ValidateRow } from './chunks.js';

export async function checkEveryRow<T>(
  records: AsyncIterable<NumberedRecord>,
  range: RowRange,
  validate: ValidateRow<T>,
  output: OutputTarget,
): Promise<void> {
  const bad: Rejection[] = [];
  for await (const numbered of records) {
    const index = numbered.row - 1;
    if (index < range.start) continue;
    if (index >= range.end) break;
    const prepared = validate(numbered);
    if ('error' in prepared) bad.push({ numbered, error: prepared.error });
  }
  if (bad.length === 0) return;
  const log = new RejectLog(output);
  for (const { numbered, error } of bad) await log.reject(numbered.row, numbered.record.id, error);
  await log.close();
  const first = bad[0] as Rejection;
  throw new InputError(
    `--strict: ${bad.length} row(s) are invalid, ${log.listed} (first: row ${first.numbered.row}: ` +
      `${first.error.message}). Nothing was processed; fix them, or drop --strict to process the valid rows.`,
  );
}
