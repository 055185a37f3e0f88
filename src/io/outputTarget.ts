/**
 * Where an output goes, decided once, before any work, by what the path is — so that no command ever destroys a file:
 *
 * - `-`, or the very file stdout is (`/dev/stdout`): stdout, a stream.
 * - a FIFO, or `/dev/null`: a stream — bytes written as they come, no partial file, nothing renamed, no --resume.
 * - a regular file, or a name that does not exist yet: a file, built as `<file>.partial` and renamed into place.
 *   Through a symbolic link, the file is the link's target: the link stays a link.
 * - a folder or any other device: refused.
 *
 * And no file a command writes may be one of its inputs (same path, or the same file through a link).
 */
import { fstatSync, type Stats } from 'node:fs';
import { lstat, readlink, rename, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileError, UsageError } from '../errors.js';

export interface OutputTarget {
  /** The path as given (messages). */
  given: string;
  /** Where the bytes go: a file's path with symbolic links followed, a stream's path, or "-" for stdout. */
  path: string;
  kind: 'file' | 'stream';
}

export const STDOUT: OutputTarget = { given: '-', path: '-', kind: 'stream' };

/** A target from a plain path, without looking at the file system (library callers and tests): "-" is stdout. */
export function plainTarget(place: OutputTarget | string): OutputTarget {
  if (typeof place !== 'string') return place;
  return place === '-' ? STDOUT : { given: place, path: place, kind: 'file' };
}

/** Resolves `given` (see above); with `inputs`, a file target that is one of them is refused (see assertNotAnInput). */
export async function resolveOutputTarget(given: string, inputs: readonly string[] = []): Promise<OutputTarget> {
  const target = await resolveTarget(given);
  if (target.kind === 'file') await assertNotAnInput([target.path], inputs);
  return target;
}

async function resolveTarget(given: string): Promise<OutputTarget> {
  if (given === '-') return STDOUT;
  const info = await statOrUndefined(given, stat);
  if (!info) {
    // A new file, or a symbolic link to a file that does not exist yet: written where the link points.
    const path = await linkTarget(given);
    const folder = await statOrUndefined(dirname(path), stat);
    if (!folder?.isDirectory()) {
      throw new FileError(`cannot write ${given}: the folder ${dirname(path)} does not exist; create it first.`);
    }
    return { given, path, kind: 'file' };
  }
  if (info.isFile()) return { given, path: await linkTarget(given), kind: 'file' };
  if (info.isDirectory()) throw new UsageError(`output ${given} is a folder; name a file in it.`);
  if (sameFile(info, stdoutStats())) return { ...STDOUT, given };
  if (info.isFIFO() || (info.isCharacterDevice() && sameFile(info, await statOrUndefined('/dev/null', stat)))) {
    return { given, path: given, kind: 'stream' };
  }
  throw new UsageError(`output ${given} is a device; write to a file, to stdout ("-"), to a FIFO or to /dev/null.`);
}

/**
 * Refuses when one of `written` (the files a command will write) is one of `inputs`: the same path, or the same file
 * through a symbolic or hard link. `role` names what the inputs are in the message ("input", "head", ...).
 */
export async function assertNotAnInput(written: readonly string[], inputs: readonly string[], role = 'input'): Promise<void> {
  const read: { path: string; info: Stats }[] = [];
  for (const path of inputs) {
    const info = path === '-' ? undefined : await statOrUndefined(path, stat).catch(() => undefined);
    if (info) read.push({ path, info });
  }
  for (const path of written) {
    const info = path === '-' ? undefined : await statOrUndefined(path, stat).catch(() => undefined);
    const input = info && read.find((candidate) => sameFile(candidate.info, info));
    if (input) {
      const how = resolve(input.path) === resolve(path) ? '' : ' (the same file, through a link)';
      throw new UsageError(`${path} is also the ${role} ${input.path}${how}: writing it would destroy it. Write to another file.`);
    }
  }
}

/**
 * Refuses when one of `written` would land inside one of `folders` (the model folder: a result file must not replace
 * its config.json or weights), at any depth, also through links. Names that are not folders are passed over.
 */
export async function assertOutsideFolders(written: readonly string[], folders: readonly string[], role: string): Promise<void> {
  const guarded: { path: string; info: Stats }[] = [];
  for (const path of folders) {
    const info = await statOrUndefined(path, stat).catch(() => undefined);
    if (info?.isDirectory()) guarded.push({ path, info });
  }
  if (guarded.length === 0) return;
  for (const path of written) {
    for (let folder = dirname(resolve(path)); ; folder = dirname(folder)) {
      const info = await statOrUndefined(folder, stat).catch(() => undefined);
      const inside = info && guarded.find((candidate) => sameFile(candidate.info, info));
      if (inside) throw new UsageError(`${path} is inside the ${role} ${inside.path}: writing it could destroy the ${role}. Write to another folder.`);
      if (dirname(folder) === folder) break;
    }
  }
}

/**
 * Renames a finished file into place, but never over something that is not a regular file (a FIFO, a device, a
 * folder or a link that appeared since the target was resolved): that is left as it is, and the result stays at `from`.
 */
export async function publishFile(from: string, to: string): Promise<void> {
  const existing = await statOrUndefined(to, lstat);
  if (existing && !existing.isFile()) {
    throw new FileError(`${to} is not a regular file (${kindOf(existing)}); it was left as it is, and the result is in ${from}.`);
  }
  await rename(from, to);
}

/** Follows symbolic links as far as they go, also when the last one points to nothing yet; `path` when it is no link. */
async function linkTarget(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    const info = await statOrUndefined(current, lstat);
    if (!info?.isSymbolicLink()) return current;
    current = resolve(dirname(current), await readlink(current));
  }
  throw new FileError(`cannot write ${path}: too many levels of symbolic links.`);
}

async function statOrUndefined(path: string, how: typeof stat | typeof lstat): Promise<Stats | undefined> {
  try {
    return await how(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new FileError(`cannot use ${path}: ${(cause as Error).message}`, { cause });
  }
}

function stdoutStats(): Stats | undefined {
  try {
    return fstatSync(1);
  } catch {
    return undefined;
  }
}

function sameFile(a: Stats | undefined, b: Stats | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}
