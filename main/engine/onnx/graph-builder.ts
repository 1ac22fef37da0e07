import { AttributeType, DATA_LOCATION_EXTERNAL, ModelProto, TensorDataType } from './proto.js';
import type { DType } from '../formats/tensor.js';

export type Dim = number | string;

/** Attribute values, tagged the way ONNX types them (a bare number could be INT or FLOAT). */
export type Attr = { i: number } | { f: number } | { ints: readonly number[] } | { floats: readonly number[] } | { s: string };

/** A tensor's bytes in a separate file next to the model (ONNX external data). */
export interface ExternalRef {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

const ONNX_DTYPE: Partial<Record<DType, number>> = {
  float32: TensorDataType.FLOAT,
  float16: TensorDataType.FLOAT16,
  bfloat16: TensorDataType.BFLOAT16,
  float64: TensorDataType.DOUBLE,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  int8: TensorDataType.INT8,
  uint8: TensorDataType.UINT8,
  bool: TensorDataType.BOOL,
};

export function onnxDataType(dtype: DType): number {
  const t = ONNX_DTYPE[dtype];
  if (t === undefined) throw new Error(`no ONNX element type for ${dtype}`);
  return t;
}

function attribute(name: string, a: Attr): Record<string, unknown> {
  if ('i' in a) return { name, type: AttributeType.INT, i: a.i };
  if ('f' in a) return { name, type: AttributeType.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: AttributeType.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: AttributeType.FLOATS, floats: [...a.floats] };
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.s) };
}

function valueInfo(name: string, dtype: DType, dims: readonly Dim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: onnxDataType(dtype),
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/**
 * Builds an ONNX graph node by node. Names are generated where the caller does not care, so
 * graph code reads like the forward pass it mirrors.
 */
export class GraphBuilder {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.used.has(n));
    this.used.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`duplicate ONNX value name ${name}`);
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), dtype, dims));
    return name;
  }

  output(name: string, dtype: DType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** Adds a node and returns its output names. `outputs` may name them, or give a count. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs: number | readonly string[] = 1): string[] {
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
      : outputs.map((o) => this.claim(o));
    this.nodes.push({
      op_type: opType,
      name: this.fresh(`n_${opType}`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** A node with exactly one output, optionally named. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputName?: string): string {
    return this.node(opType, inputs, attrs, outputName === undefined ? 1 : [outputName])[0]!;
  }

  constFloat(values: readonly number[], dims: readonly number[] = [values.length], name?: string): string {
    const n = name === undefined ? this.fresh('const_f') : this.claim(name);
    this.initializers.push({
      name: n, data_type: TensorDataType.FLOAT, dims: [...dims],
      raw_data: new Uint8Array(Float32Array.from(values).buffer),
    });
    return n;
  }

  constInt64(values: readonly number[], dims: readonly number[] = [values.length], name?: string): string {
    const n = name === undefined ? this.fresh('const_i') : this.claim(name);
    this.initializers.push({
      name: n, data_type: TensorDataType.INT64, dims: [...dims],
      raw_data: new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer),
    });
    return n;
  }

  /** An initializer whose bytes live in an external file (never copied into the model). */
  externalInitializer(name: string, dtype: DType, dims: readonly number[], ref: ExternalRef): string {
    this.initializers.push({
      name: this.claim(name),
      data_type: onnxDataType(dtype),
      dims: [...dims],
      data_location: DATA_LOCATION_EXTERNAL,
      external_data: [
        { key: 'location', value: ref.location },
        { key: 'offset', value: String(ref.offset) },
        { key: 'length', value: String(ref.length) },
      ],
    });
    return name;
  }

  encode(opts: { opset?: number; doc?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const model = {
      ir_version: 8,
      opset_import: [{ domain: '', version: opts.opset ?? 17 }],
      producer_name: 'clipscope-desktop',
      doc_string: opts.doc ?? '',
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    const err = ModelProto.verify(model);
    if (err) throw new Error(`internal: invalid ONNX model: ${err}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }
}
