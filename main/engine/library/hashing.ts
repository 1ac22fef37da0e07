/**
 * Content identity of photos (rclip's partial hash) and of model files (fingerprints). Files are
 * opened read-only and only read.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import { WEIGHT_FILES } from '../clip/weights.js';

export const HEAD_BYTES = 1024 * 1024;
export const TAIL_BYTES = 1024;

async function readAt(handle: fs.FileHandle, buf: Buffer, position: number): Promise<Buffer> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await handle.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}

export interface ContentHash {
  /** 32 hex digits: sha256 of (size, first 1 MiB, last 1 KiB), truncated to 128 bits. */
  readonly hash: string;
  /** The size read from the open file (it may differ from a stat taken earlier). */
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * rclip's partial content hash: the size, the first 1 MiB and the last 1 KiB. Files up to
 * 1 MiB + 1 KiB are hashed whole. Renames and moves keep it; any edit that changes the size, the
 * first megabyte (headers, EXIF, the top of the picture) or the end changes it.
 */
export async function partialHash(file: string): Promise<ContentHash> {
  const handle = await fs.open(file, 'r');
  try {
    const st = await handle.stat();
    const size = st.size;
    const h = createHash('sha256');
    h.update(`clipscope-partial-v1:${size}:`);
    if (size <= HEAD_BYTES + TAIL_BYTES) {
      h.update(await readAt(handle, Buffer.allocUnsafe(size), 0));
    } else {
      h.update(await readAt(handle, Buffer.allocUnsafe(HEAD_BYTES), 0));
      h.update(await readAt(handle, Buffer.allocUnsafe(TAIL_BYTES), size - TAIL_BYTES));
    }
    return { hash: h.digest('hex').slice(0, 32), size, mtimeMs: Math.floor(st.mtimeMs) };
  } finally {
    await handle.close();
  }
}

const SAMPLE_BLOCKS = 16;
const SAMPLE_BYTES = 64 * 1024;
const ZIP_TAIL_BYTES = 1024 * 1024;

/**
 * A cheap identity for one weights file: its size, its structure (the safetensors JSON header;
 * for torch zip checkpoints the end of the archive, whose central directory holds the CRC-32 of
 * every stored tensor) and 16 blocks of 64 KiB spread evenly over the file. About 1 MiB is read
 * whatever the file's size.
 */
export async function fingerprintFile(file: string): Promise<string> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(e)})`);
  }
  try {
    const { size } = await handle.stat();
    const h = createHash('sha256');
    h.update(`clipscope-fp-v1:${size}:`);
    const lower = file.toLowerCase();
    if (lower.endsWith('.safetensors') && size >= 8) {
      const len = (await readAt(handle, Buffer.alloc(8), 0)).readBigUInt64LE(0);
      const n = len <= BigInt(Math.min(size - 8, 100_000_000)) ? Number(len) : 0;
      h.update(await readAt(handle, Buffer.allocUnsafe(n), 8));
    } else {
      const n = Math.min(size, ZIP_TAIL_BYTES);
      h.update(await readAt(handle, Buffer.allocUnsafe(n), size - n));
    }
    if (size <= SAMPLE_BLOCKS * SAMPLE_BYTES) {
      h.update(await readAt(handle, Buffer.allocUnsafe(size), 0));
    } else {
      // Evenly spaced, the first at 0 and the last ending exactly at the end of the file.
      for (let i = 0; i < SAMPLE_BLOCKS; i++) {
        const at = Math.round((i * (size - SAMPLE_BYTES)) / (SAMPLE_BLOCKS - 1));
        h.update(await readAt(handle, Buffer.allocUnsafe(SAMPLE_BYTES), at));
      }
    }
    return h.digest('hex');
  } finally {
    await handle.close();
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

function combine(tag: string, parts: readonly [string, string][]): string {
  const h = createHash('sha256');
  h.update(tag);
  for (const [name, fp] of parts) h.update(`\n${name}=${fp}`);
  return h.digest('hex');
}

/** A CLIP model folder: config.json, preprocessor_config.json and the weights transformers would load. */
export async function fingerprintModelDir(dir: string): Promise<string> {
  const parts: [string, string][] = [];
  for (const name of ['config.json', 'preprocessor_config.json']) {
    parts.push([name, await fingerprintFile(path.join(dir, name))]);
  }
  let weights: string | undefined;
  for (const name of WEIGHT_FILES) {
    if (await exists(path.join(dir, name))) {
      weights = name;
      break;
    }
  }
  if (!weights) throw new ModelFileError(dir, `no weights file (${WEIGHT_FILES.join(', ')})`);
  parts.push([weights, await fingerprintFile(path.join(dir, weights))]);
  if (weights.endsWith('.index.json')) {
    const index = JSON.parse(await fs.readFile(path.join(dir, weights), 'utf8')) as { weight_map?: Record<string, string> };
    for (const shard of [...new Set(Object.values(index.weight_map ?? {}))].sort()) {
      parts.push([shard, await fingerprintFile(path.join(dir, path.basename(shard)))]);
    }
  }
  return combine('clip-model', parts);
}

/** A CLIP-Scope .pt checkpoint or a SAELens folder (cfg.json + sae_weights.safetensors). */
export async function fingerprintSae(file: string): Promise<string> {
  const st = await fs.stat(file).catch(() => null);
  if (!st) throw new ModelFileError(file, 'no such SAE file or folder');
  if (st.isDirectory()) {
    return combine('saelens', [
      ['cfg.json', await fingerprintFile(path.join(file, 'cfg.json'))],
      ['sae_weights.safetensors', await fingerprintFile(path.join(file, 'sae_weights.safetensors'))],
    ]);
  }
  return combine('sae-file', [['checkpoint', await fingerprintFile(file)]]);
}
