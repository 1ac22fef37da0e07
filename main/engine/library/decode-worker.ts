// The indexer's decode worker: ONE read and ONE decode per photo give the model's pixel tensor
// (the engine's own load_image + CLIPImageProcessor, bit for bit what EncodePipeline feeds), the
// thumbnail, the displayed size and the capture date. Thumbnails are encoded by libvips threads
// while this thread already decodes the next photo.
import { serveInWorker } from '../runtime/worker-rpc.js';
import { decodeImageRgb, readImageBytes } from '../imaging/decode.js';
import { preprocess } from '../imaging/preprocess.js';
import type { ImageProcessorConfig } from '../imaging/processor-config.js';
import { captureDateOf, thumbnailFromRgb, type MediaInfo } from './thumbnails.js';

const media = new Map<string, Promise<MediaInfo>>();

const handlers = {
  /** Pixels for the model; the photo's metadata and thumbnail follow through `media`. */
  async prepare(arg: { file: string; processor: ImageProcessorConfig; hash: string; thumbDir: string | null }) {
    const bytes = await readImageBytes(arg.file);
    const rgb = await decodeImageRgb(bytes, arg.file);
    const pixels = preprocess(rgb, arg.processor);
    if (arg.thumbDir !== null) {
      const thumbDir = arg.thumbDir;
      const job = (async (): Promise<MediaInfo> => {
        const [capturedAt, thumb] = await Promise.all([captureDateOf(bytes), thumbnailFromRgb(rgb, arg.hash, thumbDir)]);
        return { width: rgb.width, height: rgb.height, capturedAt, ...thumb };
      })();
      media.set(arg.file, job);
    }
    return pixels;
  },
  /** The metadata of a photo `prepare` decoded (null if it was not decoded here). */
  async media(arg: { file: string }) {
    const job = media.get(arg.file);
    media.delete(arg.file);
    return job ? await job : null;
  },
  /** Forget pending metadata (a run stopped early). */
  async drop(_arg: null) {
    await Promise.allSettled(media.values());
    media.clear();
    return null;
  },
};

export type DecodeHandlers = typeof handlers;
serveInWorker(handlers);
