// Inference runs here, off the caller's event loop: session.run blocks the thread it runs on.
import { serveInWorker } from '../runtime/worker-rpc.js';
import { Encoder, type EncoderOptions } from './encoder.js';

let encoder: Encoder | null = null;

const handlers = {
  async open(opts: EncoderOptions) {
    await encoder?.release();
    encoder = await Encoder.open(opts);
    return { info: encoder.info, config: encoder.model.config, processor: encoder.model.processor };
  },
  async encode(arg: { pixels: Float32Array; n: number }) {
    if (!encoder) throw new Error('internal: encode before open');
    return encoder.encodeBatch(arg.pixels, arg.n);
  },
  async close() {
    await encoder?.release();
    encoder = null;
    return null;
  },
};

export type InferenceHandlers = typeof handlers;
serveInWorker(handlers);
