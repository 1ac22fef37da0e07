/**
 * EncodePipeline for indexing: the same overlap of decoding with inference (the engine's own
 * inference worker, the engine's own decoding and CLIPImageProcessor), plus what the library needs
 * from the same decode: thumbnails, displayed size, capture date. Each photo is read and decoded
 * once. Decoding can use several workers (GPUs outrun one decoder by far).
 *
 * Results come back in input order, exactly as EncodePipeline.encodeFiles gives them (same pixels,
 * same batches), with the photo's size and capture date attached. Thumbnails are written by a
 * low-priority process meanwhile; close() waits for them.
 */
import os from 'node:os';
import { startWorker } from '../runtime/worker-rpc.js';
import { errorMessage } from '../errors.js';
import type { EncodedImage, EncoderInfo } from '../pipeline/encoder.js';
import type { InferenceHandlers } from '../pipeline/inference-worker.js';
import { stackPixels, type PipelineOptions } from '../pipeline/encode-pipeline.js';
import type { ImageProcessorConfig } from '../imaging/processor-config.js';
import type { DecodeHandlers } from './decode-worker.js';
import type { PhotoInfo } from './thumbnails.js';
import { VipsLock } from '../imaging/vips-lock.js';

export interface IndexFile {
  readonly file: string;
  /** Content hash: names the thumbnail. */
  readonly hash: string;
}

export type IndexFileResult =
  | { file: string; ok: true; image: EncodedImage; info: PhotoInfo | null }
  | { file: string; ok: false; error: string };

export interface IndexPipelineOptions extends PipelineOptions {
  /** Thumbnails folder; null: no thumbnails and no photo metadata. */
  readonly thumbDir: string | null;
  /** Decode workers (default: 2, or a quarter of the cores on bigger machines, at most 4). */
  readonly decodeWorkers?: number;
}

/** What the indexer needs of a pipeline (IndexPipeline, or a stand-in in tests). */
export interface PipelineLike {
  encode(files: readonly IndexFile[]): AsyncGenerator<IndexFileResult>;
  close(): Promise<void>;
}

// The engine's inference worker, started from its own folder.
const PIPELINE_MODULE = new URL('../pipeline/encode-pipeline.js', import.meta.url).href;

type Decoder = ReturnType<typeof startWorker<DecodeHandlers>>;
/** Inference batches handed over ahead of the one being consumed. */
const INFLIGHT = 2;

type Ready = { item: IndexFile; pixels: Float32Array; info: PhotoInfo | null };
type Prepared = Ready | { item: IndexFile; error: string };

/**
 * Two decoders even on two cores: one photo's decode waits on libvips while the other's
 * preprocessing runs (bench:index, small model: 0.85 -> 0.95 of the bare encode rate); more on
 * bigger machines, where GPUs outrun decoding.
 */
export function defaultDecodeWorkers(): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return Math.min(4, Math.max(2, Math.floor(cores / 4)));
}

export class IndexPipeline implements PipelineLike {
  private next = 0;

  private constructor(
    readonly info: EncoderInfo,
    private readonly processor: ImageProcessorConfig,
    private readonly inference: ReturnType<typeof startWorker<InferenceHandlers>>,
    private readonly decoders: Decoder[],
    private readonly batchSize: number,
    private readonly prefetch: number,
    private readonly thumbDir: string | null,
  ) {}

  static async open(opts: IndexPipelineOptions): Promise<IndexPipeline> {
    const inference = startWorker<InferenceHandlers>(PIPELINE_MODULE, 'inference-worker');
    const n = Math.max(1, opts.decodeWorkers ?? defaultDecodeWorkers());
    const decoders = Array.from({ length: n }, () => startWorker<DecodeHandlers>(import.meta.url, 'decode-worker'));
    const vipsLock = new VipsLock();
    try {
      const { batchSize, prefetch, thumbDir, decodeWorkers: _d, ...encoderOpts } = opts;
      const [opened] = await Promise.all([
        inference.api.open(encoderOpts),
        ...decoders.map((d) => d.api.start({ thumbnails: thumbDir !== null, vipsLock: vipsLock.buffer })),
      ]);
      const batch = Math.max(1, batchSize ?? 1);
      return new IndexPipeline(opened.info, opened.processor, inference, decoders, batch, Math.max(batch, prefetch ?? Math.max(batch * 2, n * 2)), thumbDir);
    } catch (e) {
      await Promise.all([inference.terminate(), ...decoders.map((d) => d.terminate())]);
      throw e;
    }
  }

  private prepareOne(item: IndexFile): Promise<Prepared> {
    const decoder = this.decoders[this.next++ % this.decoders.length]!;
    return decoder.api
      .prepare({ file: item.file, processor: this.processor, hash: item.hash, thumbDir: this.thumbDir })
      .then(({ pixels, info }) => ({ item, pixels, info }), (e: unknown) => ({ item, error: errorMessage(e) }));
  }

  async *encode(items: readonly IndexFile[]): AsyncGenerator<IndexFileResult> {
    const ahead: Promise<Prepared>[] = [];
    const inflight: Promise<IndexFileResult[]>[] = [];
    let nextItem = 0;
    const fill = (): void => {
      while (ahead.length < this.prefetch && nextItem < items.length) ahead.push(this.prepareOne(items[nextItem++]!));
    };
    /** Takes the next batch of decoded photos and hands it to inference; false when none is left. */
    const launch = async (): Promise<boolean> => {
      if (ahead.length === 0) return false;
      const batch: Ready[] = [];
      const failed: IndexFileResult[] = [];
      while (batch.length < this.batchSize && ahead.length > 0) {
        const r = await ahead.shift()!;
        fill();
        if ('error' in r) failed.push({ file: r.item.file, ok: false, error: r.error });
        else batch.push(r);
        if (failed.length) break; // a failure closes the batch, so results keep the input order
      }
      inflight.push(batch.length ? this.encodeBatch(batch).then((done) => [...done, ...failed]) : Promise.resolve(failed));
      return true;
    };
    let finished = false;
    try {
      fill();
      for (;;) {
        // Two batches in flight: the inference worker already holds the next one while the
        // caller is busy with the previous results (its database writes), so it never idles.
        while (inflight.length < INFLIGHT && (await launch()));
        const next = inflight.shift();
        if (!next) break;
        yield* await next;
      }
      finished = true;
    } finally {
      // Stopped early (pause, cancel): let work in flight finish.
      if (!finished) await Promise.allSettled([...ahead, ...inflight]);
    }
  }

  private async encodeBatch(batch: Ready[]): Promise<IndexFileResult[]> {
    const pixels = stackPixels(batch.map((b) => b.pixels));
    let images: EncodedImage[];
    try {
      images = await this.inference.api.encode({ pixels, n: batch.length }, [pixels.buffer]);
    } catch (e) {
      return batch.map((b) => ({ file: b.item.file, ok: false, error: `${b.item.file}: inference failed (${errorMessage(e)})` }));
    }
    return batch.map((b, i) => ({
      file: b.item.file,
      ok: true,
      image: images[i]!,
      info: b.info,
    }));
  }

  async close(): Promise<void> {
    await Promise.all(this.decoders.map((d) => d.api.close(null).catch(() => null)));
    await this.inference.api.close(undefined as never).catch(() => undefined);
    await Promise.all([this.inference.terminate(), ...this.decoders.map((d) => d.terminate())]);
  }
}
