/**
 * Result rows → one Parquet file, through hyparquet-writer. Column types are learnt from the values (see `kindOf`)
 * and kept in a small JSON state so that a resumed run and `igbert merge` reach the same schema as one uninterrupted
 * run. Float32Array columns become fixed-size lists of float32 (the `ARROW:schema` key tells pyarrow and polars the
 * size); arrays of Float32Arrays become lists of them; other arrays and objects are stored as JSON text.
 *
 * Row groups close at 65,536 rows or 1 Mi float values (4 MiB), whichever comes first: a function of the rows alone, so the
 * same rows always give the same bytes.
 */
import { fileWriter } from 'hyparquet-writer';
import type { KeyValue, SchemaElement } from 'hyparquet';
import { UsageError } from '../errors.js';
import { arrowSchemaBase64, type ArrowField, type ArrowType } from './arrowSchema.js';
import { jsonValue } from './jsonValue.js';
import { ParquetRowGroupWriter, vectorColumn, type RowGroupColumn } from './parquetRowGroups.js';

/** 'null' = only nulls seen so far; 'vector' = Float32Array; 'vectors' = array of Float32Arrays. */
export type ColumnKind = 'null' | 'string' | 'int' | 'double' | 'bool' | 'vector' | 'vectors';

export interface ParquetColumn {
  name: string;
  kind: ColumnKind;
  /** Length of every vector in a 'vector' or 'vectors' column (unknown while a 'vectors' column held only []). */
  width?: number;
}

export const COLUMNS_METADATA_KEY = 'igbert:columns';
const MAX_GROUP_ROWS = 65_536;
const MAX_GROUP_FLOATS = 1 << 20;

function kindOf(value: unknown): { kind: ColumnKind; width?: number } {
  if (value === null || value === undefined) return { kind: 'null' };
  if (typeof value === 'string') return { kind: 'string' };
  if (typeof value === 'boolean') return { kind: 'bool' };
  if (typeof value === 'number') return { kind: Number.isSafeInteger(value) ? 'int' : 'double' };
  if (value instanceof Float32Array) return { kind: 'vector', width: value.length };
  if (Array.isArray(value) && value.every((item) => item instanceof Float32Array)) {
    const first = value[0] as Float32Array | undefined;
    return first ? { kind: 'vectors', width: first.length } : { kind: 'vectors' };
  }
  return { kind: 'string' }; // other arrays and objects: JSON text (see `storedValue`)
}

/** Merges what a column has held so far with one more value (or another shard's column); throws on a conflict. */
export function widenColumn(column: ParquetColumn, seen: { kind: ColumnKind; width?: number }, where: string): ParquetColumn {
  const conflict = (detail: string): never => {
    throw new UsageError(
      `column ${JSON.stringify(column.name)} ${detail} (${where}); Parquet needs one type per column. Write .jsonl instead.`,
    );
  };
  let kind = column.kind;
  if (seen.kind !== 'null' && kind !== seen.kind) {
    if (kind === 'null') kind = seen.kind;
    else if ((kind === 'int' && seen.kind === 'double') || (kind === 'double' && seen.kind === 'int')) kind = 'double';
    else conflict(`holds both ${kind} and ${seen.kind} values`);
  }
  const width = column.width ?? seen.width;
  if (column.width !== undefined && seen.width !== undefined && column.width !== seen.width) {
    conflict(`holds vectors of ${column.width} and of ${seen.width} values`);
  }
  return { name: column.name, kind, ...(width !== undefined ? { width } : {}) };
}

/** Updates the columns with one row (names and order come from the first row) and returns its stored values. */
export function addRow(columns: ParquetColumn[], row: Record<string, unknown>, rowNumber: number): unknown[] {
  const where = `output row ${rowNumber}`;
  if (columns.length === 0) {
    for (const [name, value] of Object.entries(row)) if (value !== undefined) columns.push({ name, kind: 'null' });
  }
  for (const name of Object.keys(row)) {
    if (row[name] !== undefined && !columns.some((column) => column.name === name)) {
      throw new UsageError(`${where} has a column ${JSON.stringify(name)} that the first row did not have; write .jsonl instead.`);
    }
  }
  return columns.map((column, i) => {
    const value = row[column.name];
    if (value === null && (column.kind === 'vector' || column.kind === 'vectors')) {
      throw new UsageError(`column ${JSON.stringify(column.name)} is null in ${where}; Parquet vectors cannot be missing.`);
    }
    columns[i] = widenColumn(column, kindOf(value), where);
    return storedValue(value);
  });
}

function storedValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || value instanceof Float32Array) return value;
  if (Array.isArray(value) && value.every((item) => item instanceof Float32Array)) return value;
  return jsonValue(value);
}

const optional = (element: SchemaElement): SchemaElement => ({ ...element, repetition_type: 'OPTIONAL' });
const listGroup = (name: string): SchemaElement[] => [
  optional({ name, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 }),
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
];
const floatElement = optional({ name: 'element', type: 'FLOAT' });

function schemaElements(column: ParquetColumn): SchemaElement[] {
  switch (column.kind) {
    case 'null':
    case 'string':
      return [optional({ name: column.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } })];
    case 'int':
      return [optional({ name: column.name, type: 'INT64' })];
    case 'double':
      return [optional({ name: column.name, type: 'DOUBLE' })];
    case 'bool':
      return [optional({ name: column.name, type: 'BOOLEAN' })];
    case 'vector':
      return [...listGroup(column.name), floatElement];
    case 'vectors':
      return [...listGroup(column.name), ...listGroup('element'), floatElement];
  }
}

function arrowField(column: ParquetColumn): ArrowField {
  const field = (name: string, type: ArrowType): ArrowField => ({ name, nullable: true, type });
  const vector = (): ArrowType =>
    column.width === undefined
      ? { type: 'list', item: field('element', { type: 'float32' }) }
      : { type: 'fixedSizeList', size: column.width, item: field('element', { type: 'float32' }) };
  switch (column.kind) {
    case 'null':
    case 'string':
      return field(column.name, { type: 'utf8' });
    case 'int':
      return field(column.name, { type: 'int64' });
    case 'double':
      return field(column.name, { type: 'float64' });
    case 'bool':
      return field(column.name, { type: 'bool' });
    case 'vector':
      return field(column.name, vector());
    case 'vectors':
      return field(column.name, { type: 'list', item: field('element', vector()) });
  }
}

/** hyparquet-writer's in-memory form of one stored value. */
function columnValue(column: ParquetColumn, value: unknown): unknown {
  const kind = column.kind;
  if (value === null) {
    if (kind === 'vector' || kind === 'vectors') {
      throw new UsageError(`column ${JSON.stringify(column.name)} has missing values; Parquet vectors cannot be missing.`);
    }
    return null;
  }
  switch (kind) {
    case 'int':
      return BigInt(value as number);
    case 'vector':
      return Array.from(value as Float32Array);
    case 'vectors':
      return (value as Float32Array[]).map((vector) => Array.from(vector));
    default:
      return value;
  }
}

function floatCount(values: readonly unknown[]): number {
  let count = 0;
  for (const value of values) {
    if (value instanceof Float32Array) count += value.length;
    else if (Array.isArray(value)) for (const item of value) if (item instanceof Float32Array) count += item.length;
  }
  return count;
}

/** The schema and key-value metadata of a file with these columns. */
export function parquetLayout(columns: readonly ParquetColumn[]): { schema: SchemaElement[]; kvMetadata: KeyValue[] } {
  return {
    schema: [{ name: 'schema', num_children: columns.length }, ...columns.flatMap(schemaElements)],
    kvMetadata: [
      { key: 'ARROW:schema', value: arrowSchemaBase64(columns.map(arrowField)) },
      { key: COLUMNS_METADATA_KEY, value: JSON.stringify(columns) },
    ],
  };
}

/** One column of a row group: vectors written directly (see parquetRowGroups.ts), other values as hyparquet-writer takes them. */
function groupColumn(column: ParquetColumn, values: unknown[]): RowGroupColumn {
  const vectors = column.kind === 'vector' || column.kind === 'vectors';
  // Statistics over embedding values help no query and cost a pass over every float.
  const statistics = !vectors;
  const direct = vectors && column.width !== undefined ? vectorColumn(values, column.kind === 'vector' ? 1 : 2, column.width) : undefined;
  if (direct) return { name: column.name, statistics, vectors: direct };
  return { name: column.name, statistics, data: values.map((value) => columnValue(column, value)) };
}

/**
 * A Parquet file built from stored rows (from `addRow`) as they come, one row group whenever one is full, under the
 * schema of the columns as they stand then. Column types are learnt from the values, so a later row may widen one
 * (int to double, a column null so far); the groups already written would no longer fit the schema, and the
 * assembly is given up (`finish` answers false): the caller writes the file again from its rows. Otherwise the file
 * is the same as one written knowing the final columns from the start, to the byte.
 */
export class ParquetAssembly {
  private writer: ParquetRowGroupWriter | undefined;
  /** The schema the groups written so far follow. */
  private schemaText: string | undefined;
  private group: unknown[][] = [];
  private groupFloats = 0;
  private givenUp = false;

  constructor(private readonly path: string) {}

  /** Adds a row; `columns` are the columns as they stand after it. */
  async add(row: unknown[], columns: readonly ParquetColumn[]): Promise<void> {
    if (this.givenUp) return;
    this.group.push(row);
    this.groupFloats += floatCount(row);
    if (this.group.length >= MAX_GROUP_ROWS || this.groupFloats >= MAX_GROUP_FLOATS) await this.flush(columns);
  }

  private async flush(columns: readonly ParquetColumn[]): Promise<void> {
    const group = this.group;
    this.group = [];
    this.groupFloats = 0;
    if (group.length === 0 || !this.follows(columns)) return;
    this.writer ??= new ParquetRowGroupWriter({ writer: fileWriter(this.path), ...parquetLayout(columns), createdBy: 'igbert' });
    await this.writer.writeRowGroup(
      columns.map((column, i) => groupColumn(column, group.map((row) => row[i]))),
      group.length,
    );
  }

  /** Whether `columns` have the schema of the groups written so far; gives up when they do not. */
  private follows(columns: readonly ParquetColumn[]): boolean {
    const text = JSON.stringify(parquetLayout(columns).schema);
    this.schemaText ??= text;
    if (text !== this.schemaText && !this.givenUp) {
      this.givenUp = true;
      this.writer = undefined;
    }
    return !this.givenUp;
  }

  /** Writes the last group and the footer for the final `columns`; false when the assembly was given up. */
  async finish(columns: readonly ParquetColumn[]): Promise<boolean> {
    await this.flush(columns);
    if (this.givenUp || !this.follows(columns)) return false;
    const layout = parquetLayout(columns);
    this.writer ??= new ParquetRowGroupWriter({ writer: fileWriter(this.path), ...layout, createdBy: 'igbert' });
    // The footer's metadata holds the final column types (a vector column's width, a column no longer only null).
    this.writer.kvMetadata = layout.kvMetadata;
    await this.writer.finish();
    return true;
  }
}

/** Writes stored rows (from `addRow`) with these columns to `path`, row group by row group. */
export async function writeParquetFile(path: string, columns: readonly ParquetColumn[], rows: AsyncIterable<unknown[]>): Promise<void> {
  const assembly = new ParquetAssembly(path);
  for await (const row of rows) await assembly.add(row, columns);
  await assembly.finish(columns);
}
