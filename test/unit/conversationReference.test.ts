// A follow-up turn against one pass over the whole transcript: the engine answers turn 2 from turn 1's
// cached state (its KV cache, the answer's tokens, the closing end-of-text it feeds first); the reference
// here feeds the transcript `turn 1 + answer 1 + end of text + turn 2` in one decoder pass from the image's
// prefill and decodes greedily. Same tokens, same logits (to float rounding): a lost cache state, a token
// fed twice or the turn not closed shows up as different logits.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine } from '../../src/engine/engine';
import type { RegionSpec } from '../../src/engine/regions';

const repo = path.resolve(__dirname, '../../..');

describe('a follow-up turn equals one pass over the whole transcript', function () {
  this.timeout(120000);

  for (const model of ['tiny-random', 'default']) {
    it(`${model}: the same answer tokens and logits`, async () => {
      const engine = await Engine.open(path.join(repo, 'models', model), { device: 'cpu', weights: 'float32', cacheBudgetMb: 64 });
      try {
        const image = path.join(repo, 'models', model, 'parity/image.png');
        const regions: RegionSpec[] = [{ kind: 'box', x: 4, y: 4, w: 30, h: 20 }];
        type Generated = { tokenIds: number[] };
        const runner = engine.runner as unknown as {
          generate: (ids: number[], start: unknown, grid: unknown, o: { maxNewTokens: number }) => Promise<Generated>;
          decode: (...a: unknown[]) => Promise<{ lastLogits: Float32Array }>;
        };
        const generated: Generated[] = [];
        const logits: Float32Array[] = [];
        const generate = runner.generate.bind(runner), decode = runner.decode.bind(runner);
        runner.generate = async (...a) => { const g = await generate(...a); generated.push(g); return g; };
        runner.decode = async (...a) => { const r = await decode(...a); logits.push(Float32Array.from(r.lastLogits)); return r; };

        const q1 = 'What is in <region1>?', q2 = 'And what colour is it?';
        const first = await engine.run({ kind: 'ask', image, text: q1, regions, maxNewTokens: 6 });
        const answer1 = generated.at(-1)!.tokenIds;
        generated.length = 0;
        logits.length = 0;
        const second = await engine.run({ kind: 'ask', image, text: q2, regions: [], conversationId: first.conversationId, maxNewTokens: 5 });
        assert.equal(second.timingsMs.cacheHit, 1, 'turn 2 ran from the conversation');
        const turn2 = { tokens: generated[0].tokenIds, logits: [...logits] };

        // The reference: the image's prefill (with the region), then the whole transcript in one pass.
        const prepared = await engine.prepare(image, regions);
        const codec = engine.codec;
        const transcript = [
          ...codec.userTurn(q1.replace('<region1>', '<Prompt0>')), ...answer1,
          ...codec.encode(engine.model.config.chat.answer_suffix), ...codec.userTurn(q2),
        ];
        generated.length = 0;
        logits.length = 0;
        const ref = await generate(transcript, prepared.image.state.cache, prepared.image.grid, { maxNewTokens: 5 });
        assert.deepEqual(turn2.tokens, ref.tokenIds, 'the same answer');
        assert.equal(turn2.logits.length, logits.length, 'the same number of decoder passes');
        turn2.logits.forEach((l, i) => {
          const d = l.reduce((m, v, k) => Math.max(m, Math.abs(v - logits[i][k])), 0);
          assert.ok(d < 1e-3, `pass ${i}: logits differ by ${d}`);
        });
        assert.ok(turn2.logits[0].some((v, k) => v !== turn2.logits[1]?.[k]), 'the passes compared are not all alike');
      } finally {
        await engine.close();
      }
    });
  }
});
