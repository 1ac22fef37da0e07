import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BuiltGraph } from '../clip/vision-graph.js';

export interface MaterializedGraph {
  readonly modelPath: string;
  /** Weight files that could not be linked beside the model, handed to onnxruntime in memory. */
  readonly externalData: { path: string; data: Uint8Array }[];
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a), fs.stat(b)]).catch(() => [null, null]);
  return !!sa && !!sb && sa.ino === sb.ino && sa.dev === sb.dev;
}

/**
 * Writes a built graph where onnxruntime can load it. onnxruntime only accepts external data
 * inside the model file's own folder (no `..`, no absolute paths, no symlinks out), so the
 * user's weight files are HARD-LINKED into a cache folder: no copy, and their folders are never
 * written. Where a link is impossible (another filesystem), the file is read into memory instead.
 */
export async function materializeGraph(graph: BuiltGraph, cacheRoot: string): Promise<MaterializedGraph> {
  const hash = createHash('sha256').update(graph.model);
  for (const f of graph.files) {
    if (f.kind === 'file') {
      const st = await fs.stat(f.path);
      hash.update(`${f.location}\0${path.resolve(f.path)}\0${st.size}\0${st.mtimeMs}\0`);
    }
  }
  const dir = path.join(cacheRoot, 'graphs', hash.digest('hex').slice(0, 24));
  await fs.mkdir(dir, { recursive: true });
  const modelPath = path.join(dir, 'model.onnx');
  const tmp = `${modelPath}.${process.pid}.tmp`;
  await fs.writeFile(tmp, graph.model);
  await fs.rename(tmp, modelPath);

  // onnxruntime 1.30 cannot mix external files on disk with files handed over in memory (it
  // looks every location up in the in-memory table once one is given), so in-memory blobs are
  // written beside the model, and if any weight file cannot be linked, all are passed in memory.
  let linked = true;
  for (const f of graph.files) {
    const target = path.join(dir, f.location);
    if (f.kind === 'memory') {
      const st = await fs.stat(target).catch(() => null);
      if (st?.size !== f.data.byteLength) {
        await fs.writeFile(`${target}.${process.pid}.tmp`, f.data);
        await fs.rename(`${target}.${process.pid}.tmp`, target);
      }
      continue;
    }
    if (await sameFile(target, f.path)) continue;
    await fs.rm(target, { force: true });
    try {
      // Link the real file: a link to a symlink (as in Hugging Face's cache) would point outside.
      await fs.link(await fs.realpath(f.path), target);
    } catch {
      linked = false;
    }
  }
  const externalData: MaterializedGraph['externalData'] = [];
  if (!linked) {
    for (const f of graph.files) {
      externalData.push({ path: f.location, data: f.kind === 'memory' ? f.data : await fs.readFile(f.path) });
    }
  }
  return { modelPath, externalData };
}
