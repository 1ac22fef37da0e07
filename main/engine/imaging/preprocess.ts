/**
 * transformers' `CLIPImageProcessor.preprocess` for one image, step by step (the slow, PIL-based
 * processor, which is what `CLIPImageProcessor` / `CLIPFeatureExtractor` are):
 *
 *     image = load_image(path)                        # decode.ts: exif_transpose + convert("RGB")
 *     if do_resize:      image = self.resize(image, size, resample)    # PIL, see pil-resize.ts
 *     if do_center_crop: image = self.center_crop(image, crop_size)    # on uint8, zero padding
 *     if do_rescale:     image = self.rescale(image, rescale_factor)   # float64 product -> float32
 *     if do_normalize:   image = self.normalize(image, mean, std)      # float32 arithmetic
 *     image = to_channel_dimension_format(image, ChannelDimension.FIRST)
 *
 * The result is `pixel_values[0]`: float32, shape [3, height, width].
 */
import type { RgbImage } from './decode.js';
import { loadImageRgb } from './decode.js';
import { pilResize, PIL_RESAMPLE } from './pil-resize.js';
import type { ImageProcessorConfig } from './processor-config.js';

export interface PixelTensor {
  /** CHW float32, `3 * height * width` values. */
  readonly data: Float32Array;
  readonly channels: 3;
  readonly height: number;
  readonly width: number;
}

/**
 * transformers.image_transforms.get_resize_output_image_size(image, size, default_to_square=False)
 * as CLIPImageProcessor.resize calls it. Returns [height, width].
 */
export function resizeOutputSize(
  height: number,
  width: number,
  size: ImageProcessorConfig['size'],
): [number, number] {
  // {"height", "width"}: the exact size (default_to_square stays True, size is a tuple).
  if (!('shortest_edge' in size)) return [size.height, size.width];
  // short, long = (width, height) if width <= height else (height, width)
  const portrait = width <= height;
  const short = portrait ? width : height;
  const long = portrait ? height : width;
  const newShort = size.shortest_edge;
  // int(requested_new_short * long / short): an int product, a float64 true division, then
  // truncation toward zero. The same IEEE operations here.
  const newLong = Math.trunc((newShort * long) / short);
  return portrait ? [newLong, newShort] : [newShort, newLong];
}

/**
 * transformers.image_transforms.center_crop on an HWC uint8 image. When the crop is larger than
 * the image, it pads with zeros (before rescale/normalise, so padded pixels become
 * (0 - mean) / std), placing the image at ceil((crop - size) / 2), as Python does.
 */
export function centerCrop(img: RgbImage, cropH: number, cropW: number): RgbImage {
  const { width: w, height: h, data } = img;
  // top = (orig_height - crop_height) // 2  (Python floor division, also for negatives)
  let top = Math.floor((h - cropH) / 2);
  let left = Math.floor((w - cropW) / 2);
  if (top >= 0 && top + cropH <= h && left >= 0 && left + cropW <= w) {
    const out = new Uint8Array(cropH * cropW * 3);
    for (let y = 0; y < cropH; y++) {
      const s = ((top + y) * w + left) * 3;
      out.set(data.subarray(s, s + cropW * 3), y * cropW * 3);
    }
    return { data: out, width: cropW, height: cropH };
  }
  // "Otherwise, we may need to pad if the image is too small. Oh joy..."
  const newH = Math.max(cropH, h);
  const newW = Math.max(cropW, w);
  const topPad = Math.ceil((newH - h) / 2);
  const leftPad = Math.ceil((newW - w) / 2);
  const padded = new Uint8Array(newH * newW * 3); // np.zeros_like
  for (let y = 0; y < h; y++) {
    padded.set(data.subarray(y * w * 3, (y + 1) * w * 3), ((y + topPad) * newW + leftPad) * 3);
  }
  top += topPad;
  left += leftPad;
  // new_image[..., max(0, top):min(new_height, bottom), max(0, left):min(new_width, right)]
  const y0 = Math.max(0, top);
  const y1 = Math.min(newH, top + cropH);
  const x0 = Math.max(0, left);
  const x1 = Math.min(newW, left + cropW);
  const outH = y1 - y0;
  const outW = x1 - x0;
  const out = new Uint8Array(outH * outW * 3);
  for (let y = 0; y < outH; y++) {
    const s = ((y0 + y) * newW + x0) * 3;
    out.set(padded.subarray(s, s + outW * 3), y * outW * 3);
  }
  return { data: out, width: outW, height: outH };
}

/** The whole CLIPImageProcessor pipeline on an already decoded RGB image. */
export function preprocessTensor(img: RgbImage, cfg: ImageProcessorConfig): PixelTensor {
  return preprocessWithView(img, cfg).tensor;
}

/**
 * preprocessTensor, also returning the resized image before the centre crop (`resized`: null
 * when the processor does not resize): the model's view of the whole photo, which the library's
 * thumbnails reuse instead of resizing the photo a second time.
 */
export function preprocessWithView(img: RgbImage, cfg: ImageProcessorConfig): { tensor: PixelTensor; resized: RgbImage | null } {
  let cur = img;
  let resized: RgbImage | null = null;
  if (cfg.do_resize) {
    const [h, w] = resizeOutputSize(cur.height, cur.width, cfg.size);
    const filter = PIL_RESAMPLE[cfg.resample];
    if (!filter) throw new Error(`resample ${cfg.resample} is not supported`);
    // resize(): to_pil_image (uint8, no rescaling) -> PIL Image.resize((w, h), resample,
    // reducing_gap=None) -> np.array.
    cur = pilResize(cur, w, h, filter);
    resized = cur;
  }
  if (cfg.do_center_crop) cur = centerCrop(cur, cfg.crop_size.height, cfg.crop_size.width);

  const { width: w, height: h, data } = cur;
  const plane = w * h;
  const out = new Float32Array(3 * plane);
  // Per channel lookup tables: every output value depends only on (channel, uint8 value), so
  // 3 x 256 values computed with numpy's exact op order cover the whole image.
  const lut = new Float32Array(3 * 256);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    // normalize(): mean/std become np.array(..., dtype=image.dtype) = float32.
    const mean = f(cfg.image_mean[c]!);
    const std = f(cfg.image_std[c]!);
    for (let v = 0; v < 256; v++) {
      let x: number;
      // rescale(): image.astype(float64) * scale, then .astype(float32).
      if (cfg.do_rescale) x = f(v * cfg.rescale_factor);
      // normalize() on a non-float image first does image.astype(np.float32).
      else x = v;
      // (image - mean) / std, each op in float32 (float32 - float32 -> float32, then / float32).
      if (cfg.do_normalize) x = f(f(x - mean) / std);
      lut[c * 256 + v] = x;
    }
  }
  // HWC -> CHW (to_channel_dimension_format(..., FIRST)).
  for (let i = 0, s = 0; i < plane; i++, s += 3) {
    out[i] = lut[data[s]!]!;
    out[plane + i] = lut[256 + data[s + 1]!]!;
    out[2 * plane + i] = lut[512 + data[s + 2]!]!;
  }
  return { tensor: { data: out, channels: 3, height: h, width: w }, resized };
}

/** CHW float32 [3, crop_h, crop_w] (or the resized size when do_center_crop is false). */
export function preprocess(img: RgbImage, cfg: ImageProcessorConfig): Float32Array {
  return preprocessTensor(img, cfg).data;
}

/** load_image(file) + CLIPImageProcessor: throws ImageError naming the file if it is unreadable. */
export async function preprocessFile(file: string, cfg: ImageProcessorConfig): Promise<Float32Array> {
  return preprocess(await loadImageRgb(file), cfg);
}
