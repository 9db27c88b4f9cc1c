// With capture on, every prompt token is an output (llama.cpp computes the last layer only for output rows),
// but nobody reads those rows' logits: the engine cancels each prompt compute right after the last layer's
// routing (skipping the lm_head, one row of n_vocab × n_embd per token) and decodes the final prompt token on
// its own. The tokens, routing and gate weights must equal those of the full compute
// (MOE_LENS_ALL_PROMPT_LOGITS=1, read when a model is loaded), and the last layer's memory must be complete
// (the generated tokens attend to it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalEngine } from '../../extension/engine/local-engine';
import { collect, greedy, MOE, QWEN35 } from './helpers';

const engines: Record<string, { cut: LocalEngine; full: LocalEngine }> = {};
beforeAll(async () => {
  for (const model of [MOE, QWEN35]) {
    const cut = new LocalEngine();
    await cut.load({ modelPath: model, threads: 1, contextSize: 256 });
    process.env.MOE_LENS_ALL_PROMPT_LOGITS = '1';
    const full = new LocalEngine();
    try {
      await full.load({ modelPath: model, threads: 1, contextSize: 256 });
    } finally {
      delete process.env.MOE_LENS_ALL_PROMPT_LOGITS;
    }
    engines[model] = { cut, full };
  }
}, 120_000);
afterAll(async () => {
  for (const { cut, full } of Object.values(engines)) await Promise.all([cut.dispose(), full.dispose()]);
});

it.each([MOE, QWEN35])('prompt routing and answer without the prompt lm_head equal the full compute (%s)', async (model) => {
  const { cut, full } = engines[model];
  const request = { input: { kind: 'text' as const, text: 'The router sends each token to two experts, and the layer adds them' }, sampling: greedy(12), reuseCache: false };
  // The first captured decode learns which node holds the final gate weights; only later ones are cut.
  await collect(cut, request);
  const a = await collect(cut, request);
  const b = await collect(full, request);
  expect(a.tokens.length).toBe(a.result.promptTokens + a.result.generatedTokens);
  expect(a.result.promptTokens).toBeGreaterThan(8);
  expect(a.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
  expect(a.tokens.map((t) => t.experts)).toEqual(b.tokens.map((t) => t.experts));
  // The final prompt token runs alone (the one-row matmul path, and on the hybrid model the delta-net's
  // recurrent step instead of its chunked form), and the tokens after it see its state: rounding only
  // (up to 1e-5 seen; 4 digits allow 5e-5).
  a.tokens.forEach((t, i) => t.weights.forEach((w, l) => w.forEach((x, r) => expect(x).toBeCloseTo(b.tokens[i].weights[l][r], 4))));
  expect(a.result.text).toBe(b.result.text);
});
