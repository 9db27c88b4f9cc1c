// Perplexity against llama.cpp's own `llama-perplexity` (built from the bundled source by scripts/llama-tools.mjs)
// on the same model, text, context and chunk count: within 0.5 % (in practice the same to ~1e-6: same chunks,
// BOS per chunk, second half scored). Also with an intervention (it changes the figure), the routing statistics
// of the run, and the refusal of a text too short for two chunks.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../extension/engine/errors';
import { buildTools } from '../../scripts/llama-tools.mjs';
import { llamaPerplexity } from './llama-perplexity';
import { MOE, newEngine, QWEN, ROOT } from './helpers';

// Prose and code that no fixture or the demo was trained on: this repository's own README.
const TEXT = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const TEXT_FILE = path.join(ROOT, 'README.md');
const DEMO = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');

const engine = newEngine();
beforeAll(() => buildTools(['llama-perplexity']), 1_800_000);
afterAll(() => engine.dispose());

describe.each([
  ['Mixtral-style fixture', MOE, 128, 4],
  ['qwen2moe fixture', QWEN, 96, 3],
  ['trained demo model', DEMO, 256, 4],
])('perplexity on the %s', (_name, model, context, chunks) => {
  it('equals llama-perplexity within 0.5 %', async () => {
    await engine.load({ modelPath: model, contextSize: context });
    const ours = await engine.perplexity({ text: TEXT, context, chunks });
    const theirs = await llamaPerplexity(model, TEXT_FILE, context, chunks);
    expect(ours.chunks).toBe(chunks);
    expect(ours.scored).toBe(chunks * (context - context / 2 - 1));
    expect(Math.abs(ours.perplexity / theirs - 1)).toBeLessThan(0.005);
  });
});

describe('perplexity with routing and interventions', () => {
  it('reports routing statistics, and an ablation changes the figure', async () => {
    await engine.load({ modelPath: DEMO, contextSize: 256 });
    const progress: number[] = [];
    const base = await engine.perplexity({ text: TEXT, context: 256, chunks: 2, routing: 'reap' }, { onProgress: (p) => progress.push(p.chunk) });
    expect(progress).toEqual([1, 2]);
    const r = base.routing!;
    expect(r.tokens).toBe(2 * 256);
    // every token chose k experts in every layer
    for (const row of r.counts) expect(row.reduce((a, b) => a + b, 0)).toBe(r.tokens * r.k);
    for (const row of r.reap!) for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r.reap!.flat())).toBeGreaterThan(0);
    const ablated = await engine.perplexity({ text: TEXT, context: 256, chunks: 2, intervention: { ablate: { '*': [0, 1] } } });
    expect(ablated.perplexity).toBeGreaterThan(base.perplexity);
    // the same request again gives the same figure (each chunk is evaluated afresh)
    const again = await engine.perplexity({ text: TEXT, context: 256, chunks: 2 });
    expect(again.perplexity).toBeCloseTo(base.perplexity, 6);
  });

  it('refuses a text shorter than two chunks, and keeps working', async () => {
    const error = await engine.perplexity({ text: 'too short', context: 256 }).catch((e: unknown) => e);
    expect(isEngineError(error, 'too-little-text')).toBe(true);
    expect((error as Error).message).toMatch(/needs at least 512/);
    const ok = await engine.perplexity({ text: TEXT, context: 128, chunks: 1 });
    expect(ok.perplexity).toBeGreaterThan(1);
  });
});
