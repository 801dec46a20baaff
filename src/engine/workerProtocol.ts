// Messages between the engine client (extension host, bench) and the engine worker process. Both sides
// import this file, so a message's shape is defined once; the tasks and answers they carry are types.ts's.
import type { DeviceInfo, DeviceSetting, EngineAnswer, EngineTask, ModelSummary, WeightsSetting } from './types';

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
  | { type: 'token'; id: number; text: string; special?: boolean }
  | { type: 'result'; id: number; answer: EngineAnswer }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'error'; id: number; message: string; code: ErrorCode };

export type ErrorCode = 'bad-input' | 'cancelled' | 'model' | 'internal';

/** Worker start-up configuration travels in an environment variable, before any message. */
export const WORKER_CONFIG_ENV = 'PIXEL_SAIL_WORKER_CONFIG';
