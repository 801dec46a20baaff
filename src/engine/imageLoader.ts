// Decoding images with sharp into 8-bit RGB at the model's resize rule.
import sharp from 'sharp';
import { resizedSize } from './preprocess';

export interface DecodedImage {
  /** Size after EXIF orientation, before resizing. */
  width: number;
  height: number;
  /** Interleaved RGB at the model size. */
  rgb: Uint8Array;
  modelWidth: number;
  modelHeight: number;
}

export async function loadImageForModel(input: string | Buffer, patch: number, maxLongSide: number): Promise<DecodedImage> {
  const base = sharp(input, { failOn: 'error' }).rotate();
  const meta = await base.clone().metadata();
  let width = meta.width ?? 0;
  let height = meta.height ?? 0;
  if ((meta.orientation ?? 1) >= 5) [width, height] = [height, width];
  const size = resizedSize(width, height, patch, maxLongSide);
  let pipeline = base.clone().toColourspace('srgb').removeAlpha();
  if (size.width !== width || size.height !== height) {
    pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
  }
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { width, height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), modelWidth: info.width, modelHeight: info.height };
}

/** A single-channel mask image (any format sharp reads) → booleans at its own size. */
export async function loadMask(input: string | Buffer): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(input, { failOn: 'error' }).rotate().greyscale().raw().toBuffer({ resolveWithObject: true });
  const out = new Uint8Array(info.width * info.height);
  for (let i = 0; i < out.length; i++) out[i] = data[i * info.channels] >= 128 ? 1 : 0;
  return { width: info.width, height: info.height, data: out };
}
