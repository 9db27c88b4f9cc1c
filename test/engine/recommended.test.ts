// Download Model's list: node-llama-cpp's recommended MoE models, and the verdict on whether one fits this
// machine, from the engine's own placement plan.
import { describe, expect, it } from 'vitest';
import { planPlacement, type ModelFacts } from '../../extension/engine/model-file';
import { correctDescription, describeFit, fitOnMachine, isMoeRecommendation, moeRecommendations } from '../../extension/engine/recommended';
import type { PlanInput } from '../../extension/engine/model-file';
import { modelInfo } from '../model-info';
import { newEngine } from './helpers';

const GiB = 2 ** 30;

/** A 48-layer MoE: 1 GiB of attention and embeddings, 0.5 GiB of experts per layer (25 GiB in all). */
function facts(): ModelFacts {
  const layers = 48;
  return {
    layers, moeLayers: [...Array(layers).keys()], experts: 128, expertsPerToken: 8, sharedExperts: 0,
    totalParams: 30e9, activeParams: 3e9, embeddingLength: 2048, vocabSize: 151_936, trainContextLength: 32768,
    expertBytesByLayer: new Map([...Array(layers).keys()].map((l) => [l, 0.5 * GiB])), weightBytes: 25 * GiB,
    decodeBytesPerToken: 2.5 * GiB,
  };
}
const infoFor = (input: PlanInput) => modelInfo({ layers: 48, placement: planPlacement(facts(), input) });

describe("node-llama-cpp's recommended MoE models", () => {
  it('lists the MoE entries of the installed node-llama-cpp and no dense one', async () => {
    const list = await moeRecommendations();
    const names = list.map((m) => m.name);
    for (const moe of ['gpt-oss 20B', 'gpt-oss 120B', 'Qwen 3.6 35B A3B', 'Gemma 4 26B A4B MoE']) expect(names).toContain(moe);
    for (const dense of ['Gemma 4 31B', 'Qwen 3.6 27B', 'Qwen 3 8B']) expect(names).not.toContain(dense);
    for (const m of list) expect(m.fileOptions.every((u) => u.startsWith('hf:'))).toBe(true);
  });

  it("shows node-llama-cpp's names and descriptions without its typos", async () => {
    const list = await moeRecommendations();
    const text = list.map((m) => `${m.name}\n${m.description}`).join('\n');
    expect(text).not.toMatch(/chain of though\b|to the improve|Mistal AI|responses quality|Mixtures of Experts \(MoE\) is|an assistant-like chat use cases/);
    for (const m of list) expect(m.name).toBe(m.name.trim());
    expect(correctDescription('gpt-oss models are using chain of though (CoT) to reason. Mixtures of Experts (MoE) is a technique … work together to the improve the overall performance. Created by Mistal AI.')).toBe(
      'gpt-oss models use chain of thought (CoT) to reason. Mixture of Experts (MoE) is a technique … work together to improve the overall performance. Created by Mistral AI.',
    );
  });

  it('tells MoE descriptions from dense ones that mention MoE', () => {
    expect(isMoeRecommendation({ name: 'x', description: 'This model utilizes a Mixture of Experts architecture.', fileOptions: [] })).toBe(true);
    expect(isMoeRecommendation({ name: 'x', description: 'A dense model, simpler to deploy than the MoE variant.', fileOptions: [] })).toBe(false);
  });
});

describe('whether a model fits this machine', () => {
  it('all on a GPU with room', () => {
    const fit = fitOnMachine(infoFor({ backend: 'cuda', gpuLayers: 49, cpuMoe: 'auto', freeVram: 80 * GiB, contextVram: GiB }), 64 * GiB);
    expect(fit).toMatchObject({ kind: 'vram' });
    expect(describeFit(fit)).toBe('fits in VRAM');
  });

  it('the experts of the first layers in RAM on a smaller GPU', () => {
    // 16 GiB free: 15.2 - 1 (context) = 14.2 GiB budget; 25 - 0.5 n <= 14.2 from n = 22.
    const fit = fitOnMachine(infoFor({ backend: 'cuda', gpuLayers: 49, cpuMoe: 'auto', freeVram: 16 * GiB, contextVram: GiB }), 64 * GiB);
    expect(fit).toEqual({ kind: 'experts-in-ram', layers: 22, of: 48, bytes: 25 * GiB });
    expect(describeFit(fit)).toBe('needs the experts of 22 of 48 layers in RAM');
  });

  it('from RAM when even the non-expert weights exceed the GPU, or on a CPU-only machine', () => {
    expect(fitOnMachine(infoFor({ backend: 'vulkan', gpuLayers: 49, cpuMoe: 'auto', freeVram: 0.5 * GiB }), 64 * GiB).kind).toBe('ram');
    expect(fitOnMachine(infoFor({ backend: 'cpu', gpuLayers: 0, cpuMoe: 'auto' }), 64 * GiB).kind).toBe('ram');
  });

  it('not at all when RAM is too small', () => {
    const fit = fitOnMachine(infoFor({ backend: 'cpu', gpuLayers: 0, cpuMoe: 'auto' }), 24 * GiB);
    expect(fit).toMatchObject({ kind: 'too-big' });
    expect(describeFit(fit)).toBe('does not fit (24.00 GiB RAM)');
  });
});

describe('reading a hub model header', () => {
  it('offline, inspecting an hf: URI fails at once with one clear line', async () => {
    const engine = newEngine();
    try {
      const started = Date.now();
      const error = await engine.inspect({ modelPath: 'hf:unsloth/Qwen3.6-35B-A3B-GGUF:Q4_K_M' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'remote-unavailable' });
      expect((error as Error).message).toMatch(/^cannot resolve hf:unsloth\/Qwen3\.6-35B-A3B-GGUF:Q4_K_M at /);
      expect((error as Error).message).not.toContain('\n');
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await engine.dispose();
    }
  }, 60_000);
});
