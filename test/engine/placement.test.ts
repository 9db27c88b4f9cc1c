// MoE offload: the placement plan computed from GGUF tensor sizes (a GPU is simulated only here, at the
// edge that cannot exist on this machine), and the placement llama.cpp reports after a real load.
import { afterAll, describe, expect, it } from 'vitest';
import { modelFacts, parseBufferLog, planPlacement, readModelFile, usableBackend, type ModelFacts } from '../../extension/engine/model-file';
import { buildVocab } from '../../scripts/fixtures/models';
import { MOE, newEngine } from './helpers';

const MiB = 2 ** 20;

// 4 layers; each layer's experts take 100 MiB, everything else 40 MiB in total.
const facts: ModelFacts = {
  layers: 4,
  moeLayers: [0, 1, 2, 3],
  experts: 8,
  expertsPerToken: 2,
  sharedExperts: 0,
  totalParams: 0,
  activeParams: 0,
  embeddingLength: 64,
  vocabSize: 100,
  trainContextLength: 512,
  expertBytesByLayer: new Map([0, 1, 2, 3].map((l) => [l, 100 * MiB])),
  weightBytes: 440 * MiB,
  decodeBytesPerToken: 65 * MiB,
};

describe('placement plan', () => {
  it('all / none / N layers of experts in RAM on a GPU backend', () => {
    const all = planPlacement(facts, { backend: 'cuda', gpuLayers: 5, cpuMoe: 'all' });
    expect(all.cpuMoeLayers).toBe(4);
    expect(all.expertBytesInRam).toBe(400 * MiB);
    expect(all.weights).toEqual([
      { device: 'CUDA', bytes: 40 * MiB },
      { device: 'CPU', bytes: 400 * MiB },
    ]);
    const none = planPlacement(facts, { backend: 'cuda', gpuLayers: 5, cpuMoe: 'none' });
    expect(none.cpuMoeLayers).toBe(0);
    expect(none.expertBytesOnGpu).toBe(400 * MiB);
    const two = planPlacement(facts, { backend: 'vulkan', gpuLayers: 5, cpuMoe: 2 });
    expect(two.cpuMoeLayers).toBe(2);
    expect(two.expertBytesInRam).toBe(200 * MiB);
    expect(two.expertBytesOnGpu).toBe(200 * MiB);
    expect(planPlacement(facts, { backend: 'cuda', gpuLayers: 5, cpuMoe: 99 }).cpuMoeLayers).toBe(4);
  });

  it('auto keeps the fewest layers of experts in RAM that fit free VRAM with the context', () => {
    // 0.95 * 400 - 60 = 320 MiB for weights: 440 - 100n <= 320 → n = 2.
    const auto = planPlacement(facts, { backend: 'cuda', gpuLayers: 5, cpuMoe: 'auto', freeVram: 400 * MiB, contextVram: 60 * MiB });
    expect(auto.cpuMoeLayers).toBe(2);
    expect(auto.notes.join(' ')).toMatch(/auto: 2 of 4/);
    // Everything fits: no experts in RAM.
    expect(planPlacement(facts, { backend: 'cuda', gpuLayers: 5, cpuMoe: 'auto', freeVram: 10_000 * MiB, contextVram: 0 }).cpuMoeLayers).toBe(0);
    // Nothing fits: all experts in RAM.
    expect(planPlacement(facts, { backend: 'cuda', gpuLayers: 5, cpuMoe: 'auto', freeVram: 10 * MiB, contextVram: 0 }).cpuMoeLayers).toBe(4);
  });

  it('on the CPU backend everything is in RAM', () => {
    const cpu = planPlacement(facts, { backend: 'cpu', gpuLayers: 0, cpuMoe: 'auto' });
    expect(cpu.cpuMoeLayers).toBe(0);
    expect(cpu.weights).toEqual([{ device: 'CPU', bytes: 440 * MiB }]);
    expect(cpu.expertBytesInRam).toBe(400 * MiB);
  });

  it("reads llama.cpp's buffer log", () => {
    const log = [
      'load_tensors:   CPU_Mapped model buffer size =     0.73 MiB',
      'load_tensors:          CPU model buffer size =     3.00 MiB',
      'load_tensors:        CUDA0 model buffer size =  1024.00 MiB',
      'llama_kv_cache:        CPU KV buffer size =     0.12 MiB',
      'sched_reserve:        CPU compute buffer size =     1.20 MiB',
    ].join('\n');
    const parsed = parseBufferLog(log);
    expect(parsed.weights).toEqual([
      { device: 'CPU_Mapped', bytes: Math.round(0.73 * MiB) },
      { device: 'CPU', bytes: 3 * MiB },
      { device: 'CUDA0', bytes: 1024 * MiB },
    ]);
    expect(parsed.contextBytes).toBe(Math.round(0.12 * MiB) + Math.round(1.2 * MiB));
    expect(parsed.overriddenExpertLayers).toEqual([]);
    const overrides = 'tensor blk.1.ffn_up_exps.weight (1 MiB f32) buffer type overridden to CPU\ntensor blk.0.ffn_down_exps.weight (1 MiB f32) buffer type overridden to CPU';
    expect(parseBufferLog(overrides).overriddenExpertLayers).toEqual([0, 1]);
  });
});

describe('offload options on a real load', () => {
  const engine = newEngine();
  afterAll(() => engine.dispose());

  it.each([
    ['all', 4],
    ['none', 0],
    [2, 2],
  ] as const)('cpuMoe %s is applied by llama.cpp and reported', async (cpuMoe, layers) => {
    const info = await engine.load({ modelPath: MOE, contextSize: 256, cpuMoe });
    expect(info.placement.cpuMoeLayers).toBe(layers);
    expect(info.placement.planned).toBe(false);
    // llama.cpp's loader says which expert tensors took the overridden (system RAM) buffer type.
    expect(info.placement.overriddenExpertLayers).toEqual([...Array(layers).keys()]);
    const total = info.placement.weights.reduce((n, w) => n + w.bytes, 0);
    expect(total).toBeGreaterThan(3.5 * 2 ** 20);
  });
});

describe('decode bytes per token', () => {
  it('counts every weight a decoded token reads: experts at top-k of n, one embedding row', async () => {
    const facts = modelFacts(await readModelFile(MOE, await import('node-llama-cpp')));
    const vocab = buildVocab().tokens.length;
    // moe-llama, all F32, 4 layers: attention q, k, v, o = 64·64 + 2·64·32 + 64·64, two norms of 64, the router
    // 64·8, experts 3 × 64·128·8 of which 2 of 8 are read; then the output 64·vocab, one row of token_embd and
    // the output norm.
    const perLayer = 12288 + 128 + 512 + (3 * 64 * 128 * 8 * 2) / 8;
    expect(facts.decodeBytesPerToken).toBe(4 * (4 * perLayer + 64 * vocab + 64 + 64));
    expect(facts.decodeBytesPerToken).toBeLessThan(facts.weightBytes);
  });
});

describe('usable backend', () => {
  it('a GPU variant with no GPU device (a Vulkan loader over a software driver) runs on the CPU and says why', () => {
    expect(usableBackend('vulkan', [])).toEqual({ backend: 'cpu', note: 'Vulkan found no usable GPU; running on the CPU' });
    expect(usableBackend('cuda', [])).toEqual({ backend: 'cpu', note: 'CUDA found no usable GPU; running on the CPU' });
  });
  it('a GPU variant with a device keeps its backend; the CPU variant is the CPU', () => {
    expect(usableBackend('vulkan', ['AMD Radeon RX 7900'])).toEqual({ backend: 'vulkan' });
    expect(usableBackend(false, [])).toEqual({ backend: 'cpu' });
  });
  it('the CPU plan of a model that a GPU-less loader reports is all RAM and no GPU layers', () => {
    const { backend } = usableBackend('vulkan', []);
    const plan = planPlacement(facts, { backend, gpuLayers: 5, cpuMoe: 'auto' });
    expect(plan.backend).toBe('cpu');
    expect(plan.gpuLayers).toBe(0);
    expect(plan.weights).toEqual([{ device: 'CPU', bytes: 440 * MiB }]);
  });
});
