// Nearest-image search runs here: building a 100k-image matrix and scoring it must not block the
// caller's event loop, and the matrix stays warm between calls.
import ort from 'onnxruntime-node';
import { UserFacingError } from '../errors.js';
import { serveInWorker } from '../runtime/worker-rpc.js';
import { Library } from '../store/library.js';
import { pathsOf } from './runs.js';
import { embeddingMatrix, scoreAll, similarityGraph, topRows, type NearestQuery, type SimilarImage } from './similar.js';

const libraries = new Map<string, Library>();
let session: ort.InferenceSession | null = null;

function library(file: string): Library {
  let lib = libraries.get(file);
  if (!lib) libraries.set(file, (lib = Library.open(file, { readonly: true })));
  return lib;
}

function configOf(lib: Library, configId: number) {
  const config = lib.configById(configId);
  if (!config) throw new UserFacingError(`${lib.file} has no configuration #${configId}`);
  return config;
}

const handlers = {
  async warm(arg: { db: string; configId: number }) {
    const lib = library(arg.db);
    return lib.read(() => embeddingMatrix(lib, configOf(lib, arg.configId)).ids.length);
  },
  async nearest(arg: Required<NearestQuery>): Promise<SimilarImage[][]> {
    const lib = library(arg.db);
    session ??= await ort.InferenceSession.create(similarityGraph(), { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    // The matrix is read (and if stale rebuilt) inside the read transaction; scoring runs on the
    // snapshot it holds, so a concurrent writer cannot mix two generations into one answer.
    const m = lib.read(() => embeddingMatrix(lib, configOf(lib, arg.configId)));
    const scores = await scoreAll(session, m, arg.vectors);
    const skip = new Set(arg.exclude);
    const lists = arg.vectors.map((_, j) => topRows(scores, arg.vectors.length, j, m.ids, Math.max(0, arg.limit), skip));
    const paths = lib.read(() => pathsOf(lib, [...new Set(lists.flat().map((r) => r.id))]));
    return lists.map((list) => list.map((r) => ({ file: paths.get(r.id)!, imageId: r.id, score: r.score })));
  },
  async close() {
    for (const lib of libraries.values()) lib.close();
    libraries.clear();
    await session?.release();
    session = null;
    return null;
  },
};

export type SimilarHandlers = typeof handlers;
serveInWorker(handlers);
