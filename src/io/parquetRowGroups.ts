/**
 * Row groups of a Parquet file whose vector columns skip hyparquet-writer's per-value work.
 *
 * `ParquetWriter.write` shreds every column with the Dremel algorithm (src/dremel.js), one recursive visit per value,
 * samples each float column for a dictionary, then `writeColumn` splits pages, counts levels and writes PLAIN values
 * one at a time: for 1,024-wide embeddings that was most of the time an `embed` run spent. A column of non-null
 * vectors of one width has levels of a trivial pattern and its values are one Float32Array, so its column chunk is
 * written here page by page from those — the pages, levels, page headers, codec, offset index and column metadata
 * exactly as `writeColumn` makes them for PLAIN values without statistics, with hyparquet-writer's own encoders (RLE
 * levels, page header, compression). Embedding values never repeat, so the dictionary `write` samples for is rejected
 * anyway: for such values the file is the same to the byte (test/io-writers.test.ts checks this against `write`).
 * Every other column goes through hyparquet-writer's `encodeNestedValues` and `writeColumn` as in `write`.
 */
import type { ColumnChunk, OffsetIndex, SchemaElement, SchemaTree } from 'hyparquet';
import { ParquetWriter } from 'hyparquet-writer';
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { encodeNestedValues } from 'hyparquet-writer/src/dremel.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { schemaPathResolver } from 'hyparquet-writer/src/schema.js';

type ColumnEncoder = Parameters<typeof writeColumn>[0]['column'];
type Writer = Parameters<typeof writeColumn>[0]['writer'];
type WrittenColumn = ReturnType<typeof writeColumn>;

/**
 * A column of vectors of one width as Parquet stores it: every value defined at the deepest level (a vector column
 * has no nulls), so only the values, where each row starts and the repetition levels vary.
 */
export interface VectorColumn {
  /** 1: each row one vector (`fixed_size_list<float>`); 2: each row a non-empty list of vectors. */
  depth: 1 | 2;
  values: Float32Array;
  /** Index into `values` of each row's first value. */
  rowStarts: Int32Array;
  repetitionLevels: Uint8Array;
}

/** One column of a row group: values for hyparquet-writer's shredding, or a vector column. */
export type RowGroupColumn = { name: string; statistics: boolean } & ({ data: unknown[] } | { vectors: VectorColumn });

/** `ParquetWriter.write`'s page size (its default). */
const PAGE_SIZE = 1 << 20;
const FLOAT_BYTES = 4;
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

export class ParquetRowGroupWriter extends ParquetWriter {
  private readonly resolve = schemaPathResolver(this.schema);
  private readonly levelPages: LevelPages = new Map();

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
      };
      const result =
        'vectors' in column
          ? writeVectorColumn(this.writer, encoder, column.vectors, this.levelPages)
          : writeColumn({ writer: this.writer, column: encoder, pageData: encodeNestedValues(leaf, column.data) });
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
 * The vector column of `rows` (`depth` 1: each a Float32Array; 2: each a non-empty array of them), every vector `width`
 * long: repetition 0 at a row's first value, 1 at the first value of each further vector of a depth-2 row, `depth`
 * elsewhere — as the Dremel shredding gives it. Undefined when a row does not fit that pattern (an empty list, a null,
 * a vector of another width) or on a big-endian machine: hyparquet-writer's generic path takes the column then.
 */
export function vectorColumn(rows: readonly unknown[], depth: 1 | 2, width: number): VectorColumn | undefined {
  if (width < 1 || !LITTLE_ENDIAN) return undefined;
  let vectors = 0;
  for (const row of rows) {
    const list = depth === 1 ? [row] : row;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    for (const vector of list) if (!(vector instanceof Float32Array) || vector.length !== width) return undefined;
    vectors += list.length;
  }
  const values = new Float32Array(vectors * width);
  const rowStarts = new Int32Array(rows.length);
  const repetitionLevels = new Uint8Array(values.length).fill(depth);
  let at = 0;
  rows.forEach((row, r) => {
    rowStarts[r] = at;
    (depth === 1 ? [row as Float32Array] : (row as Float32Array[])).forEach((vector, i) => {
      repetitionLevels[at] = i === 0 ? 0 : 1;
      values.set(vector, at);
      at += width;
    });
  });
  return { depth, values, rowStarts, repetitionLevels };
}

/** A page's levels, RLE-encoded: repetition levels, then definition levels. */
interface PageLevels {
  bytes: Uint8Array;
  repetitionBytes: number;
  definitionBytes: number;
}

/**
 * Levels of pages of single vectors (depth 1), by "width rows": they depend on nothing else, and a file's full pages
 * all have the same number of rows.
 */
type LevelPages = Map<string, PageLevels>;

const bitWidth = (maxLevel: number): number => Math.ceil(Math.log2(maxLevel + 1));

/** Every value is defined at the deepest level. */
function encodeLevels(repetitionLevels: Uint8Array, depth: number): PageLevels {
  const maxDefinitionLevel = 1 + 2 * depth;
  const levels = new ByteWriter();
  const repetitionBytes = writeRleBitPackedHybrid(levels, repetitionLevels, bitWidth(depth));
  const definitionLevels = new Uint8Array(repetitionLevels.length).fill(maxDefinitionLevel);
  const definitionBytes = writeRleBitPackedHybrid(levels, definitionLevels, bitWidth(maxDefinitionLevel));
  return { bytes: levels.getBytes().slice(), repetitionBytes, definitionBytes };
}

/** `writeColumn` for a vector column: PLAIN, no statistics; data pages v2 split where `getPageBoundaries` splits. */
function writeVectorColumn(writer: Writer, column: ColumnEncoder, vectors: VectorColumn, levelPages: LevelPages): WrittenColumn {
  const { values, rowStarts, repetitionLevels, depth } = vectors;
  const offsetStart = writer.offset;
  const pages = pageStarts(rowStarts, column.pageSize);
  const offsetIndex: OffsetIndex | undefined = pages.length > 1 ? { page_locations: [] } : undefined;
  let uncompressedSize = 0;
  pages.forEach((firstRow, p) => {
    const start = rowStarts[firstRow] as number;
    const end = p + 1 < pages.length ? (rowStarts[pages[p + 1] as number] as number) : values.length;
    const rows = (p + 1 < pages.length ? (pages[p + 1] as number) : rowStarts.length) - firstRow;
    const pageOffset = writer.offset;
    const encode = (): PageLevels => encodeLevels(repetitionLevels.subarray(start, end), depth);
    let levels: PageLevels;
    if (depth === 1) {
      const key = `${(end - start) / rows} ${rows}`;
      levels = levelPages.get(key) ?? encode();
      levelPages.set(key, levels);
    } else {
      levels = encode();
    }
    const plain = new Uint8Array(values.buffer, values.byteOffset + start * FLOAT_BYTES, (end - start) * FLOAT_BYTES);
    const compressed = column.compressors[column.codec]?.(plain) ?? plain;
    writePageHeader(writer, {
      type: 'DATA_PAGE_V2',
      uncompressed_page_size: levels.bytes.length + plain.length,
      compressed_page_size: levels.bytes.length + compressed.length,
      data_page_header_v2: {
        num_values: end - start,
        num_nulls: 0,
        num_rows: rows,
        encoding: 'PLAIN',
        definition_levels_byte_length: levels.definitionBytes,
        repetition_levels_byte_length: levels.repetitionBytes,
        is_compressed: Boolean(column.codec),
      },
    });
    const headerSize = writer.offset - pageOffset;
    writer.appendBytes(levels.bytes);
    writer.appendBytes(compressed);
    uncompressedSize += headerSize + levels.bytes.length + plain.length;
    offsetIndex?.page_locations.push({
      offset: BigInt(pageOffset),
      compressed_page_size: writer.offset - pageOffset,
      first_row_index: BigInt(firstRow),
    });
  });
  const element: SchemaElement = column.element;
  return {
    chunk: {
      meta_data: {
        type: element.type!,
        encodings: ['PLAIN'],
        path_in_schema: column.schemaPath.slice(1).map((s) => s.name),
        codec: column.codec ?? 'UNCOMPRESSED',
        num_values: BigInt(values.length),
        total_compressed_size: BigInt(writer.offset - offsetStart),
        total_uncompressed_size: BigInt(uncompressedSize),
        data_page_offset: BigInt(offsetStart),
      },
      file_offset: BigInt(offsetStart),
    },
    ...(offsetIndex ? { offsetIndex } : {}),
  };
}

/**
 * The first row of each page, as `getPageBoundaries` splits a column's values: a page ends at the first row start
 * where its values (counting the one there) reach `pageSize` bytes.
 */
function pageStarts(rowStarts: Int32Array, pageSize: number): number[] {
  const pages = [0];
  let start = 0;
  rowStarts.forEach((rowStart, row) => {
    if (pageSize && rowStart > start && (rowStart - start + 1) * FLOAT_BYTES >= pageSize) {
      pages.push(row);
      start = rowStart;
    }
  });
  return pages;
}
