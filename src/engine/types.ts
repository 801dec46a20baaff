// The engine's own vocabulary: tasks, answers, devices and the model summary. The in-process engine, the
// CLI and the worker protocol (workerProtocol.ts) all speak it; nothing here is about processes.
import type * as z from 'zod/mini';
import type { engineProgressSchema } from './progressSchema';
import type { RegionSpec } from './regions';
import type { AnswerPart, QuestionPart } from './question';

export type DeviceSetting = 'auto' | 'cuda' | 'cpu';
export type ExecutionProvider = 'cuda' | 'cpu';
/** Decoder weights: float32, or the int8 variant a model directory may ship beside it. */
export type Weights = 'float32' | 'int8';
export type WeightsSetting = 'auto' | Weights;
export type Priority = 'interactive' | 'batch';

export interface DeviceInfo {
  requested: DeviceSetting;
  provider: ExecutionProvider;
  /** Why the engine is not on CUDA although it was asked to try. */
  fallbackReason?: string;
  /** The decoder weights that run, and why when the choice was automatic. */
  weights: Weights;
  weightsReason?: string;
}

export interface ModelSummary {
  name: string;
  dir: string;
  hiddenSize: number;
  layers: number;
  maxLongSide: number;
  /** The long side images are resized to: maxLongSide, or less where the user capped it (pixelSail.maxInputSide). */
  inputSide: number;
  promptSlots: number;
  /** The model's prompt templates (config.json `prompts`), e.g. for a client that asks for a caption in a chat. */
  prompts?: { caption: string; segment: string };
}

import type { Rle } from '../masks/rle';
export type { Rle };

export interface MaskResult {
  rle: Rle;
  area: number;
  bbox: [number, number, number, number];
}

export interface EngineAnswer {
  answer: string;
  /** The answer read from its token ids: text, region references and masks, no raw special tokens. */
  answerParts?: AnswerPart[];
  masks: MaskResult[];
  device: ExecutionProvider;
  /** Stage timings in ms, plus counts (generatedTokens) and cacheHit (1/0). */
  timingsMs: Record<string, number>;
  /** Present when the answer can be followed up (multi-turn). */
  conversationId?: string;
}

interface BaseTask {
  image: string;
  maxNewTokens?: number;
  /**
   * Part of a batch job: the image state goes into a small cache of its own, so a folder run never evicts
   * the images a user is working on; no follow-up conversation is kept; and `next` (the job's next image)
   * starts decoding now, overlapped with this request's inference.
   */
  batch?: { next?: string };
}

/**
 * Where a request is, sent as each stage starts. `prefill` runs the image block in one onnxruntime call that
 * cannot report a fraction or be interrupted (onnxruntime-node runs it synchronously on the worker's thread and
 * has no terminate for a run in flight); a large model spends seconds to minutes there, so the editor shows
 * the stage, the patch count and the elapsed time, and Cancel replaces the worker.
 */
export type EngineProgress = z.infer<typeof engineProgressSchema>;
export type EngineStage = EngineProgress['stage'];

export type EngineTask =
  | (BaseTask & { kind: 'segment'; text: string })
  | (BaseTask & { kind: 'segmentRegions'; regions: RegionSpec[] })
  | (BaseTask & { kind: 'describe'; region: RegionSpec })
  /** `text` is the CLI's form (`<regionN>` names a region); `question` the structured one. Exactly one. */
  | (BaseTask & { kind: 'ask'; text?: string; question?: QuestionPart[]; regions: RegionSpec[]; conversationId?: string });
