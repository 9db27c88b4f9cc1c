// A ModelInfo for tests that need one without a model: a small MoE on the CPU. Patch what a test depends on
// (`routing: undefined` for a dense model: its capabilities follow).
import type { GgufModelInfo, ModelInfo } from '../extension/engine/types';
import { localCapabilities } from '../extension/engine/model-file';

export function modelInfo(patch: Partial<ModelInfo> = {}): GgufModelInfo {
  return {
    path: '/models/toy.gguf',
    name: 'toy-moe',
    architecture: 'llama',
    layers: 2,
    routing: { moeLayers: [0, 1], experts: 4, expertsPerToken: 2, sharedExperts: 0 },
    totalParams: 1e6,
    activeParams: 5e5,
    embeddingLength: 64,
    vocabSize: 300,
    trainContextLength: 512,
    contextSize: 512,
    fileBytes: 1e6,
    hasChatTemplate: true,
    continuesText: false,
    placement: { backend: 'cpu', gpuLayers: 0, cpuMoeLayers: 2, weights: [], expertBytesInRam: 0, expertBytesOnGpu: 0, planned: false, notes: [] },
    capabilities: localCapabilities(!('routing' in patch) || patch.routing !== undefined),
    ...patch,
  } as GgufModelInfo;
}
