/**
 * A pre-converted model (`igbert convert` output: onnx/<name>.onnx + .onnx_data) read as a weight container: the
 * .onnx file's initializers say where each converted tensor lies in the .onnx_data blob, which is exactly the Meta
 * layout of src/runtime/ort/conversion.ts. igbert then builds its own graphs over those weights (the attention kind
 * the device needs, the outputs a task needs), so a converted folder serves every task as a checkpoint does.
 */
import onnxProto from 'onnx-proto';
import type { BertConfig } from '../../config.js';
import { CheckpointError } from '../../errors.js';
import type { SafetensorsDType } from '../../weights/safetensors.js';
import { WeightStore } from '../../weights/weightStore.js';
import { CONVERSION_VERSION, weightSourceFromMeta, type Meta, type WeightDType } from './conversion.js';
import { TensorType } from './onnxBuilder.js';
import type { WeightSource } from './weightSource.js';

const { onnx } = onnxProto;

/** What the WeightStore needs to resolve names and check shapes (no bytes). */
export interface TensorDescription {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
}

const toNumber = (value: number | { toString(): string }): number => (typeof value === 'number' ? value : Number(value.toString()));

/** The layout of `dataFile` from the .onnx graph's external-data initializers. */
export function onnxWeightLayout(graphBytes: Uint8Array, dataFile: string, source: string): { meta: Meta; tensors: TensorDescription[] } {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(graphBytes);
  } catch (cause) {
    throw new CheckpointError(`${source} is not an ONNX model (${(cause as Error).message}). Convert it again with igbert convert.`, { cause });
  }
  const entries: Meta['tensors'] = {};
  const tensors: TensorDescription[] = [];
  let dtype: WeightDType = 'fp32';
  for (const initializer of model.graph?.initializer ?? []) {
    const fields = Object.fromEntries((initializer.externalData ?? []).map((e) => [e.key, e.value]));
    if (fields['location'] === undefined) continue; // small constants stored inline in the graph
    if (fields['location'] !== dataFile) {
      throw new CheckpointError(`${source}: initializer ${initializer.name} lives in ${fields['location']}, not ${dataFile}; convert the model again.`);
    }
    const name = initializer.name ?? '';
    const elemType = initializer.dataType ?? TensorType.FLOAT;
    const dims = (initializer.dims ?? []).map(toNumber);
    entries[name] = { elemType, offset: Number(fields['offset'] ?? 0), length: Number(fields['length']) };
    if (name.endsWith('.int8')) {
      // Linears quantised together are named "a+b+c.int8" with shape [in, blocks * out], one block per name; a
      // "<weight>.residual" block is the second int8 term of the weight before it. The store knows each weight.
      dtype = 'int8';
      const blocks = name.slice(0, -'.int8'.length).split('+');
      const [inFeatures = 0, width = 0] = dims;
      for (const block of blocks) {
        if (!block.endsWith('.residual')) tensors.push({ name: block, dtype: 'F32', shape: [width / blocks.length, inFeatures] });
      }
    } else if (!name.endsWith('.scale')) {
      if (elemType === TensorType.FLOAT16 && dtype === 'fp32') dtype = 'fp16';
      tensors.push({ name, dtype: elemType === TensorType.FLOAT16 ? 'F16' : 'F32', shape: dims });
    }
  }
  if (tensors.length === 0) throw new CheckpointError(`${source} has no external weights in ${dataFile}; convert the model again with igbert convert.`);
  if (dtype === 'int8' && !Object.keys(entries).some((name) => name.endsWith('.int8') && name.includes('.residual'))) {
    // Conversion version 3 added residual int8 terms; an older int8 folder lacks them and would not load.
    throw new CheckpointError(`${source} was converted by an older igbert (int8 layout before version ${CONVERSION_VERSION}); convert it again with igbert convert --dtype int8.`);
  }
  return { meta: { version: CONVERSION_VERSION, dtype, tensors: entries }, tensors };
}

/**
 * The weights of `igbert convert` output as a WeightSource over its .onnx_data file (`dataFile`, external data
 * relative to the graph's folder), with the store that names and shape-checks them (Node; the browser binds the
 * same layout to its cached blob in loadCheckpoint.ts).
 */
export function onnxWeightSource(
  graphBytes: Uint8Array,
  dataFile: string,
  config: BertConfig,
  source: string,
): { weights: WeightSource; store: WeightStore; dtype: WeightDType } {
  const { meta, tensors } = onnxWeightLayout(graphBytes, dataFile, source);
  const infos = tensors.map((t) => ({ ...t, dataOffsets: [0, 0] as [number, number], absoluteOffset: 0, byteLength: 0, file: dataFile }));
  const store = WeightStore.fromTensors(infos, config);
  return { weights: weightSourceFromMeta(meta, store, dataFile, source), store, dtype: meta.dtype };
}
