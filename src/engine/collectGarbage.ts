// A full collection where the process allows one: the worker is started with --expose-gc (engineClient.ts).
// Large images free buffers of hundreds of MB (an evicted image state, each band of upsampled features) whose
// memory V8 would return only at some later collection, after the next ones had been allocated beside them.
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
