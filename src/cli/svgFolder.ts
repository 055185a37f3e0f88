/** A folder of per-antibody SVG figures (--plot, --heatmap): one file per record, named after its id. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError } from '../errors.js';

export class SvgFolder {
  private readonly used = new Set<string>();
  private ready: Promise<void> | undefined;

  constructor(readonly path: string) {}

  /**
   * Writes <id>.svg; characters unsafe in file names become "_", and a name already written in this run gets the
   * input row number appended, so no figure overwrites another.
   */
  async write(id: string, row: number, svg: string): Promise<string> {
    this.ready ??= mkdir(this.path, { recursive: true }).then(
      () => undefined,
      (cause) => {
        throw new FileError(`cannot create the figure folder ${this.path}: ${(cause as Error).message}`, { cause });
      },
    );
    await this.ready;
    let name = id.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_').slice(0, 120) || `row-${row}`;
    if (this.used.has(name.toLowerCase())) name = `${name}-row${row}`;
    this.used.add(name.toLowerCase());
    const file = join(this.path, `${name}.svg`);
    try {
      await writeFile(file, svg);
    } catch (cause) {
      throw new FileError(`cannot write ${file}: ${(cause as Error).message}`, { cause });
    }
    return file;
  }
}
