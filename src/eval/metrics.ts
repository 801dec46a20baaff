// Metrics of the paper's evaluation: cIoU (Σ intersection / Σ union), gIoU (mean per-sample IoU, an empty
// prediction for an empty target counting as 1), MCQ accuracy, and PerBench's overall score.

export interface IouAccumulator {
  intersection: number;
  union: number;
  ious: number[];
}

export const newIou = (): IouAccumulator => ({ intersection: 0, union: 0, ious: [] });

export function addIou(acc: IouAccumulator, pred: Uint8Array | null, gt: Uint8Array): void {
  let inter = 0, union = 0;
  for (let i = 0; i < gt.length; i++) {
    const p = pred ? pred[i] : 0;
    if (p && gt[i]) inter++;
    if (p || gt[i]) union++;
  }
  acc.intersection += inter;
  acc.union += union;
  acc.ious.push(union === 0 ? 1 : inter / union);
}

/**
 * Σ intersection / Σ union. Samples whose targets and predictions are all empty score 1 (nothing to find,
 * nothing found); no samples at all score 0, like gIoU: a split without V-T RES tasks must not add 50 points
 * of "perfect" V-T RES to the PerBench overall.
 */
export function cIoU(acc: IouAccumulator): number {
  if (acc.ious.length === 0) return 0;
  return acc.union === 0 ? 1 : acc.intersection / acc.union;
}

export function gIoU(acc: IouAccumulator): number {
  return acc.ious.length ? acc.ious.reduce((a, b) => a + b, 0) / acc.ious.length : 0;
}

/** PerBench overall on the paper's scale: (METEOR×100 + 100×MCQ accuracy + 100×(cIoU + gIoU)/2) / 3, inputs in [0, 1]. */
export function perbenchOverall(meteor: number, mcqAccuracy: number, vtresCIoU: number, vtresGIoU: number): number {
  return (meteor * 100 + 100 * mcqAccuracy + (100 * (vtresCIoU + vtresGIoU)) / 2) / 3;
}

/** The reference's MCQ scoring: correct when the ground-truth answer string occurs in the prediction. */
export function mcqCorrectReference(prediction: string, answer: string): boolean {
  return prediction.includes(answer);
}

/** Stricter scoring: the chosen option (its letter, or its text) is exactly the right one. */
export function mcqCorrectExact(prediction: string, choices: string[], answer: string): boolean {
  const text = prediction.replace(/<\|endoftext\|>|<\|im_end\|>/g, '').trim();
  const m = text.match(/^([A-Z])[.)](?:\s+(.*?))?\.?$/);
  if (m) {
    const idx = m[1].charCodeAt(0) - 65;
    return choices[idx] === answer && (!m[2] || m[2] === answer);
  }
  return text.replace(/\.$/, '') === answer;
}

/**
 * Caption text as the reference's eval reads it: without the <PromptK> prefix, ':' and end tokens. Only for
 * scoring (it must match the reference); what users read and stored captions go through readableText.ts.
 */
export function cleanCaption(prediction: string): string {
  return prediction.replace(/<Prompt\d+>/g, '').replace(/<\|endoftext\|>|<\|im_end\|>|\[SEG\]/g, '').replace(/^\s*:\s*/, '').trim();
}
