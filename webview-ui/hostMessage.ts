// Both webviews check every message from the extension host against their protocol's schema
// (src/editor/protocol.ts, src/chat/protocol.ts) before showing anything of it. A message that does not fit
// is not applied (what is on screen stays), and the problem is said in words short enough for a banner.
// Kept apart from the DOM code so it is unit-tested on Node.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini loads no messages by default ("Invalid input" for everything): English ones say what was wrong.
// jitless: zod would otherwise probe `new Function` for faster objects, which the webview's CSP forbids (and
// reports as a violation each time the page loads).
z.config({ ...en(), jitless: true });

/** The longest problem text (the chat's `error` message to the host allows 4000 characters). */
const MAX_PROBLEM_CHARS = 300;

export type HostMessage<T> = { ok: true; message: T } | { ok: false; problem: string };

/**
 * `data` checked against `schema`: the message, or why it was refused: "The chat ignored a malformed
 * 'state' message from the extension: state.turns.0.id: Too small: …".
 */
export function parseHostMessage<T>(schema: z.ZodMiniType<T>, data: unknown, view: string): HostMessage<T> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  const problem = `The ${view} ignored a malformed ${messageType(data)}message from the extension: ${where}${issue?.message ?? 'it does not fit the protocol'}`;
  return { ok: false, problem: problem.length > MAX_PROBLEM_CHARS ? `${problem.slice(0, MAX_PROBLEM_CHARS - 1)}…` : problem };
}

/** The message's type tag as a short word for the problem text ('state'), or "" when it has none. */
export function messageType(data: unknown): string {
  const type = typeof data === 'object' && data !== null ? (data as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? `'${type.slice(0, 40)}' ` : '';
}
