/**
 * Row groups of a Parquet file whose vector columns skip hyparquet-writer's generic shredding.
 *
 * `ParquetWriter.write` shreds every column with the Dremel algorithm (src/dremel.js), one recursive visit per value,
 * then samples each float column for a dictionary: for 1,024-wide embeddings that is most of the time an `embed` run
 * spends. A column of non-null vectors of one width has levels of a trivial pattern, so its page data is built here
 * directly — the floats in one Float32Array, the levels filled in — and written PLAIN by hyparquet-writer's own
 * `writeColumn`, pages, codec, offset index and footer exactly as `write` makes them. Embedding values never repeat,
 * so the dictionary `write` would sample for is rejected anyway: for such values the file is the same to the byte
 * (test/io-writers.test.ts checks this against `write`).
 */
import type { ColumnChunk, SchemaTree } from 'hyparquet';
import { ParquetWriter } from 'hyparquet-writer';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { encodeNestedValues } from 'hyparquet-writer/src/dremel.js';
import { schemaPathResolver } from 'hyparquet-writer/src/schema.js';

type PageData = Parameters<typeof writeColumn>[0]['pageData'];
type ColumnEncoder = Parameters<typeof writeColumn>[0]['column'];

/** One column of a row group: values for the generic shredding, or page data already shredded (written PLAIN). */
export type RowGroupColumn = { name: string; statistics: boolean } & ({ data: unknown[] } | { pageData: PageData });

/** `ParquetWriter.write`'s page size (its default). */
const PAGE_SIZE = 1 << 20;

export class ParquetRowGroupWriter extends ParquetWriter {
  private readonly resolve = schemaPathResolver(this.schema);

  /** Writes `rows` rows as one row group, as `write({ columnData, rowGroupSize: rows })` does. */
  writeRowGroup(columns: readonly RowGroupColumn[], rows: number): void | Promise<void> {
    const groupStart = this.writer.offset;
    const chunks: ColumnChunk[] = [];
    for (const column of columns) {
      const leaf = leafPath(this.resolve([column.name]));
      const schemaPath = leaf.map((node) => node.element);
      const encoder: ColumnEncoder = {
        columnName: schemaPath.slice(1).map((element) => element.name).join('.'),
        element: schemaPath[schemaPath.length - 1]!,
        schemaPath,
        codec: this.codec,
        compressors: this.compressors,
        stats: column.statistics,
        statisticsTruncateLength: this.statisticsTruncateLength,
        pageSize: PAGE_SIZE,
        columnIndex: false,
        offsetIndex: true,
        // Pre-shredded vectors: no dictionary sampling (see the top of the file).
        ...('pageData' in column ? { encoding: 'PLAIN' as const } : {}),
      };
      const pageData = 'pageData' in column ? column.pageData : encodeNestedValues(leaf, column.data);
      const result = writeColumn({ writer: this.writer, column: encoder, pageData });
      chunks.push(result.chunk);
      this.pendingIndexes.push(result);
    }
    let totalBytes = 0n;
    for (const { meta_data } of chunks) totalBytes += meta_data?.total_uncompressed_size ?? 0n;
    this.num_rows += BigInt(rows);
    this.row_groups.push({
      columns: chunks,
      total_byte_size: totalBytes,
      num_rows: BigInt(rows),
      total_compressed_size: BigInt(this.writer.offset - groupStart),
    });
    return this.writer.flush?.();
  }
}

/** Our columns are chains of single children: a list's group, its repeated group, its element. */
function leafPath(path: SchemaTree[]): SchemaTree[] {
  const leaf = [...path];
  for (let node = leaf[leaf.length - 1]; node && node.children.length > 0; node = node.children[0]) {
    leaf.push(node.children[0]!);
  }
  return leaf;
}

/**
 * Page data of a column of vectors (`depth` 1: each row one Float32Array, `fixed_size_list<float>`) or of lists of
 * vectors (`depth` 2: each row a non-empty array of them), every vector `width` long, none null — as the Dremel
 * shredding gives it: every value defined at the deepest level; repetition 0 at a row's first value, 1 at the first
 * value of each further vector of a depth-2 row, `depth` elsewhere. Undefined when a row does not fit that pattern (an
 * empty list, a vector of another width): the generic shredding takes the column then.
 */
export function vectorPageData(rows: readonly unknown[], depth: 1 | 2, width: number): PageData | undefined {
  if (width < 1) return undefined;
  let vectors = 0;
  for (const row of rows) {
    const list = depth === 1 ? [row] : row;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    for (const vector of list) if (!(vector instanceof Float32Array) || vector.length !== width) return undefined;
    vectors += list.length;
  }
  const values = new Float32Array(vectors * width);
  const repetitionLevels = new Uint8Array(values.length).fill(depth);
  let at = 0;
  for (const row of rows) {
    repetitionLevels[at] = 0;
    for (const [i, vector] of (depth === 1 ? [row] : (row as Float32Array[])).entries()) {
      if (i > 0) repetitionLevels[at] = 1;
      values.set(vector as Float32Array, at);
      at += width;
    }
  }
  const maxDefinitionLevel = 1 + 2 * depth;
  return {
    values,
    // hyparquet-writer reads levels only by index, length and slice: typed arrays serve, at an eighth of the memory.
    definitionLevels: new Uint8Array(values.length).fill(maxDefinitionLevel) as unknown as number[],
    repetitionLevels: repetitionLevels as unknown as number[],
    maxDefinitionLevel,
  };
}
