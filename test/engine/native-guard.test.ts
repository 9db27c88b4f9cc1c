// The addon's own guard: llama.cpp's context is not safe for two computations at once, so the native session
// refuses a second load/generate/evaluate while one is queued or running, and takes work again once it settles.
// (LocalEngine serialises its calls too; this checks the layer below it, which a new caller could bypass.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon, type NativeSession } from '../../extension/engine/native';
import { MOE } from './helpers';

const sampling = { temperature: 0, topK: 40, topP: 1, minP: 0, repeatPenalty: 1, repeatLastN: 64, seed: 1, maxTokens: 16, stop: [] };

describe('native session: one computation at a time', () => {
  let session: NativeSession;
  let tokens: Int32Array;

  beforeAll(async () => {
    const { getLlama } = await import('node-llama-cpp');
    await getLlama({ gpu: false });
    session = new (loadNativeAddon().NativeSession)();
    const loading = session.load({ path: MOE, gpuLayers: 0, cpuMoeLayers: 0, contextSize: 256, threads: 1, moeLayers: [0, 1, 2, 3], expertsPerToken: 2 });
    // Queued behind the load: refused, and the load is not disturbed.
    expect(() => session.evaluate({ tokens: new Int32Array([1, 2, 3]), firstOutput: 0, capture: false })).toThrow(/busy/);
    const loaded = await loading;
    expect(loaded.error).toBe('');
    tokens = session.tokenize('The router picks', true, false);
  }, 60_000);
  afterAll(() => session?.dispose());

  const generate = () => session.generate({ tokens, sampling, capture: true, reusePrefix: false, emitIntervalMs: 30 }, () => {});

  it('a second generation or an evaluation during a generation is refused; the first completes untouched', async () => {
    const first = generate();
    expect(() => generate()).toThrow(/busy: a computation is already running/);
    expect(() => session.evaluate({ tokens, firstOutput: 0, capture: false })).toThrow(/busy/);
    const result = await first;
    expect(result.error).toBe('');
    expect(result.generatedTokens).toBeGreaterThan(0);
  });

  it('the session takes work again after a generation settles, and after an evaluation', async () => {
    expect((await generate()).error).toBe('');
    const evaluated = await session.evaluate({ tokens, firstOutput: 0, capture: false });
    expect(evaluated.logprobs.length).toBe(tokens.length - 1);
    expect((await generate()).error).toBe('');
  });

  it('sampling comes whole from JavaScript (engine/sampling.ts): a missing field is refused, and the session still takes work', async () => {
    const { topK: _topK, ...withoutTopK } = sampling;
    expect(() => session.generate({ tokens, sampling: withoutTopK as typeof sampling, capture: false, reusePrefix: false, emitIntervalMs: 30 }, () => {})).toThrow(/sampling\.topK must be a number/);
    expect((await generate()).error).toBe('');
  });
});
