/**
 * A small builder for ONNX ModelProto: named values, nodes, initializers (inline or external), serialised with the
 * maintained protobuf definitions of the onnx-proto package. It knows nothing about BERT; src/runtime/ort/onnxOps.ts does.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

type DataType = typeof onnx.TensorProto.DataType;
/**
 * TensorProto.DataType codes as number literals, checked against onnx-proto's enum: igbert's published declarations
 * reach these types, and onnx-proto's own need protobufjs's global `Long`, which a strict consumer's tsc lacks.
 */
export const TensorType = {
  FLOAT: 1,
  FLOAT16: 10,
  INT8: 3,
  UINT8: 2,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const satisfies { readonly [K in keyof DataType]?: DataType[K] };
export type TensorTypeCode = (typeof TensorType)[keyof typeof TensorType];

/** A dimension: a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] };

/** Where an initializer's bytes live when they are not inline: a file next to the model, a byte range in it. */
export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

export interface OperatorSet {
  domain: string;
  version: number;
}

export class OnnxGraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly names = new Map<string, number>();
  private readonly constantCache = new Map<string, string>();

  constructor(
    readonly graphName: string,
    readonly opsets: OperatorSet[],
  ) {}

  /** A fresh value name derived from `base`, unique within the graph. */
  fresh(base: string): string {
    const count = this.names.get(base) ?? 0;
    this.names.set(base, count + 1);
    return count === 0 ? base : `${base}_${count}`;
  }

  input(name: string, elemType: TensorTypeCode, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    this.names.set(name, 1);
    return name;
  }

  output(name: string, elemType: TensorTypeCode, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Adds one node; returns its output names (fresh names derived from `outputBase` unless given). */
  node(
    opType: string,
    inputs: string[],
    outputBase: string | string[],
    attributes: Record<string, AttributeValue> = {},
    domain = '',
  ): string[] {
    const outputs = (Array.isArray(outputBase) ? outputBase : [outputBase]).map((o) => this.fresh(o));
    this.nodes.push({
      opType,
      domain,
      input: inputs,
      output: outputs,
      name: this.fresh(`${opType}_node`),
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], outputBase: string, attributes: Record<string, AttributeValue> = {}, domain = ''): string {
    return this.node(opType, inputs, outputBase, attributes, domain)[0] as string;
  }

  initializerExternal(name: string, elemType: TensorTypeCode, dims: number[], where: ExternalLocation): string {
    this.initializers.push({
      name,
      dataType: elemType,
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: where.location },
        { key: 'offset', value: String(where.offset) },
        { key: 'length', value: String(where.length) },
      ],
    });
    this.names.set(name, 1);
    return name;
  }

  initializerRaw(name: string, elemType: TensorTypeCode, dims: number[], bytes: Uint8Array): string {
    this.initializers.push({ name, dataType: elemType, dims, rawData: bytes });
    this.names.set(name, 1);
    return name;
  }

  /** An int64 constant, shared across the graph by value. */
  int64s(values: number[], scalar = false): string {
    const key = `i64:${scalar ? 's' : 'v'}:${values.join(',')}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    const name = this.initializerRaw(this.fresh('const_i64'), TensorType.INT64, scalar ? [] : [values.length], bytes);
    this.constantCache.set(key, name);
    return name;
  }

  /** A float32 scalar constant, shared by value. */
  float32(value: number): string {
    const key = `f32:${value}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    const name = this.initializerRaw(this.fresh('const_f32'), TensorType.FLOAT, [], bytes);
    this.constantCache.set(key, name);
    return name;
  }

  /** Serialises the model. */
  encode(producer: { name: string; version: string }, docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer.name,
      producerVersion: producer.version,
      docString,
      opsetImport: this.opsets.map((o) => ({ domain: o.domain, version: o.version })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  get nodeCount(): number {
    return this.nodes.length;
  }
}

function valueInfo(name: string, elemType: TensorTypeCode, dims: Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for non-integer values`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}
