// Quantized weights: the Mixtral-style model in Q8_0, Q4_K and MXFP4 (written by gguf-py from the same
// description as the F32 fixtures) loads, generates the same greedy tokens as node-llama-cpp's own decoding and
// captures routing for every token; the planner's byte counts are the file's.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateGgufHeader } from '../../extension/engine/gguf-header';
import { modelFacts, readModelFile } from '../../extension/engine/model-file';
import { collect, fixture, greedy, llamaGreedy, newEngine } from './helpers';

// ggml types: Q8_0 8, Q4_K 12, MXFP4 39.
const MODELS = [
  ['moe-q8_0', 8],
  ['moe-q4_k', 12],
  ['moe-mxfp4', 39],
] as const;

describe.each(MODELS)('%s', (name, ggmlType) => {
  const file = fixture(`${name}.gguf`);

  it('is quantized, and the planner counts exactly the bytes of its tensor data', async () => {
    const nlc = await import('node-llama-cpp');
    const model = await readModelFile(file, nlc);
    const header = validateGgufHeader(file, name, fs.statSync(file).size);
    const info = model.info.fullTensorInfo ?? model.info.tensorInfo ?? [];
    expect(info.find((t) => t.name === 'blk.0.ffn_up_exps.weight')?.ggmlType).toBe(ggmlType);
    expect(info.find((t) => t.name === 'blk.0.attn_q.weight')?.ggmlType).toBe(ggmlType);
    expect(info.find((t) => t.name === 'blk.0.ffn_gate_inp.weight')?.ggmlType).toBe(0); // the router stays F32
    // Each tensor's bytes as the planner counts them, padded to the alignment, tile the data section to the file's end.
    const padded = model.tensors.reduce((n, t) => n + Math.ceil(t.bytes / header.alignment) * header.alignment, 0);
    expect(padded).toBe(header.dataBytes);
    expect(header.dataOffset + header.dataBytes).toBe(fs.statSync(file).size);
    const facts = modelFacts(model);
    expect(facts.weightBytes).toBe(model.tensors.reduce((n, t) => n + t.bytes, 0));
    expect([...facts.expertBytesByLayer.values()].reduce((a, b) => a + b, 0)).toBe(
      model.tensors.filter((t) => t.isExpert).reduce((n, t) => n + t.bytes, 0),
    );
  });

  it("generates node-llama-cpp's greedy tokens and captures every token's routing", async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: file });
    const prompt = [model.tokens.bos!, ...model.tokenize('The router picks two experts for every token')];
    const theirs = (await llamaGreedy(model, prompt, 12)).tokens;
    await model.dispose();

    const engine = newEngine();
    try {
      const info = await engine.load({ modelPath: file, contextSize: 256 });
      expect(info.routing!.moeLayers).toEqual([0, 1, 2, 3]);
      expect(info.fileBytes).toBe(fs.statSync(file).size);
      const run = await collect(engine, { input: { kind: 'tokens', ids: prompt }, sampling: greedy(12), captureRouting: true });
      expect(run.tokens.filter((t) => t.phase === 'generated').map((t) => t.id)).toEqual(theirs);
      expect(run.tokens).toHaveLength(prompt.length + theirs.length);
      for (const token of run.tokens) {
        expect(token.experts).toHaveLength(4);
        for (let l = 0; l < 4; l++) {
          expect(token.experts[l][0]).not.toBe(token.experts[l][1]);
          expect(token.weights[l][0] + token.weights[l][1]).toBeCloseTo(1, 5); // Mixtral normalises the top-2
        }
      }
    } finally {
      await engine.dispose();
    }
  });
});
