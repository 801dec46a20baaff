// Messages between the engine client (extension host, CLI, bench) and the engine worker process.
// Both sides import this file, so a message's shape is defined once.
import type { RegionSpec } from './regions';

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
  promptSlots: number;
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
}

export type EngineTask =
  | (BaseTask & { kind: 'segment'; text: string })
  | (BaseTask & { kind: 'segmentRegions'; regions: RegionSpec[] })
  | (BaseTask & { kind: 'describe'; region: RegionSpec })
  | (BaseTask & { kind: 'ask'; text: string; regions: RegionSpec[]; conversationId?: string });

export interface WorkerConfig {
  modelPath: string;
  device: DeviceSetting;
  weights?: WeightsSetting;
  cacheBudgetMb: number;
  maxImagePixels: number;
  threads?: number;
}

export interface WorkerStats {
  rssMb: number;
  peakRssMb: number;
  cacheEntries: number;
  cacheMb: number;
}

export type ToWorker =
  | { type: 'run'; id: number; task: EngineTask }
  | { type: 'cancel'; id: number }
  | { type: 'stats'; id: number };

export type FromWorker =
  | { type: 'ready'; device: DeviceInfo; model: ModelSummary }
  | { type: 'fatal'; message: string }
  | { type: 'token'; id: number; text: string }
  | { type: 'result'; id: number; answer: EngineAnswer }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'error'; id: number; message: string; code: ErrorCode };

export type ErrorCode = 'bad-input' | 'cancelled' | 'model' | 'internal';

/** Worker start-up configuration travels in an environment variable, before any message. */
export const WORKER_CONFIG_ENV = 'PIXEL_SAIL_WORKER_CONFIG';
