// Checks a model directory's ONNX graphs against the PyTorch parity fixtures written by export.py, through
// the engine's own preprocessing, tokenizer and runner (used by dist/parity.js and pixel-sail check-model).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImageForModel, loadMask } from '../engine/imageLoader';
import { loadModelDir } from '../engine/modelDir';
import { type GenerateResult, type KvCache, ModelRunner } from '../engine/modelRunner';
import { patchify } from '../engine/preprocess';
import { type Grid, positionIds } from '../engine/sequence';
import { TextCodec } from '../engine/tokenizer';
import { promptSlots } from '../engine/visualPrompts';
import { decodeF32, maxAbsDiff, readFixtures } from './fixtures';

export interface ParityReport {
  model: string;
  tolerance: number;
  diffs: Record<string, number>;
  exact: Record<string, boolean>;
  /** The int8 decoder variant, when the model ships one, against the same float32 PyTorch fixtures. */
  int8?: Int8Report;
  ok: boolean;
}

/** int8 weights cannot match float32 to 1e-4; what must hold is the same answer and the same mask. */
export interface Int8Report {
  generatedIdsEqual: boolean;
  /** IoU of the mask (logit > 0) against the PyTorch float32 mask. */
  maskIoU: number;
  /** Largest mask-logit difference relative to the largest float32 mask logit. */
  maskLogitsRelDiff: number;
  /** With graphs.decoder.logits_rows > 1: checkDrafts' results on the int8 decoder (not part of ok). */
  drafts?: Record<string, boolean>;
  ok: boolean;
}

export const INT8_MIN_MASK_IOU = 0.95;

function maskIoU(a: Float32Array, b: Float32Array): number {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0, y = b[i] > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union ? inter / union : 1;
}

export async function checkParity(modelDir: string, tolerance: number): Promise<ParityReport> {
  const model = loadModelDir(modelDir);
  const { dir, fixtures: fx } = readFixtures(model.dir);
  const rules = model.config.image;
  const diffs: Record<string, number> = {};
  const exact: Record<string, boolean> = {};

  const codec = new TextCodec(model);
  fx.tokenizer.forEach((t, i) => (exact[`tokenizer[${i}]`] = sameList(codec.encode(t.text), t.ids)));
  exact.promptIds = sameList(codec.userTurn(fx.generate.prompt), fx.generate.prompt_ids);

  const img = await loadImageForModel(fs.readFileSync(path.join(dir, fx.image.file)), rules.patch_size, rules.max_long_side);
  const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, rules);
  exact.grid = grid.gh === fx.image.gh && grid.gw === fx.image.gw;
  diffs.visionPatches = maxAbsDiff(patches, decodeF32(fx.vision_patches));
  // Pictures the resize rule changes: Pillow's bilinear resample must be reproduced exactly.
  for (const [k, r] of (fx.resized ?? []).entries()) {
    const pic = await loadImageForModel(fs.readFileSync(path.join(dir, r.file)), rules.patch_size, rules.max_long_side);
    const p = patchify(pic.rgb, pic.modelWidth, pic.modelHeight, rules);
    exact[`resized[${k}].grid`] = p.grid.gh === r.gh && p.grid.gw === r.gw;
    diffs[`resized[${k}].visionPatches`] = p.patches.length === r.gh * r.gw * 3 * rules.patch_size ** 2 ? maxAbsDiff(p.patches, decodeF32(r.vision_patches)) : Infinity;
  }

  const masks = await Promise.all(fx.prompt_masks.map(async (m) => ({ ...(await loadMask(path.join(dir, m.file))), slot: m.slot })));
  const slots = promptSlots(masks, img.modelWidth, img.modelHeight, rules.patch_size, rules.prompt_overlap);
  exact.promptSlots = sameList(slots, fx.slot_ids);
  const block = fx.image_block;
  const pos = positionIds(0, block.input_ids.length, grid);
  exact.positionIds = sameList(Array.from(pos, Number), block.position_ids.flat());

  const fid = fx.fidelity;
  let fidelityInput: { patches: Float32Array; grid: typeof grid; slots: Int32Array } | undefined;
  if (fid) {
    const pic = await loadImageForModel(fs.readFileSync(path.join(dir, fid.image.file)), rules.patch_size, rules.max_long_side);
    const p = patchify(pic.rgb, pic.modelWidth, pic.modelHeight, rules);
    exact['fidelity.grid'] = p.grid.gh === fid.image.gh && p.grid.gw === fid.image.gw;
    exact['fidelity.promptOverlap'] = (rules.prompt_overlap ?? 'largest_first') === fid.prompt_overlap;
    const fmasks = await Promise.all(fid.prompt_masks.map(async (m) => ({ ...(await loadMask(path.join(dir, m.file))), slot: m.slot })));
    const fslots = promptSlots(fmasks, pic.modelWidth, pic.modelHeight, rules.patch_size, rules.prompt_overlap);
    exact['fidelity.slotIds'] = sameList(fslots, fid.slot_ids);
    exact['fidelity.promptIds'] = sameList(codec.userTurn(fid.generate.prompt), fid.generate.prompt_ids);
    fidelityInput = { patches: p.patches, grid: p.grid, slots: fslots };
  }

  const runner = await ModelRunner.create(model, { executionProviders: ['cpu'] });
  // The reference's features are float32 from one upsampler run: compare that path exactly (the float16 store
  // of large images is checked against it in test/unit/float16Features.test.ts).
  runner.featureStorage = { ...runner.featureStorage, float16AboveBytes: Infinity };
  try {
    const embeds = await runner.embed(block.input_ids, patches, block.vision_patch_indices, block.vp_token_indices);
    diffs.inputsEmbeds = maxAbsDiff(embeds.data as Float32Array, decodeF32(block.inputs_embeds));
    const state = await runner.prefillImage(patches, grid, slots);
    diffs.visionHidden = maxAbsDiff(state.visionHidden.data as Float32Array, decodeF32(fx.vision_hidden));
    diffs.pixelFeatures = maxAbsDiff((await state.pixelFeatures()).data as Float32Array, decodeF32(fx.pixel_features));
    const direct = await runner.decode(embeds, runner.emptyCache(), grid, block.input_ids.length);
    diffs.imageBlockHidden = maxAbsDiff(direct.hidden, decodeF32(block.last_hidden));
    diffs.imageBlockLogits = maxAbsDiff(direct.lastLogits, decodeF32(block.last_logits));

    const gen = await runner.generate(fx.generate.prompt_ids, state.cache, grid, { maxNewTokens: fx.generate.max_new_tokens });
    exact.generatedIds = sameList(gen.tokenIds, fx.generate.output_ids);
    if (runner.draftCapacity > 0) Object.assign(diffs, await checkDrafts(runner, fx.generate, state.cache, grid, gen, exact));

    const prompt = fx.generate.prompt_ids;
    const forced = await runner.generate(prompt, state.cache, grid, { maxNewTokens: 0, answerPrefix: fx.forced_seg.input_ids.slice(prompt.length) });
    diffs.segHidden = maxAbsDiff(forced.segHidden, decodeF32(fx.forced_seg.seg_hidden));
    const logits = await runner.maskLogits(forced.segHidden, forced.segCount, await state.pixelFeatures());
    diffs.maskLogits = maxAbsDiff(logits.data as Float32Array, decodeF32(fx.forced_seg.mask_logits));

    if (fid && fidelityInput) {
      const { patches: fp, grid: fg, slots: fs2 } = fidelityInput;
      const fstate = await runner.prefillImage(fp, fg, fs2);
      const fgen = await runner.generate(fid.generate.prompt_ids, fstate.cache, fg, { maxNewTokens: fid.generate.max_new_tokens });
      exact['fidelity.generatedIds'] = sameList(fgen.tokenIds, fid.generate.output_ids);
      const fprompt = fid.generate.prompt_ids;
      const fforced = await runner.generate(fprompt, fstate.cache, fg, { maxNewTokens: 0, answerPrefix: fid.forced_seg.input_ids.slice(fprompt.length) });
      const flogits = await runner.maskLogits(fforced.segHidden, fforced.segCount, await fstate.pixelFeatures());
      diffs['fidelity.maskLogits'] = maxAbsDiff(flogits.data as Float32Array, decodeF32(fid.forced_seg.mask_logits));
    }
  } finally {
    await runner.release();
  }
  let int8: Int8Report | undefined;
  if (model.hasInt8Decoder) {
    const q = await ModelRunner.create(model, { executionProviders: ['cpu'], weights: 'int8' });
    q.featureStorage = runner.featureStorage;
    try {
      const state = await q.prefillImage(patches, grid, slots);
      const gen = await q.generate(fx.generate.prompt_ids, state.cache, grid, { maxNewTokens: fx.generate.max_new_tokens });
      // The same draft checks on the int8 decoder, reported but not required: its activations are quantized with
      // one scale per call, so a drafted token's logits come from another rounding than a pass of its own, and a
      // random model's near-ties can then go the other way (its plain int8 answer already differs from float32's).
      const drafts: Record<string, boolean> = {};
      if (q.draftCapacity > 0) await checkDrafts(q, fx.generate, state.cache, grid, gen, drafts);
      const prompt = fx.generate.prompt_ids;
      const forced = await q.generate(prompt, state.cache, grid, { maxNewTokens: 0, answerPrefix: fx.forced_seg.input_ids.slice(prompt.length) });
      const got = (await q.maskLogits(forced.segHidden, forced.segCount, await state.pixelFeatures())).data as Float32Array;
      const want = decodeF32(fx.forced_seg.mask_logits);
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
      const r = { generatedIdsEqual: sameList(gen.tokenIds, fx.generate.output_ids), maskIoU: maskIoU(got, want), maskLogitsRelDiff: maxAbsDiff(got, want) / scale };
      int8 = { ...r, ...(q.draftCapacity > 0 ? { drafts } : {}), ok: r.generatedIdsEqual && r.maskIoU >= INT8_MIN_MASK_IOU };
    } finally {
      await q.release();
    }
  }
  const ok = Object.values(diffs).every((d) => d <= tolerance) && Object.values(exact).every(Boolean) && (int8?.ok ?? true);
  return { model: model.dir, tolerance, diffs, exact, ...(int8 ? { int8 } : {}), ok };
}


function sameList(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
}

/**
 * A drafted answer must change nothing but the number of decoder passes. The model's own answer as the draft:
 * every drafted token kept, in one pass for the draft. A draft that leaves it after one token: the same answer,
 * and a cache cut back to what was kept. Returns the largest cache differences from plain decoding.
 */
async function checkDrafts(runner: ModelRunner, want: { prompt_ids: number[]; max_new_tokens: number }, start: KvCache, grid: Grid,
  plain: GenerateResult, exact: Record<string, boolean>): Promise<Record<string, number>> {
  const own = plain.tokenIds.slice(0, runner.draftCapacity);
  const accepted = await runner.generate(want.prompt_ids, start, grid, { maxNewTokens: want.max_new_tokens, draft: own });
  exact['draft.own.ids'] = sameList(accepted.tokenIds, plain.tokenIds);
  exact['draft.own.kept'] = accepted.draftAccepted === own.length;
  exact['draft.own.passes'] = accepted.passes === plain.passes - own.length;
  exact['draft.own.cacheLength'] = accepted.cache.length === plain.cache.length;
  const vocab = runner.model.config.model.vocab_size;
  const wrong = [...own.slice(0, 1), ((own[1] ?? 0) + 1) % vocab, ...own.slice(2)];
  const left = await runner.generate(want.prompt_ids, start, grid, { maxNewTokens: want.max_new_tokens, draft: wrong });
  exact['draft.wrong.ids'] = sameList(left.tokenIds, plain.tokenIds);
  exact['draft.wrong.kept'] = left.draftAccepted === Math.min(1, plain.tokenIds.length);
  exact['draft.wrong.cacheLength'] = left.cache.length === plain.cache.length;
  const cacheDiff = (a: KvCache) => Math.max(...a.tensors.map((t, i) => t.dims[2] === plain.cache.tensors[i].dims[2] ? maxAbsDiff(t.data as Float32Array, plain.cache.tensors[i].data as Float32Array) : Infinity));
  return { 'draft.own.cache': cacheDiff(accepted.cache), 'draft.wrong.cache': cacheDiff(left.cache) };
}
