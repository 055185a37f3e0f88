/**
 * Writes a file so that a reader sees the old content or the new one, never a part of it: the bytes go to a
 * temporary file beside the target (a unique hidden name, created exclusively, so two writers never share one),
 * optionally flushed to disk, then renamed over the target. On any failure the temporary file is removed and the
 * error is rethrown as it came: callers say what the file was for.
 */
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /**
   * fsync before the rename, so that the new content survives a crash of the machine once this returns (job
   * checkpoints, model files). Default false: caches that can be rebuilt skip the flush.
   */
  durable?: boolean;
}

/** A temporary file's name: this prefix, then `<pid>.<time>.<random>.tmp` (unique, and tells whose it is). */
const temporaryPrefix = (path: string): string => `.${basename(path)}.`;

export async function writeFileAtomically(
  path: string,
  data: string | Uint8Array | Iterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const temporary = join(dirname(path), `${temporaryPrefix(path)}${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const chunks = typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
  try {
    const handle = await open(temporary, 'wx');
    try {
      let position = 0;
      for (const chunk of chunks) {
        for (let done = 0; done < chunk.byteLength; ) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
      }
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Removes the temporary files that writers of `path` killed mid-write (SIGKILL, power loss) left beside it: the
 * hidden `.<name>.<pid>.<time>.<random>.tmp` files of writeFileAtomically whose process no longer runs. A live
 * process's temporary file (a write in flight) is left alone. Returns the names removed.
 */
export async function removeStaleTemporaries(path: string): Promise<string[]> {
  const folder = dirname(path);
  const prefix = temporaryPrefix(path);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)\.\d+\.[a-z0-9]*\.tmp$/.exec(name.slice(prefix.length));  // pid.time.random.tmp
    if (!match || processIsAlive(Number(match[1]))) continue;
    await rm(join(folder, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
