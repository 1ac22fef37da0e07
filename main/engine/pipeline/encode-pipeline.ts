import { startWorker } from '../runtime/worker-rpc.js';
import { errorMessage } from '../errors.js';
import type { EncodedImage, EncoderInfo, EncoderOptions } from './encoder.js';
import type { InferenceHandlers } from './inference-worker.js';
import type { PreprocessHandlers } from './preprocess-worker.js';
import type { ClipVisionConfig } from '../clip/config.js';

/** Preprocessed images [3, H, W] each, as one [n, 3, H, W] batch for the inference worker. */
export function stackPixels(images: readonly Float32Array[]): Float32Array<ArrayBuffer> {
  const per = images[0]!.length;
  const out = new Float32Array(per * images.length);
  images.forEach((p, i) => out.set(p, i * per));
  return out;
}

export type FileResult = { file: string; ok: true; image: EncodedImage } | { file: string; ok: false; error: string };

export interface PipelineOptions extends EncoderOptions {
  /** Images per inference call (1 suits CPUs; GPUs gain from more). */
  readonly batchSize?: number;
  /** Images decoded ahead of inference. */
  readonly prefetch?: number;
}

/**
 * Files in, encoded images out, in input order. Preprocessing runs in one worker and inference
 * in another, so the next images decode while the current batch runs; the caller's event loop
 * only routes messages.
 */
export class EncodePipeline {
  private constructor(
    readonly info: EncoderInfo,
    readonly config: ClipVisionConfig,
    private readonly processor: unknown,
    private readonly inference: ReturnType<typeof startWorker<InferenceHandlers>>,
    private readonly preprocess: ReturnType<typeof startWorker<PreprocessHandlers>>,
    private readonly batchSize: number,
    private readonly prefetch: number,
  ) {}

  static async open(opts: PipelineOptions): Promise<EncodePipeline> {
    const inference = startWorker<InferenceHandlers>(import.meta.url, 'inference-worker');
    const preprocess = startWorker<PreprocessHandlers>(import.meta.url, 'preprocess-worker');
    try {
      const { batchSize, prefetch, ...encoderOpts } = opts;
      const opened = await inference.api.open(encoderOpts);
      const batch = Math.max(1, batchSize ?? 1);
      return new EncodePipeline(opened.info, opened.config, opened.processor, inference, preprocess, batch, Math.max(batch, prefetch ?? batch * 2));
    } catch (e) {
      await Promise.all([inference.terminate(), preprocess.terminate()]);
      throw e;
    }
  }

  private preprocessOne(file: string): Promise<{ file: string; pixels: Float32Array } | { file: string; error: string }> {
    return this.preprocess.api
      .preprocess({ file, config: this.processor as never })
      .then((pixels) => ({ file, pixels }), (e: unknown) => ({ file, error: errorMessage(e) }));
  }

  async *encodeFiles(files: readonly string[]): AsyncGenerator<FileResult> {
    const ahead: ReturnType<EncodePipeline['preprocessOne']>[] = [];
    let nextFile = 0;
    const fill = (): void => {
      while (ahead.length < this.prefetch && nextFile < files.length) ahead.push(this.preprocessOne(files[nextFile++]!));
    };
    fill();
    while (ahead.length > 0) {
      const batch: { file: string; pixels: Float32Array }[] = [];
      const failed: FileResult[] = [];
      while (batch.length < this.batchSize && ahead.length > 0) {
        const r = await ahead.shift()!;
        fill();
        if ('error' in r) failed.push({ file: r.file, ok: false, error: r.error });
        else batch.push(r);
        if (failed.length) break; // a failure closes the batch, so results keep the input order
      }
      if (batch.length > 0) yield* this.encodeBatch(batch);
      yield* failed;
    }
  }

  private async *encodeBatch(batch: { file: string; pixels: Float32Array }[]): AsyncGenerator<FileResult> {
    const pixels = stackPixels(batch.map((b) => b.pixels));
    let images: EncodedImage[];
    try {
      images = await this.inference.api.encode({ pixels, n: batch.length }, [pixels.buffer]);
    } catch (e) {
      for (const b of batch) yield { file: b.file, ok: false, error: `${b.file}: inference failed (${errorMessage(e)})` };
      return;
    }
    for (let i = 0; i < batch.length; i++) yield { file: batch[i]!.file, ok: true, image: images[i]! };
  }

  async close(): Promise<void> {
    await this.inference.api.close(undefined as never).catch(() => undefined);
    await Promise.all([this.inference.terminate(), this.preprocess.terminate()]);
  }
}
