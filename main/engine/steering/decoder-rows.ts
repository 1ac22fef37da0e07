/**
 * Single rows of an SAE decoder, read straight from the weight file. Steering needs only the few
 * rows of the edited features, so the 256 MB decoder (stored transposed in CLIP-Scope files) is
 * never read whole nor held a second time beside the SAE session.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ModelFileError } from '../errors.js';
import { describeOpenError } from '../formats/file-io.js';
import { DTYPE_BYTES, type FileTensor } from '../formats/tensor.js';
import { toFloat32 } from '../formats/tensor-read.js';

/** Rows kept: a feature page or a sweep touches a handful; 4096 x 1024 floats is 16 MB. */
const MAX_ROWS = 4096;

export class DecoderRows {
  private readonly rows = new Map<number, Float32Array>();
  private readonly itemsize: number;

  constructor(private readonly t: FileTensor) {
    if (t.shape.length !== 2) throw new ModelFileError(t.file, `the decoder has shape [${t.shape.join(', ')}], expected [features, width]`);
    if (t.dtype !== 'float32' && t.dtype !== 'float16' && t.dtype !== 'bfloat16') throw new ModelFileError(t.file, `a ${t.dtype} decoder is not supported`);
    this.itemsize = DTYPE_BYTES[t.dtype];
  }

  get width(): number {
    return this.t.shape[1]!;
  }

  /** The rows of `features`, stacked [features.length, width]. */
  gather(features: readonly number[]): Float32Array {
    const d = this.width;
    const out = new Float32Array(features.length * d);
    const missing = features.filter((f) => !this.rows.has(f));
    if (missing.length > 0) this.read(missing);
    features.forEach((f, i) => {
      const row = this.rows.get(f)!;
      // Refresh its place in the insertion order: the map's first key is the least recently used.
      this.rows.delete(f);
      this.rows.set(f, row);
      out.set(row, i * d);
    });
    return out;
  }

  private read(features: readonly number[]): void {
    const { t, itemsize } = this;
    const d = this.width;
    const [s0, s1] = t.strides as [number, number];
    let fd: number;
    try {
      fd = openSync(t.file, 'r');
    } catch (e) {
      throw new ModelFileError(t.file, describeOpenError(e));
    }
    try {
      for (const f of features) {
        const bytes = new Uint8Array(d * itemsize);
        const base = t.offset + f * s0 * itemsize;
        if ((f * s0 + (d - 1) * s1 + 1) * itemsize > t.available) throw new ModelFileError(t.file, `truncated: decoder row ${f} lies past the end of its storage`);
        // A contiguous row is one read; a transposed decoder's row is `d` elements `s1` apart.
        const runs = s1 === 1 ? [[0, d]] : Array.from({ length: d }, (_, i) => [i, 1]);
        for (const [i, n] of runs as [number, number][]) {
          const got = readSync(fd, bytes, i * itemsize, n * itemsize, base + i * s1 * itemsize);
          if (got !== n * itemsize) throw new ModelFileError(t.file, `truncated: decoder row ${f} cannot be read`);
        }
        const words = itemsize === 4 ? new Float32Array(bytes.buffer) : new Uint16Array(bytes.buffer);
        this.rows.set(f, Float32Array.from(toFloat32(words, t.dtype)));
        if (this.rows.size > MAX_ROWS) this.rows.delete(this.rows.keys().next().value!);
      }
    } finally {
      closeSync(fd);
    }
  }
}
