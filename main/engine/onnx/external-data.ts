import path from 'node:path';
import type { ExternalRef } from './graph-builder.js';
import { DTYPE_BYTES, elementCount, isContiguous, type FileTensor } from '../formats/tensor.js';

/** A file an ONNX model's external initializers point into. */
export type ExternalFile =
  | { readonly location: string; readonly kind: 'file'; readonly path: string }
  | { readonly location: string; readonly kind: 'memory'; readonly data: Uint8Array };

const INLINE = 'inline.bin';
const ALIGN = 64;

/**
 * Collects the files a model's weights live in. Contiguous tensors point straight into the
 * user's weight files (safetensors, .pt, .bin) so gigabytes are never copied; anything else
 * (a transposed or converted tensor) goes into one in-memory buffer.
 */
export class ExternalData {
  private readonly byPath = new Map<string, string>();
  private readonly fileEntries: ExternalFile[] = [];
  private readonly inlineChunks: Uint8Array[] = [];
  private inlineSize = 0;

  refFor(t: FileTensor): ExternalRef {
    if (!isContiguous(t)) throw new Error(`internal: tensor in ${t.file} is not contiguous`);
    let location = this.byPath.get(t.file);
    if (location === undefined) {
      // Locations must be plain names in the model's folder (onnxruntime refuses paths that escape it).
      const base = path.basename(t.file).replace(/[^A-Za-z0-9._-]/g, '_');
      location = `w${this.byPath.size}-${base}`;
      this.byPath.set(t.file, location);
      this.fileEntries.push({ location, kind: 'file', path: t.file });
    }
    return { location, offset: t.offset, length: elementCount(t.shape) * DTYPE_BYTES[t.dtype] };
  }

  addInline(bytes: Uint8Array): ExternalRef {
    const pad = (ALIGN - (this.inlineSize % ALIGN)) % ALIGN;
    if (pad) this.inlineChunks.push(new Uint8Array(pad));
    const offset = this.inlineSize + pad;
    this.inlineChunks.push(bytes);
    this.inlineSize = offset + bytes.byteLength;
    return { location: INLINE, offset, length: bytes.byteLength };
  }

  files(): ExternalFile[] {
    const out = [...this.fileEntries];
    if (this.inlineChunks.length === 1) {
      // One converted tensor (a CLIP-Scope SAE's strided decoder: 256 MB): no second copy.
      out.push({ location: INLINE, kind: 'memory', data: this.inlineChunks[0]! });
    } else if (this.inlineSize > 0) {
      const data = new Uint8Array(this.inlineSize);
      let o = 0;
      for (const c of this.inlineChunks) {
        data.set(c, o);
        o += c.byteLength;
      }
      out.push({ location: INLINE, kind: 'memory', data });
    }
    return out;
  }
}
