import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../helpers/references.js';
import { connection } from '../../../main/engine/store/connection.js';
import type { Library } from '../../../main/engine/store/library.js';
import { imageLatents } from '../../../main/engine/queries/image.js';

export const TINY = {
  modelDir: path.join(ROOT, 'test/fixtures/models/clip-tiny-gelu'),
  sae: path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt'),
};

/** The graph cache the CLI tests use too (built graphs are reused across test files). */
export const TEST_CACHE = path.join(ROOT, 'node_modules/.cache/clipscope-test');

export interface FileState { size: number; mtimeMs: number; mode: number; sha256: string | null }

/**
 * Every entry under `dirs` (links not followed: their own lstat), with a checksum of each regular
 * file that this process can read.
 */
export async function snapshotFiles(dirs: readonly string[]): Promise<Map<string, FileState>> {
  const out = new Map<string, FileState>();
  const walk = async (p: string): Promise<void> => {
    const st = await fs.lstat(p);
    let sha: string | null = null;
    if (st.isFile()) {
      sha = await fs.readFile(p).then((b) => createHash('sha256').update(b).digest('hex'), () => null);
    }
    out.set(p, { size: st.size, mtimeMs: st.mtimeMs, mode: st.mode, sha256: sha });
    if (st.isDirectory()) {
      const names = await fs.readdir(p).catch(() => [] as string[]);
      for (const n of names.sort()) await walk(path.join(p, n));
    }
  };
  for (const d of dirs) await walk(d);
  return out;
}

export interface StoredResult { idx: number[][]; val: number[][]; embedding: number[]; mse: number }

/**
 * Decoded stored results of a config (every image that has one, present or removed), by image
 * path, read through the store's own query API.
 */
export function storedResults(lib: Library, configId: number): Map<string, StoredResult> {
  const config = lib.configById(configId);
  if (!config) throw new Error(`no configuration ${configId}`);
  const ids = connection(lib).db.prepare('SELECT id FROM images ORDER BY path').pluck().all() as number[];
  const out = new Map<string, StoredResult>();
  for (const id of ids) {
    if (!lib.hasResult(id, configId)) continue;
    const r = imageLatents(lib, config, id);
    out.set(r.image.path, { idx: r.tokens.idx, val: r.tokens.val, embedding: Array.from(r.embedding), mse: r.mse });
  }
  return out;
}

/** Photos made byte-distinct (a trailer after the image data), so each is its own image. */
export async function copies(dir: string, n: number, tag: string): Promise<void> {
  const src = ['chelsea.png', 'coffee.png', 'coins.png', 'hubble_deep_field.jpg', 'rocket.jpg'];
  const bytes = await Promise.all(src.map((f) => fs.readFile(path.join(ROOT, 'test/fixtures/photos', f))));
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const k = i % src.length;
    await fs.writeFile(path.join(dir, `${tag}-${String(i).padStart(3, '0')}-${src[k]}`), Buffer.concat([bytes[k]!, Buffer.from(`\0${tag}${i}`)]));
  }
}
