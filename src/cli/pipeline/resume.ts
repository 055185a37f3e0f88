/**
 * Where a run starts: from the first row (a stale record removed), or — with --resume — from the checkpoint of an
 * interrupted run of the same job, or not at all when a run of the same job already completed the output.
 */
import { UsageError } from '../../errors.js';
import { inputIdentity } from '../../io/inputSource.js';
import { partialPath } from '../../io/partialFile.js';
import { assertSameJob, progressPath, readCheckpoint, removeCheckpoint, sameIdentity, writeCheckpoint, type FileIdentity, type JobCheckpoint } from '../checkpoint.js';
import { EXIT } from '../exitCodes.js';
import { RejectLog } from '../rejects.js';
import { pathExists } from '../../io/pathExists.js';
import { removeStaleTemporaries } from '../../io/atomicFile.js';

export type StartPoint = { checkpoint?: JobCheckpoint; finished?: undefined } | { finished: number };

export async function startPoint(
  output: string,
  resume: boolean,
  job: Record<string, unknown>,
  input: FileIdentity | null,
  note: (text: string) => void,
): Promise<StartPoint> {
  // A run killed while it replaced the record left the temporary file of that write (a hidden name with its pid).
  await removeStaleTemporaries(progressPath(output));
  if (!resume) {
    await removeCheckpoint(output);
    return {};
  }
  const checkpoint = await readCheckpoint(output);
  const published = await outputIdentity(output);
  if (!checkpoint) {
    if (published) {
      throw new UsageError(
        `cannot resume ${output}: it exists, but there is no ${progressPath(output)} saying which options made it ` +
          '(it was written by something else, or by an older igbert). Run without --resume to make it again.',
      );
    }
    note(`no ${progressPath(output)}: starting from the first row.`);
    return {};
  }
  assertSameJob(checkpoint, job, input ?? undefined, output);
  const exitCode = checkpoint.rejects.count > 0 ? EXIT.rowsRejected : EXIT.ok;
  if (checkpoint.finished) {
    if (!published) {
      note(`${output} was removed since it was made: starting from the first row.`);
      await removeCheckpoint(output);
      return {};
    }
    if (!sameIdentity(checkpoint.finished, published)) {
      throw new UsageError(`cannot resume ${output}: ${output} changed since the run that made it. Run without --resume to make it again.`);
    }
    note(`${output} is complete (made with the same options): nothing to do.`);
    return { finished: exitCode };
  }
  if (published && !(await pathExists(partialPath(output)))) {
    // Killed while publishing the files: the output is complete; publish the error log and record the run as finished.
    if (checkpoint.rejects.count > 0 && (await pathExists(partialPath(`${output}.errors.jsonl`)))) {
      await (await RejectLog.resume(output, checkpoint.rejects)).close();
    }
    await writeCheckpoint(output, { ...checkpoint, finished: published });
    note(`${output} was complete; finished publishing it.`);
    return { finished: exitCode };
  }
  if (checkpoint.rowsDone > 0) note(`resuming after ${checkpoint.rowsDone} committed rows`);
  return { checkpoint };
}

/** Size and time of a published output; undefined when there is none. */
export async function outputIdentity(path: string): Promise<FileIdentity | undefined> {
  return (await pathExists(path)) ? inputIdentity(path) : undefined;
}
