// Decoding and PIL-exact resizing are CPU work too: they run here, overlapping inference.
import { serveInWorker } from '../runtime/worker-rpc.js';
import { preprocessFile } from '../imaging/preprocess.js';

type ProcessorConfig = Parameters<typeof preprocessFile>[1];

const handlers = {
  async preprocess(arg: { file: string; config: ProcessorConfig }) {
    return preprocessFile(arg.file, arg.config);
  },
};

export type PreprocessHandlers = typeof handlers;
serveInWorker(handlers);
