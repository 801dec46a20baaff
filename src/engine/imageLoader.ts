// Decoding images with sharp into 8-bit RGB at the model's resize rule. EXIF orientation is applied;
// grey, alpha, 16-bit, CMYK and palette images all end as 8-bit sRGB. Inputs above a pixel limit are
// refused from their header, before any pixel is decoded. Up to EXACT_RESIZE_MAX_PIXELS the resize is
// Pillow's bilinear filter bit for bit (resample.ts), as in training and the PyTorch reference; larger
// images are resized by sharp while decoding (JPEGs shrink on load), which keeps memory bounded and
// differs from Pillow by about a grey level.
import sharp, { Metadata } from 'sharp';
import { resizedSize } from './preprocess';
import { resizeBilinearRgb } from './resample';

/** Above this the full-resolution RGB array (3 bytes a pixel) is not materialised for an exact resize. */
export const EXACT_RESIZE_MAX_PIXELS = 40_000_000;

export interface DecodedImage {
  /** Size after EXIF orientation, before resizing. */
  width: number;
  height: number;
  /** Interleaved RGB at the model size. */
  rgb: Uint8Array;
  modelWidth: number;
  modelHeight: number;
}

export class ImageInputError extends Error {}

export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;

function describeSharpError(e: unknown): string {
  const msg = (e as Error).message ?? String(e);
  if (/unsupported image format|Input buffer contains unsupported/i.test(msg)) return 'not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, GIF, AVIF, SVG)';
  if (/empty|zero length|Input file is missing/i.test(msg)) return 'the file is empty';
  if (/premature end|truncated|Read error|corrupt|not enough data|unexpected end|IDAT|CRC/i.test(msg)) return `the image data is damaged or truncated (${msg.split('\n')[0]})`;
  return msg.split('\n')[0];
}

function checkPixels(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageInputError(`the image is ${width}×${height} (${((width * height) / 1e6).toFixed(0)} megapixels), above the limit of ${(maxPixels / 1e6).toFixed(0)} megapixels`);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A PNG's size from its IHDR chunk (the first chunk, by the PNG specification), read here because sharp gives no
 * size for a PNG with no image data ("corrupt header"): a forged 30000×30000 header with nothing after it must
 * still be refused for its size, the reason that holds whatever follows.
 */
function pngHeaderSize(input: Buffer): { width: number; height: number } | undefined {
  if (input.length < 24 || !input.subarray(0, 8).equals(PNG_SIGNATURE) || input.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: input.readUInt32BE(16), height: input.readUInt32BE(20) };
}

export async function imageSize(input: Buffer, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): Promise<{ width: number; height: number }> {
  if (input.length === 0) throw new ImageInputError('the file is empty (0 bytes)');
  const header = pngHeaderSize(input);
  if (header) checkPixels(header.width, header.height, maxPixels);
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageInputError(describeSharpError(e));
  }
  let width = meta.width ?? 0;
  let height = meta.height ?? 0;
  if (!width || !height) throw new ImageInputError('the image has no size');
  checkPixels(width, height, maxPixels);
  if ((meta.orientation ?? 1) >= 5) [width, height] = [height, width];
  return { width, height };
}

export async function loadImageForModel(input: Buffer, patch: number, maxLongSide: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): Promise<DecodedImage> {
  const { width, height } = await imageSize(input, maxPixels);
  const size = resizedSize(width, height, patch, maxLongSide);
  try {
    let pipeline = sharp(input, { failOn: 'error', limitInputPixels: maxPixels }).rotate().toColourspace('srgb').removeAlpha();
    const exact = width * height <= EXACT_RESIZE_MAX_PIXELS;
    const resize = size.width !== width || size.height !== height;
    if (resize && !exact) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const decoded = exact ? { width, height } : size;
    if (info.channels !== 3 || info.width !== decoded.width || info.height !== decoded.height) {
      throw new Error(`unexpected decoded layout ${info.width}×${info.height}×${info.channels}`);
    }
    let rgb: Uint8Array = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (resize && exact) rgb = resizeBilinearRgb(rgb, width, height, size.width, size.height);
    return { width, height, rgb, modelWidth: size.width, modelHeight: size.height };
  } catch (e) {
    throw new ImageInputError(describeSharpError(e));
  }
}

/** A mask image (any format sharp reads) → 0/1 at its own size (grey ≥ 128 or opaque alpha counts as set). */
export async function loadMask(input: string | Buffer): Promise<{ width: number; height: number; data: Uint8Array }> {
  try {
    const { data, info } = await sharp(input, { failOn: 'error' }).rotate().flatten({ background: '#000000' }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const out = new Uint8Array(info.width * info.height);
    for (let i = 0; i < out.length; i++) out[i] = data[i * info.channels] >= 128 ? 1 : 0;
    return { width: info.width, height: info.height, data: out };
  } catch (e) {
    throw new ImageInputError(describeSharpError(e));
  }
}
