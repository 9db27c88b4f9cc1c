import { describe, expect, it } from 'vitest';
import { formatModelInfo, modelInfoJson } from '../../../extension/cli/format';
import { modelInfo } from '../../model-info';

describe('moe-lens inspect', () => {
  it('--json keeps the flat routing fields, in their order, for a MoE model', () => {
    const json = modelInfoJson(modelInfo({ routing: { moeLayers: [0, 1], experts: 4, expertsPerToken: 1, modelExpertsPerToken: 2, sharedExperts: 1 } }));
    expect(Object.keys(json).slice(0, 10)).toEqual(['path', 'name', 'architecture', 'layers', 'moeLayers', 'experts', 'expertsPerToken', 'modelExpertsPerToken', 'sharedExperts', 'isMoe']);
    expect(json).toMatchObject({ layers: 2, moeLayers: [0, 1], experts: 4, expertsPerToken: 1, modelExpertsPerToken: 2, sharedExperts: 1, isMoe: true });
    expect(json).not.toHaveProperty('routing');
  });

  it('--json: zeros for a dense model and for a server that reports nothing', () => {
    const dense = { layers: 2, moeLayers: [], experts: 0, expertsPerToken: 0, sharedExperts: 0, isMoe: false };
    expect(modelInfoJson(modelInfo({ routing: undefined }))).toMatchObject(dense);
    expect(modelInfoJson(modelInfo({ routing: undefined }))).not.toHaveProperty('modelExpertsPerToken');
    const server = modelInfo({ routing: undefined, layers: undefined, remote: { endpoint: 'http://127.0.0.1:8080', server: 'llama.cpp', model: 'm' } });
    expect(modelInfoJson(server)).toMatchObject({ ...dense, layers: 0 });
  });

  it('says why a model has no experts', () => {
    expect(formatModelInfo(modelInfo())).toMatch(/^experts +4 per layer in 2 MoE layers, 2 used per token$/m);
    expect(formatModelInfo(modelInfo({ routing: undefined }))).toMatch(/^experts +none \(dense model\)$/m);
    const server = modelInfo({ routing: undefined, layers: undefined, placement: undefined, remote: { endpoint: 'http://127.0.0.1:8080', server: 'llama.cpp', model: 'm' } });
    const text = formatModelInfo(server);
    expect(text).toMatch(/^experts +not reported by the server$/m);
    expect(text).toMatch(/^layers +—$/m);
  });
});
