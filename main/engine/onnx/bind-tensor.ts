import type { GraphBuilder } from './graph-builder.js';
import type { ExternalData } from './external-data.js';
import { isContiguous, type FileTensor } from '../formats/tensor.js';
import { readFloat32 } from '../formats/tensor-read.js';

/**
 * Makes a file tensor a float32 initializer named `name`: by reference into its file when the
 * bytes are usable as they lie, else read (strides honoured, converted) into the inline buffer.
 */
export async function bindTensor(g: GraphBuilder, ext: ExternalData, name: string, t: FileTensor): Promise<string> {
  if (t.dtype === 'float32' && isContiguous(t)) return g.externalInitializer(name, 'float32', t.shape, ext.refFor(t));
  if ((t.dtype === 'float16' || t.dtype === 'bfloat16') && isContiguous(t)) {
    // Half-precision weights stay half on disk; the Cast folds into a float32 constant at session start.
    const half = g.externalInitializer(`${name}.${t.dtype}`, t.dtype, t.shape, ext.refFor(t));
    return g.op('Cast', [half], { to: { i: 1 } }, name);
  }
  const data = await readFloat32(t);
  return g.externalInitializer(name, 'float32', t.shape, ext.addInline(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
}
