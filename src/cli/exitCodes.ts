/** The CLI's one mapping from errors to exit codes and stderr messages. */
import { IgBertError, UsageError } from '../errors.js';
import { OutputClosedError } from '../io/partialFile.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Some input rows were rejected (listed in <output>.errors.jsonl); every valid row was processed. */
  rowsRejected: 3,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  // The reader of stdout closed it (`| head`): the job ends as Unix tools do then, quietly and successfully.
  if (error instanceof OutputClosedError) return EXIT.ok;
  return EXIT.failure;
}

export function reportError(error: unknown): void {
  if (error instanceof OutputClosedError) return;
  if (error instanceof IgBertError) {
    process.stderr.write(`igbert: error: ${error.message}\n`);
  } else {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`igbert: internal error (please report it with the command you ran): ${message}\n`);
  }
}
