/**
 * Where a run starts: from the first row (a stale checkpoint removed), or — with --resume — from the checkpoint of an
 * interrupted run of the same job, or not at all when that run had already completed its output.
 */
import { access } from 'node:fs/promises';
import { partialPath } from '../../io/partialFile.js';
import { assertSameJob, progressPath, readCheckpoint, removeCheckpoint, type JobCheckpoint } from '../checkpoint.js';
import { EXIT } from '../exitCodes.js';
import { RejectLog } from '../rejects.js';

export type StartPoint = { checkpoint?: JobCheckpoint; finished?: undefined } | { finished: number };

export async function startPoint(
  output: string,
  resume: boolean,
  job: Record<string, unknown>,
  input: JobCheckpoint['input'] | undefined,
  note: (text: string) => void,
): Promise<StartPoint> {
  if (!resume) {
    await removeCheckpoint(output);
    return {};
  }
  const checkpoint = await readCheckpoint(output);
  if (!checkpoint) {
    if (await exists(output)) {
      note(`${output} is complete (there is no ${progressPath(output)}): nothing to resume.`);
      return { finished: (await exists(`${output}.errors.jsonl`)) ? EXIT.rowsRejected : EXIT.ok };
    }
    note(`no ${progressPath(output)}: starting from the first row.`);
    return {};
  }
  assertSameJob(checkpoint, job, input ?? undefined, output);
  if ((await exists(output)) && !(await exists(partialPath(output)))) {
    // Killed while publishing the files: the output is complete; publish the error log and forget the checkpoint.
    if (checkpoint.rejects.count > 0 && (await exists(partialPath(`${output}.errors.jsonl`)))) {
      await (await RejectLog.resume(output, checkpoint.rejects)).close();
    }
    await removeCheckpoint(output);
    note(`${output} was complete; finished publishing it.`);
    return { finished: checkpoint.rejects.count > 0 ? EXIT.rowsRejected : EXIT.ok };
  }
  if (checkpoint.rowsDone > 0) note(`resuming after ${checkpoint.rowsDone} committed rows`);
  return { checkpoint };
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
