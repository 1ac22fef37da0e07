// The indexer's decode worker: ONE read and ONE decode per photo give the model's pixel tensor
// (the engine's own load_image + CLIPImageProcessor, bit for bit what EncodePipeline feeds), the
// displayed size, the capture date and the thumbnail. The thumbnail is cut from the processor's
// resized view when it has the thumbnail's size (CLIP's does) and encoded by the low-priority
// thumbnail process; nothing waits for it but the end of the run (`close`).
import { serveInWorker } from '../runtime/worker-rpc.js';
import { decodeImage, readImageBytes } from '../imaging/decode.js';
import { preprocessWithView } from '../imaging/preprocess.js';
import type { ImageProcessorConfig } from '../imaging/processor-config.js';
import { errorMessage } from '../errors.js';
import { VipsLock } from '../imaging/vips-lock.js';
import { captureDateFromExif, captureDateOf, thumbnailPixels, type PhotoInfo, type ThumbnailResult } from './thumbnails.js';
import { ThumbnailProcess } from './thumbnail-process.js';

/**
 * Thumbnails still being encoded. At low priority they wait while the cores are busy; past this
 * many, decoding waits for the oldest, which bounds the pixels held and hands the thumbnail
 * process the cores.
 */
const MAX_PENDING_THUMBNAILS = 32;

const pendingThumbnails = new Set<Promise<ThumbnailResult>>();
let thumbnails: Promise<ThumbnailProcess> | null = null;
/** Shared with the pipeline's other decode workers (vips-lock.ts). */
let vips = new VipsLock();

function thumbnailProcess(): Promise<ThumbnailProcess> {
  return (thumbnails ??= ThumbnailProcess.open((fn) => vips.shared(fn)));
}

const handlers = {
  /** Joins the pool's libvips lock; starts the thumbnail process ahead of the first photo. */
  async start(arg: { thumbnails: boolean; vipsLock: SharedArrayBuffer }) {
    vips = new VipsLock(arg.vipsLock);
    if (arg.thumbnails) await thumbnailProcess();
    return null;
  },
  /** Pixels for the model, with the photo's size and date when the library wants them. */
  async prepare(arg: { file: string; processor: ImageProcessorConfig; hash: string; thumbDir: string | null }): Promise<{ pixels: Float32Array; info: PhotoInfo | null }> {
    const bytes = await readImageBytes(arg.file);
    const { rgb, exif } = await vips.retryAloneOnError(() => decodeImage(bytes, arg.file));
    const { tensor, resized } = preprocessWithView(rgb, arg.processor);
    if (arg.thumbDir === null) return { pixels: tensor.data, info: null };
    const thumbDir = arg.thumbDir;
    const pixels = await vips.shared(() => thumbnailPixels(rgb, resized)).catch((e: unknown) => new Error(errorMessage(e)));
    const thumb: Promise<ThumbnailResult> = pixels instanceof Error
      ? Promise.resolve({ thumbnail: 'failed', thumbnailError: pixels.message })
      : thumbnailProcess().then((writer) => writer.write(pixels, arg.hash, thumbDir));
    pendingThumbnails.add(thumb);
    void thumb.finally(() => pendingThumbnails.delete(thumb));
    const capturedAt = exif === undefined ? await vips.shared(() => captureDateOf(bytes)) : await captureDateFromExif(exif);
    if (pendingThumbnails.size > MAX_PENDING_THUMBNAILS) await Promise.race(pendingThumbnails);
    return { pixels: tensor.data, info: { width: rgb.width, height: rgb.height, capturedAt } };
  },
  /** Finish the thumbnails and stop the thumbnail process (the pipeline is closing). */
  async close(_arg: null) {
    await Promise.allSettled(pendingThumbnails);
    const t = thumbnails;
    thumbnails = null;
    if (t) await (await t).close();
    return null;
  },
};

export type DecodeHandlers = typeof handlers;
serveInWorker(handlers);
