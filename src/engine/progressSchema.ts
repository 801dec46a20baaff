// The stage a request reached (EngineProgress, types.ts) as a schema: the worker's progress message
// (workerProtocol.ts) and both webview protocols (src/editor/protocol.ts, src/chat/protocol.ts) carry it. zod/mini,
// because the webviews bundle it (see src/annotations/sharedSchemas.ts for why not classic zod).
import * as z from 'zod/mini';

const positiveInt = z.int().check(z.gt(0));

export const engineProgressSchema = z.object({
  stage: z.enum(['image', 'prefill', 'generate', 'masks']),
  /** prefill: the image block's patches (and its length in tokens, patches + 2). */
  patches: z.optional(positiveInt),
  /** prefill: the long side the model sees, in pixels. */
  side: z.optional(positiveInt),
  /** masks: parts of a large image's features upsampled so far, of `total` (featureBands.ts). */
  done: z.optional(z.int().check(z.gte(0))),
  total: z.optional(positiveInt),
});
