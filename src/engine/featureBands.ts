// How a large image's patch grid is cut into bands of patch rows for the upsampler, so that its transient
// tensors (C channels at up to 8× the grid, ~1 GB each for a 1024-px image at the paper's widths) stay
// small. The upsampler is local: every 2× block is a 2×2 stride-2 transposed convolution (no overlap), a
// 3×3 depthwise convolution (one pixel of context at that block's resolution) and per-pixel layers, so
// with k blocks a band's zero padding reaches 1 + 2 + … + 2^(k−1) = 2^k − 1 output pixels into the band:
// less than one patch row (2^k pixels). Each band therefore reads one patch row of real context above and
// below (the halo) and keeps only its own rows, which then equal the whole-image run's. The bilinear
// upsampler needs one patch of context as well.

export interface FeatureBand {
  /** Patch rows fed to the upsampler, [inStart, inEnd): the band's rows with the halo. */
  inStart: number;
  inEnd: number;
  /** Patch rows whose upsampled features are kept, [start, end). */
  start: number;
  end: number;
}

export const HALO_ROWS = 1;

/** Bands of at most `rowsPerBand` kept patch rows covering rows [0, gh), in order. */
export function featureBands(gh: number, rowsPerBand: number): FeatureBand[] {
  if (!Number.isInteger(gh) || gh < 1) throw new Error(`grid height must be a positive integer, not ${gh}`);
  const rows = Math.max(1, Math.floor(rowsPerBand));
  const bands: FeatureBand[] = [];
  for (let start = 0; start < gh; start += rows) {
    const end = Math.min(gh, start + rows);
    bands.push({ start, end, inStart: Math.max(0, start - HALO_ROWS), inEnd: Math.min(gh, end + HALO_ROWS) });
  }
  return bands;
}

/**
 * Patch rows per band so that one band's widest tensor (`channels` at the upsampled resolution, with its
 * halo rows) stays within `bandBytes`.
 */
export function rowsPerBand(gw: number, upsample: number, channels: number, bandBytes: number): number {
  const bytesPerRow = upsample * upsample * gw * channels * 4;
  return Math.max(1, Math.floor(bandBytes / bytesPerRow) - 2 * HALO_ROWS);
}
