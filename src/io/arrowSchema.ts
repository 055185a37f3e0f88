/**
 * The `ARROW:schema` key of a Parquet footer: the Arrow schema of the table, as an IPC-encapsulated flatbuffer
 * Schema message in base64. Parquet itself has no fixed-size list; with this key pyarrow (and pandas, polars through
 * it) read an embedding column back as `fixed_size_list<float>[H]` instead of a variable `list<float>`, exactly as a
 * file written by pyarrow would. Table layouts follow format/Schema.fbs and format/Message.fbs of apache/arrow.
 */
import { Builder } from 'flatbuffers';

export type ArrowType =
  | { type: 'utf8' }
  | { type: 'bool' }
  | { type: 'int64' }
  | { type: 'float32' }
  | { type: 'float64' }
  | { type: 'list'; item: ArrowField }
  | { type: 'fixedSizeList'; size: number; item: ArrowField };

export interface ArrowField {
  name: string;
  nullable: boolean;
  type: ArrowType;
}

// Schema.fbs `union Type` members and enums used here.
const TYPE_ID = { int64: 2, float32: 3, float64: 3, utf8: 5, bool: 6, list: 12, fixedSizeList: 16 } as const;
const PRECISION = { float32: 1, float64: 2 } as const;
const METADATA_VERSION_V5 = 4;
const MESSAGE_HEADER_SCHEMA = 1;
const CONTINUATION = 0xffffffff;

function typeTable(builder: Builder, type: ArrowType): number {
  switch (type.type) {
    case 'utf8':
    case 'bool':
    case 'list':
      builder.startObject(0);
      return builder.endObject();
    case 'int64':
      builder.startObject(2);
      builder.addFieldInt32(0, 64, 0); // bitWidth
      builder.addFieldInt8(1, 1, 0); // is_signed
      return builder.endObject();
    case 'float32':
    case 'float64':
      builder.startObject(1);
      builder.addFieldInt16(0, PRECISION[type.type], 0);
      return builder.endObject();
    case 'fixedSizeList':
      builder.startObject(1);
      builder.addFieldInt32(0, type.size, 0); // listSize
      return builder.endObject();
  }
}

function offsetVector(builder: Builder, offsets: number[]): number {
  builder.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) builder.addOffset(offsets[i] as number);
  return builder.endVector();
}

function fieldTable(builder: Builder, field: ArrowField): number {
  const item = field.type.type === 'list' || field.type.type === 'fixedSizeList' ? field.type.item : undefined;
  const children = offsetVector(builder, item ? [fieldTable(builder, item)] : []);
  const name = builder.createString(field.name);
  const type = typeTable(builder, field.type);
  builder.startObject(7);
  builder.addFieldOffset(0, name, 0);
  builder.addFieldInt8(1, field.nullable ? 1 : 0, 0);
  builder.addFieldInt8(2, TYPE_ID[field.type.type], 0); // type_type
  builder.addFieldOffset(3, type, 0);
  builder.addFieldOffset(5, children, 0);
  return builder.endObject();
}

/** The base64 value of the `ARROW:schema` Parquet key for these top-level fields. */
export function arrowSchemaBase64(fields: readonly ArrowField[]): string {
  const builder = new Builder(256);
  const fieldOffsets = offsetVector(builder, fields.map((field) => fieldTable(builder, field)));
  builder.startObject(4);
  builder.addFieldOffset(1, fieldOffsets, 0); // fields (endianness: Little is the default)
  const schema = builder.endObject();
  builder.startObject(5);
  builder.addFieldInt16(0, METADATA_VERSION_V5, 0);
  builder.addFieldInt8(1, MESSAGE_HEADER_SCHEMA, 0);
  builder.addFieldOffset(2, schema, 0);
  builder.finish(builder.endObject());
  const flatbuffer = builder.asUint8Array();
  // IPC encapsulation: continuation marker, little-endian length, message padded to a multiple of 8 bytes.
  const padded = Math.ceil((8 + flatbuffer.length) / 8) * 8 - 8;
  const bytes = new Uint8Array(8 + padded);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, padded, true);
  bytes.set(flatbuffer, 8);
  return Buffer.from(bytes).toString('base64');
}
