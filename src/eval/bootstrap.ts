// Confidence intervals for `pixel-sail eval`. A test split of 50–100 scenes is small: an MCQ accuracy
// read on 50 questions moves by ±0.14 between equally good models, so every figure needs its interval.
// Images are the resampling unit because that is how the generator draws the data (the tasks of one
// scene share its objects), and because cIoU is a ratio of sums that per-task resampling would distort.
import { cIoU, gIoU, IouAccumulator, newIou, perbenchOverall } from './metrics';

/** What one image contributed to each metric, so any metric can be recomputed on a resample of images. */
export interface ImageTally {
  image: number;
  res: IouAccumulator;
  noTarget: { right: number; n: number };
  vtres: IouAccumulator;
  mcq: { right: number; n: number };
  meteor: number[];
}

export const newTally = (image: number): ImageTally => ({
  image, res: newIou(), noTarget: { right: 0, n: 0 }, vtres: newIou(), mcq: { right: 0, n: 0 }, meteor: [],
});

export const METRICS = ['resCIoU', 'resGIoU', 'noTargetAccuracy', 'meteor', 'mcqAccuracy', 'vtresCIoU', 'vtresGIoU', 'overall'] as const;
export type MetricName = (typeof METRICS)[number];

/** The metrics of a set of images, pooled the way `evaluate` pools them. */
export function metricsOf(tallies: ImageTally[]): Record<MetricName, number> {
  const res = newIou(), vtres = newIou();
  let ntRight = 0, ntN = 0, mcqRight = 0, mcqN = 0, meteorSum = 0, meteorN = 0;
  for (const t of tallies) {
    res.intersection += t.res.intersection; res.union += t.res.union; res.ious.push(...t.res.ious);
    vtres.intersection += t.vtres.intersection; vtres.union += t.vtres.union; vtres.ious.push(...t.vtres.ious);
    ntRight += t.noTarget.right; ntN += t.noTarget.n;
    mcqRight += t.mcq.right; mcqN += t.mcq.n;
    for (const m of t.meteor) meteorSum += m;
    meteorN += t.meteor.length;
  }
  const meteor = meteorN ? meteorSum / meteorN : 0;
  const mcqAccuracy = mcqN ? mcqRight / mcqN : 0;
  const vtresCIoU = cIoU(vtres), vtresGIoU = gIoU(vtres);
  return {
    resCIoU: cIoU(res), resGIoU: gIoU(res), noTargetAccuracy: ntN ? ntRight / ntN : 0,
    meteor, mcqAccuracy, vtresCIoU, vtresGIoU, overall: perbenchOverall(meteor, mcqAccuracy, vtresCIoU, vtresGIoU),
  };
}

/** mulberry32: a small seeded generator, so the same evaluation always prints the same interval. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Intervals {
  /** 95 % percentile-bootstrap interval of each metric. */
  intervals: Record<MetricName, [number, number]>;
  method: string;
}

export function bootstrapIntervals(tallies: ImageTally[], options: { resamples?: number; seed?: number } = {}): Intervals {
  const resamples = options.resamples ?? 2000, seed = options.seed ?? 1;
  const random = seeded(seed);
  const draws = Object.fromEntries(METRICS.map((m) => [m, new Float64Array(resamples)])) as Record<MetricName, Float64Array>;
  const sample: ImageTally[] = new Array(tallies.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < tallies.length; i++) sample[i] = tallies[Math.floor(random() * tallies.length)];
    const m = metricsOf(sample);
    for (const name of METRICS) draws[name][r] = m[name];
  }
  const percentile = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
  const intervals = Object.fromEntries(METRICS.map((name) => {
    const sorted = draws[name].sort();
    return [name, tallies.length ? [percentile(sorted, 0.025), percentile(sorted, 0.975)] : [0, 0]];
  })) as Record<MetricName, [number, number]>;
  return { intervals, method: `95 % percentile bootstrap over the ${tallies.length} images, ${resamples} resamples, seed ${seed}` };
}

/** 95 % percentile-bootstrap interval of a mean over items that come in clusters (the crops of one photo
 *  scene share its content): whole clusters are resampled, and the mean is over the items they hold. */
export function clusterBootstrapMean(values: number[], clusters: string[], options: { resamples?: number; seed?: number } = {}): [number, number] {
  if (values.length !== clusters.length) throw new Error(`${values.length} values but ${clusters.length} cluster names`);
  const resamples = options.resamples ?? 2000, seed = options.seed ?? 1;
  const groups = new Map<string, number[]>();
  values.forEach((v, i) => { const g = groups.get(clusters[i]); if (g) g.push(v); else groups.set(clusters[i], [v]); });
  const sums = [...groups.values()].map((g) => [g.reduce((s, v) => s + v, 0), g.length]);
  if (!sums.length) return [0, 0];
  const random = seeded(seed);
  const draws = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0, n = 0;
    for (let i = 0; i < sums.length; i++) {
      const [s, k] = sums[Math.floor(random() * sums.length)];
      sum += s; n += k;
    }
    draws[r] = sum / n;
  }
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
  return [at(0.025), at(0.975)];
}
