// When the editor starts to tell the user what the engine is doing. A prompt that is answered sooner has no
// stage anyone could read: its stage messages would only travel the same way as the answer just ahead of it
// (code-server's message path, where each message costs time in the workbench too), and the progress area,
// whose indeterminate bar animates every frame, would flash for a few frames over the image while the
// answer is being drawn. Both the host (src/host/editor/editorSession.ts) and the webview (webview-ui/main.ts)
// use it; the webview imports this file rather than protocol.ts, which would bundle zod into it.

/** Runs shorter than this show no progress, and their stages are not sent. */
export const PROGRESS_AFTER_MS = 300;

export interface StageRelayClock {
  now(): number;
  /** Calls `f` once after `ms`. */
  later(f: () => void, ms: number): void;
}

const realClock: StageRelayClock = { now: () => Date.now(), later: (f, ms) => void setTimeout(f, ms) };

/**
 * The onProgress of one request: stages reported within `delayMs` of `start` are held, and the latest of them
 * is posted once the request has run `delayMs`, if it is still running then (`running()`); later stages are
 * posted as they come. A request answered within `delayMs` posts none.
 */
export function heldStages<P>(post: (p: P) => void, running: () => boolean, delayMs = PROGRESS_AFTER_MS, clock: StageRelayClock = realClock): (p: P) => void {
  const start = clock.now();
  let held: { p: P } | undefined;
  let waiting = false;
  return (p: P) => {
    const elapsed = clock.now() - start;
    if (elapsed >= delayMs) {
      held = undefined;
      post(p);
      return;
    }
    held = { p };
    if (waiting) return;
    waiting = true;
    clock.later(() => {
      const h = held;
      held = undefined;
      if (h && running()) post(h.p);
    }, delayMs - elapsed);
  };
}
