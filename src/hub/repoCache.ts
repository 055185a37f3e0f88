/**
 * One model repository in the huggingface_hub cache, laid out exactly as the Python library lays it out
 * (file_download.py: `_hf_hub_download_to_cache_dir`, `_create_symlink`, `_cache_commit_hash_for_specific_revision`):
 *
 *   <cache>/models--<org>--<name>/
 *     blobs/<etag>                      file contents; etag = sha256 for LFS files, git blob sha1 for the others
 *     snapshots/<commit>/<file>         relative symlink to ../../blobs/<etag>
 *     refs/<branch or tag>              the commit hash it pointed to, without a newline
 *     .no_exist/<commit>/<file>         empty marker: the Hub said 404 for this optional file at this commit
 *
 * so that Python finds what igbert downloaded and igbert finds what Python downloaded. Python's advisory .locks/
 * are not taken: correctness never depended on them, since every blob is written under a unique temporary name and
 * renamed into place (Python's own comment says the same).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomically } from '../io/atomicFile.js';
import { pathExists } from '../io/pathExists.js';

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** huggingface_hub's CACHEDIR.TAG, so that backup tools skip the cache. */
const CACHEDIR_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n' +
  '# This file is a cache directory tag created by huggingface_hub.\n' +
  '# For information about cache directory tags, see:\n' +
  '#\thttps://bford.info/cachedir/\n';

/** A fresh name beside `path`, so that concurrent writers (igbert or Python) never share a temporary file. */
export function temporaryPath(path: string, suffix: string): string {
  return `${path}.${randomBytes(4).toString('hex')}.${suffix}`;
}

export class RepoCache {
  /** `<cache>/models--<org>--<name>` */
  readonly folder: string;

  constructor(
    readonly cacheDir: string,
    readonly repo: string,
  ) {
    // Absolute, as Python resolves it, so that link targets compare equal however the cache was named.
    this.folder = resolve(cacheDir, ['models', ...repo.split('/')].join('--'));
  }

  blobPath(etag: string): string {
    return join(this.folder, 'blobs', etag);
  }

  snapshotDir(commit: string): string {
    return join(this.folder, 'snapshots', commit);
  }

  /** The commit a branch or tag pointed to when it was last resolved, if the cache has it. */
  async readRef(revision: string): Promise<string | undefined> {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const commit = (await readFile(join(this.folder, 'refs', revision), 'utf8')).trim();
      return COMMIT_HASH.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records `revision` -> `commit`, atomically so that a reader never sees a half-written ref. */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit || (await this.readRef(revision)) === commit) return;
    const path = join(this.folder, 'refs', revision);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomically(path, commit);
  }

  hasSnapshot(commit: string): Promise<boolean> {
    return pathExists(this.snapshotDir(commit));
  }

  hasFile(commit: string, file: string): Promise<boolean> {
    return pathExists(join(this.snapshotDir(commit), file));
  }

  hasBlob(etag: string): Promise<boolean> {
    return pathExists(this.blobPath(etag));
  }

  /** Whether the Hub said 404 for `file` at `commit` (recorded by igbert, or by Python for transformers). */
  isKnownAbsent(commit: string, file: string): Promise<boolean> {
    return pathExists(join(this.folder, '.no_exist', commit, file));
  }

  async markAbsent(commit: string, file: string): Promise<void> {
    const path = join(this.folder, '.no_exist', commit, file);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, '');
    } catch {
      // Only saves a request next time; Python ignores this failure too.
    }
  }

  /** Makes `snapshots/<commit>/<file>` point at `blobs/<etag>`: a relative symlink, or a copy where links fail. */
  async link(commit: string, file: string, etag: string): Promise<void> {
    const pointer = join(this.snapshotDir(commit), file);
    const blob = this.blobPath(etag);
    const target = relative(dirname(pointer), blob);
    await mkdir(dirname(pointer), { recursive: true });
    try {
      if ((await lstat(pointer)).isSymbolicLink() && resolve(dirname(pointer), await readlink(pointer)) === blob) return;
      await rm(pointer, { force: true });
    } catch {
      // no pointer yet
    }
    try {
      await symlink(target, pointer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return; // another process linked it meanwhile (to the same content-named blob)
      // Windows without Developer Mode, or a file system without links: Python copies the blob too.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EINVAL') throw error;
      const temporary = temporaryPath(pointer, 'tmp');
      await copyFile(blob, temporary);
      await rename(temporary, pointer);
    }
  }

  async prepare(): Promise<void> {
    await mkdir(join(this.folder, 'blobs'), { recursive: true });
    const tag = resolve(this.cacheDir, 'CACHEDIR.TAG');
    if (!(await pathExists(tag))) await writeFile(tag, CACHEDIR_TAG).catch(() => undefined);
  }
}
