// routeByGenerate (how an engine without a native route pass, a remote one, answers routeTexts): each text's prompt
// frames packed in text order, cut at maxTokens, texts of no tokens left at length 0, pieces that decode to the
// frames' texts. On the test fake, whose scripted generate streams the prompt in two frames with known routing.
import { describe, expect, it } from 'vitest';
import { pieceTexts, routeByGenerate } from '../../extension/engine/route';
import type { GenerateCallbacks, GenerateRequest, GenerationResult } from '../../extension/engine/types';
import { FakeEngine } from '../fake-engine';

const LAYERS = 2;
const K = 2;

/** The prompt as two frames; token t (of the whole prompt) routed to experts (id + l) % 4 and (id + l + 1) % 4. */
async function promptFrames(request: GenerateRequest, callbacks: GenerateCallbacks): Promise<GenerationResult> {
  const ids = request.input.kind === 'tokens' ? request.input.ids : [];
  const half = Math.ceil(ids.length / 2);
  for (const [from, to] of [[0, half], [half, ids.length]]) {
    if (from === to) continue;
    const experts = new Uint16Array((to - from) * LAYERS * K);
    const weights = new Float32Array(experts.length);
    for (let t = from; t < to; t++)
      for (let l = 0; l < LAYERS; l++)
        for (let r = 0; r < K; r++) {
          experts[((t - from) * LAYERS + l) * K + r] = (ids[t] + l + r) % 4;
          weights[((t - from) * LAYERS + l) * K + r] = r === 0 ? 0.75 : 0.25;
        }
    callbacks.onFrame?.({ phase: 'prompt', firstIndex: from, ids: Int32Array.from(ids.slice(from, to)), texts: ids.slice(from, to).map((id) => `<${id}>é`), textDelta: '', experts, weights, k: K, layers: LAYERS });
  }
  return { text: '', stopReason: 'max-tokens', promptTokens: ids.length, generatedTokens: 0, promptTokensPerSecond: 0, generatedTokensPerSecond: 0, timeToFirstTokenMs: 0, routingCaptured: true };
}

describe('routeByGenerate', () => {
  it('packs each text’s prompt routing in order, cut at maxTokens; a text of no tokens has length 0', async () => {
    const engine = new FakeEngine({ layers: LAYERS, k: K, experts: 4, script: promptFrames });
    await engine.load({ modelPath: '/m/fake.gguf' });
    const texts = ['one two three four five', '   ', 'six seven'];
    const result = await routeByGenerate(engine, { texts, maxTokens: 4 });
    expect(Array.from(result.lengths)).toEqual([4, 0, 2]);
    expect(Array.from(result.truncated)).toEqual([1, 0, 0]);
    const ids = [...(await engine.tokenize(texts[0])).slice(0, 4), ...(await engine.tokenize(texts[2]))];
    expect(Array.from(result.ids)).toEqual(ids);
    expect(pieceTexts(result.pieceBytes, result.pieceOffsets)).toEqual(ids.map((id) => `<${id}>é`));
    expect([result.layers, result.k]).toEqual([LAYERS, K]);
    ids.forEach((id, t) => {
      for (let l = 0; l < LAYERS; l++) {
        expect(result.experts[(t * LAYERS + l) * K]).toBe((id + l) % 4);
        expect(result.experts[(t * LAYERS + l) * K + 1]).toBe((id + l + 1) % 4);
        expect(result.weights[(t * LAYERS + l) * K]).toBe(0.75);
      }
    });
    // one generate per text that has tokens (after the BOS probe), each a raw token prompt without generation
    const prompts = engine.requests.filter((r) => r.input.kind === 'tokens');
    expect(prompts.map((r) => (r.input.kind === 'tokens' ? r.input.ids.length : -1))).toEqual([4, 2]);
    expect(prompts.every((r) => r.sampling?.maxTokens === 0 && r.reuseCache === false)).toBe(true);
  });
});
