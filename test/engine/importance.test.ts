// Expert importance on real llama.cpp: Δ perplexity per (layer, expert) equals a plain perplexity run with that
// expert ablated over every chunk (so reusing provably unchanged chunks loses nothing), REAP scores and shares
// are consistent with the baseline's routing, and the pass count is at most one per (layer, expert). Each Δ has the
// paired t-interval of the per-chunk changes of those plain runs, and its flag says whether that interval excludes 0.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairedInterval, runImportance } from '../../extension/engine/importance';
import { isEngineError } from '../../extension/engine/errors';
import { DENSE, MOE, newEngine, QWEN, ROOT } from './helpers';

const TEXT = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const engine = newEngine();
afterAll(() => engine.dispose());

describe.each([
  // Short chunks: on the Mixtral-style model some experts go unchosen in a chunk, whose evaluation is then reused.
  ['Mixtral-style', MOE, true],
  ['qwen2moe', QWEN, false],
])('importance on the %s fixture', (_name, modelPath, reuses) => {
  it('Δ perplexity equals a full ablated run; REAP and shares follow the baseline', async () => {
    await engine.load({ modelPath, contextSize: 128 });
    const request = { text: TEXT, context: 12, chunks: 6, layers: [1] };
    const progress: string[] = [];
    const result = await runImportance(engine, request, { onProgress: (p) => progress.push(`${p.done}/${p.total}:${p.layer}:${p.expert}`) });
    const experts = engine.model!.routing!.experts;
    expect(progress).toHaveLength(experts);
    expect(progress[experts - 1]).toBe(`${experts}/${experts}:1:${experts - 1}`);
    expect(result.layers).toEqual([1]);
    expect(result.evaluations + result.reused).toBe(6 * (1 + experts));
    if (reuses) expect(result.reused).toBeGreaterThan(0);
    else expect(result.reused).toBe(0);
    const baseline = await engine.perplexity({ text: TEXT, context: 12, chunks: 6 });
    const meanNll = (c: { nll: number; scored: number }) => c.nll / c.scored;
    for (let e = 0; e < experts; e++) {
      const full = await engine.perplexity({ text: TEXT, context: 12, chunks: 6, intervention: { ablate: { '1': [e] } } });
      // The interval: from the plain runs' per-chunk changes in mean NLL, mapped to perplexity; it holds the Δ.
      const nll = pairedInterval(full.perChunk.map((c, i) => meanNll(c) - meanNll(baseline.perChunk[i])));
      const [low, high, delta] = [result.deltaLow[0][e], result.deltaHigh[0][e], result.deltaPerplexity[0][e]];
      expect(Math.abs(low - baseline.perplexity * Math.expm1(nll.low))).toBeLessThan(1e-4 * baseline.perplexity);
      expect(Math.abs(high - baseline.perplexity * Math.expm1(nll.high))).toBeLessThan(1e-4 * baseline.perplexity);
      expect(low).toBeLessThanOrEqual(delta + 1e-9);
      expect(high).toBeGreaterThanOrEqual(delta - 1e-9);
      expect(result.significant[0][e]).toBe(low > 0 || high < 0);
      // A reused chunk is the same mathematically; float rounding of the router's softmax sum differs (~1e-6).
      expect(Math.abs(result.perplexity[0][e] / full.perplexity - 1)).toBeLessThan(1e-4);
      expect(Math.abs(result.deltaPerplexity[0][e] - (full.perplexity - result.baseline.perplexity))).toBeLessThan(1e-4 * result.baseline.perplexity);
      // an expert never chosen has no REAP score; a chosen one a positive one
      expect(result.reap[0][e] > 0).toBe(result.share[0][e] > 0);
    }
    expect(result.share[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(result.noise).toMatchObject({ level: 0.95, chunks: 6, cells: experts, maxChunks: Math.floor(result.baseline.tokens / 12) });
    expect(result.noise.withinNoise).toBe(result.significant[0].filter((s) => !s).length);
    // 6 chunks are few: the result asks for more
    expect(result.noise.moreChunks).toBe(true);
    expect(result.noise.suggestedChunks).toBe(12);
  });
});

describe('importance refusals', () => {
  it('an unknown layer and a dense model are clear errors', async () => {
    await engine.load({ modelPath: MOE, contextSize: 128 });
    await expect(runImportance(engine, { text: TEXT, context: 12, chunks: 1, layers: [7] })).rejects.toThrow(/layer 7 is not a MoE layer/);
    await engine.load({ modelPath: DENSE, contextSize: 128 });
    const error = await runImportance(engine, { text: TEXT, context: 12, chunks: 1 }).catch((e: unknown) => e);
    expect(isEngineError(error, 'not-moe')).toBe(true);
  });
});
