/**
 * Epoch milliseconds with sub-millisecond resolution, the same system clock in every process (the engine's
 * worker, the extension host, a webview's performance.timeOrigin + performance.now()), so a time stamped in
 * one process can be compared with one taken in another: the benchmarks split a request's way by process.
 */
export const epochNow = (): number => performance.timeOrigin + performance.now();
