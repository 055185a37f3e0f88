/** Whether something is at `path`, following links (a link whose target is gone does not count). Node only. */
import { access } from 'node:fs/promises';

export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
