/** The CLI's one mapping from errors to exit codes and stderr messages. */
import { IgBertError, UsageError } from '../errors.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Some input rows were rejected (listed in <output>.errors.jsonl); every valid row was processed. */
  rowsRejected: 3,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  return EXIT.failure;
}

export function reportError(error: unknown): void {
  if (error instanceof IgBertError) {
    process.stderr.write(`igbert: error: ${error.message}\n`);
  } else {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`igbert: internal error (please report it with the command you ran): ${message}\n`);
  }
}
