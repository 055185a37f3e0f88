/**
 * What every result writer is (resultWriter.ts opens them; npyWriter.ts and parquetWriter.ts are two of them): the
 * interface, its checkpoint, and the file facts the writers and merge share. A module of its own so that the writers
 * and the module that chooses among them do not import each other.
 */

export type ResultRow = Record<string, unknown>;

export interface WriterCheckpoint {
  /** Committed length of each file, by role ("body", "ids"). */
  files: Record<string, number>;
  state?: unknown;
}

export interface ResultWriter {
  write(row: ResultRow): Promise<void>;
  commit(): Promise<WriterCheckpoint>;
  /** Completes the files (NPY header, Parquet footer) and renames them into place. */
  finish(): Promise<void>;
  /** Closes without publishing; `remove` deletes the partial files too. */
  abandon(remove: boolean): Promise<void>;
}

/** The NPY writer's second file: ids and the other scalar columns, one CSV row per matrix row. */
export function npyIdsPath(path: string): string {
  return `${path.replace(/\.npy$/i, '')}.ids.csv`;
}

/** The committed length of one of a writer's files ("body", "ids") in a checkpoint; undefined for a fresh run. */
export function committedLength(resume: WriterCheckpoint | undefined, role: string): number | undefined {
  return resume && (resume.files[role] ?? 0);
}
