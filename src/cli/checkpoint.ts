/**
 * `<output>.progress.json`, the run's record: what a run has committed — input rows done, committed length of every
 * output file, writer state — rewritten after each chunk (written to a temporary name, fsynced, renamed: a reader sees
 * the old or the new checkpoint, never half of one). `--resume` continues from it: the partial files are cut back to
 * the committed lengths and that many input rows are skipped, so the final files are byte-identical to an
 * uninterrupted run. It also records the options and the input's size and time, and refuses to resume a different job.
 *
 * When the run completes, the record stays, marked `finished` with the output's size and time: `--resume` onto a
 * finished output then checks the options as for an unfinished one, and `igbert merge` checks its shards with it.
 */
import { readFile, rm } from 'node:fs/promises';
import { FileError, UsageError } from '../errors.js';
import { writeFileAtomically } from '../io/atomicFile.js';
import { writeError } from '../io/partialFile.js';
import type { WriterCheckpoint } from '../io/resultWriter.js';
import type { RejectCheckpoint } from './rejects.js';

export interface JobCheckpoint {
  format: 'igbert-progress';
  version: 1;
  /** The options that define the output (see pipelineOptionsFrom); a resumed run must give the same. */
  job: Record<string, unknown>;
  input: FileIdentity | null;
  /** Input rows of this shard read and committed (rejected rows included). */
  rowsDone: number;
  output: WriterCheckpoint;
  rejects: RejectCheckpoint;
  /** Set once the output is published: its size and modification time then. */
  finished?: FileIdentity;
}

export interface FileIdentity {
  size: number;
  mtimeMs: number;
}

export const progressPath = (output: string): string => `${output}.progress.json`;

export async function readCheckpoint(output: string): Promise<JobCheckpoint | undefined> {
  const path = progressPath(output);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const checkpoint = JSON.parse(text) as JobCheckpoint;
    if (checkpoint.format !== 'igbert-progress' || checkpoint.version !== 1) throw new Error('not an igbert progress file');
    return checkpoint;
  } catch (cause) {
    throw new FileError(`${path} is damaged (${(cause as Error).message}); delete it and run again without --resume.`, { cause });
  }
}

export async function writeCheckpoint(output: string, checkpoint: JobCheckpoint): Promise<void> {
  const path = progressPath(output);
  try {
    await writeFileAtomically(path, JSON.stringify(checkpoint) + '\n', { durable: true });
  } catch (cause) {
    throw writeError(path, cause);
  }
}

export async function removeCheckpoint(output: string): Promise<void> {
  await rm(progressPath(output), { force: true });
  // The temporary name versions before writeFileAtomically used (a crash could leave it); today's are unique, and
  // those of a writer killed mid-write are removed when the next run starts (startPoint).
  await rm(`${progressPath(output)}.tmp`, { force: true });
}

/** The options whose values differ between two jobs (keys in `ignore` left out), sorted. */
export function differingOptions(a: Record<string, unknown>, b: Record<string, unknown>, ignore: readonly string[] = []): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => !ignore.includes(key)).sort();
  return keys.filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

export const sameIdentity = (a: FileIdentity | null | undefined, b: FileIdentity | null | undefined): boolean =>
  !a || !b || (a.size === b.size && a.mtimeMs === b.mtimeMs);

/** Throws a UsageError naming what differs when a checkpoint belongs to another job or another version of the input. */
export function assertSameJob(checkpoint: JobCheckpoint, job: Record<string, unknown>, input: FileIdentity | undefined, output: string): void {
  const run = checkpoint.finished ? 'the run that made it' : 'the interrupted run';
  const restart = `Run with the same options to resume, or without --resume to start over.`;
  const differing = differingOptions(checkpoint.job, job);
  if (differing.length > 0) {
    const detail = differing
      .map((key) => `${key}: was ${JSON.stringify(checkpoint.job[key]) ?? 'unset'}, now ${JSON.stringify(job[key]) ?? 'unset'}`)
      .join('; ');
    throw new UsageError(`cannot resume ${output}: ${run} had other options (${detail}). ${restart}`);
  }
  if (!sameIdentity(checkpoint.input, input)) {
    throw new UsageError(`cannot resume ${output}: the input file changed since ${run}. ${restart}`);
  }
}
