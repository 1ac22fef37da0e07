/** Element types found in safetensors / torch checkpoints, named as ONNX / numpy do. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/**
 * A tensor whose bytes lie in a file, little-endian, described without reading them. Contiguous
 * row-major tensors (`strides` equal to the row-major strides) can be handed to onnxruntime as
 * external data pointing straight into the file, so large weights are never copied.
 */
export interface FileTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Element strides; row-major for safetensors, whatever torch recorded for checkpoints. */
  readonly strides: readonly number[];
  /** Absolute path of the file holding the bytes. */
  readonly file: string;
  /** Absolute byte offset in `file` of element [0, 0, ...] (storage offset already applied). */
  readonly offset: number;
  /** Bytes from `offset` to the end of the storage: bounds for strided reads. */
  readonly available: number;
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isContiguous(t: FileTensor): boolean {
  const rm = rowMajorStrides(t.shape);
  return t.shape.every((d, i) => d === 1 || t.strides[i] === rm[i]);
}

/**
 * Elements from element [0, 0, ...] to the furthest one a strided tensor touches, inclusive
 * (0 for an empty tensor). Times the item size this is the byte span a reader must have.
 */
export function spanElements(shape: readonly number[], strides: readonly number[]): number {
  if (shape.some((d) => d === 0)) return 0;
  return shape.reduce((acc, d, i) => acc + (d - 1) * strides[i]!, 1);
}

/** Structural check for values coming out of the checkpoint readers (plain objects otherwise). */
export function isFileTensor(v: unknown): v is FileTensor {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<Record<keyof FileTensor, unknown>>;
  return (
    typeof t.dtype === 'string' && Object.hasOwn(DTYPE_BYTES, t.dtype) &&
    Array.isArray(t.shape) && Array.isArray(t.strides) && t.shape.length === t.strides.length &&
    typeof t.file === 'string' && typeof t.offset === 'number' && typeof t.available === 'number'
  );
}
