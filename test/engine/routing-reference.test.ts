// Router capture against an independent TypeScript forward pass of the same GGUF (test/reference):
// for every prompt and generated token, in every MoE layer, the same expert ids in the same order and
// gate weights within 1e-4.
import { afterAll, describe, expect, it } from 'vitest';
import { compareRouting, loadReferenceModel, referenceForward } from '../reference/forward';
import { collect, fixture, greedy, MOE, newEngine, QWEN } from './helpers';

const engine = newEngine();
afterAll(() => engine.dispose());

describe.each([
  ['Mixtral-style llama', MOE],
  ['qwen2moe with shared experts', QWEN],
  ['qwen3moe with per-head Q/K norms and renormalised weights', fixture('moe-qwen3.gguf')],
  ['olmoe with whole-projection Q/K norms and weights not renormalised', fixture('moe-olmoe.gguf')],
  ['gpt-oss with attention sinks, sliding windows, biases and softmax over the chosen experts', fixture('moe-gptoss.gguf')],
  ['deepseek2 with MLA, a dense first layer, sigmoid gating with selection bias, expert groups and routed scaling', fixture('moe-deepseek2.gguf')],
  ["gemma4's MoE layers: a GELU MLP beside the experts, a router on the normalised residual, sliding and proportional-RoPE layers", fixture('moe-gemma4.gguf')],
])('router capture on the %s model', (_name, modelPath) => {
  it('equals the reference forward pass for every token and layer', async () => {
    // Flash attention off and an f32 KV cache: the reference then mirrors llama.cpp's arithmetic, so any
    // difference beyond float rounding would be a capture error. (With llama.cpp's defaults, f16 KV and
    // auto flash attention, ids still match and weights differ by ~1e-4 from f16 rounding of K/V.)
    await engine.load({ modelPath, contextSize: 256, flashAttention: false, kvCache: 'f32' });
    const run = await collect(engine, {
      input: { kind: 'text', text: 'Experts route tokens: function f(x) { return x * 2; } and the answer.' },
      sampling: greedy(16),
    });
    expect(run.result.generatedTokens).toBe(16);
    const ids = run.tokens.map((t) => t.id);
    const reference = referenceForward(loadReferenceModel(modelPath, { attention: 'standard', kvCache: 'f32' }), ids);

    const routing = compareRouting(reference, { experts: run.tokens.map((t) => t.experts), weights: run.tokens.map((t) => t.weights) });
    // Every row must match: no id difference is tolerated, not even at a near-tie.
    expect(routing.idMismatches).toEqual([]);
    expect(routing.nearTieFlips).toEqual([]);
    expect(routing.compared).toBe(ids.length * engine.model!.routing!.moeLayers.length);
    expect(routing.maxWeightDiff).toBeLessThan(1e-4);
  });

  it('chooses the same experts as the reference with llama.cpp default numerics', async () => {
    await engine.load({ modelPath, contextSize: 256 });
    const run = await collect(engine, { input: { kind: 'text', text: 'The router picks two experts per token.' }, sampling: greedy(8) });
    const reference = referenceForward(loadReferenceModel(modelPath), run.tokens.map((t) => t.id));
    run.tokens.forEach((token, t) => expect(token.experts, `token ${t}`).toEqual(reference.routing.experts[t]));
  });
});
