// The committed demo model (models/demo/demo-moe.gguf, trained by scripts/train-demo): its header, the export
// check against PyTorch (models/demo/reference.json, written by the exporter from the same F16 weights), and the
// `demo` model argument of the CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { DEMO_MODEL_ARG, demoModelFile, resolveModelArg } from '../../extension/engine/demo-model';
import { ROOT, collect, greedy, newEngine, runCli } from './helpers';
import { checkPrompt, readReference } from '../../scripts/train-demo/export-check';
import type { EngineClient } from '../../extension/engine/client';
import { readGgufHeader } from '../../scripts/fixtures/gguf-reader';
import { GgmlType } from '../../scripts/fixtures/gguf-writer';

const DEMO = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');
const reference = { prompts: readReference(path.join(ROOT, 'models', 'demo')) };

describe('the demo model file', () => {
  it('is where the extension and the CLI look for it', () => {
    expect(demoModelFile()).toBe(DEMO);
    expect(resolveModelArg(DEMO_MODEL_ARG)).toBe(DEMO);
    expect(resolveModelArg('other.gguf')).toBe('other.gguf');
  });

  it('is a Mixtral-style MoE (llama + 8 experts, top-2) in F16 with F32 routers, at most 25 MB, tagged as a text model', () => {
    const h = readGgufHeader(DEMO);
    const m = h.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('general.name')).toBe('MoE Lens demo');
    expect(m.get('general.tags')).toContain('text-continuation');
    expect(m.get('llama.expert_count')).toBe(8);
    expect(m.get('llama.expert_used_count')).toBe(2);
    expect(m.get('tokenizer.ggml.model')).toBe('llama');
    expect(h.tensors.get('blk.0.ffn_up_exps.weight')?.type).toBe(GgmlType.F16);
    expect(h.tensors.get('blk.0.ffn_gate_inp.weight')?.type).toBe(GgmlType.F32);
    expect(fs.statSync(DEMO).size).toBeLessThanOrEqual(25e6);
  });
});

describe('export check: llama.cpp and PyTorch agree on the demo model', () => {
  let llama: Llama;
  let model: LlamaModel;
  let engine: EngineClient;
  beforeAll(async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' });
    model = await llama.loadModel({ modelPath: DEMO });
    engine = newEngine();
    await engine.load({ modelPath: DEMO, threads: 1, contextSize: 512 });
  }, 120_000);
  afterAll(async () => {
    await engine?.dispose();
    await model?.dispose();
  });

  it('llama.cpp tokenizes the prompts exactly as SentencePiece did', () => {
    for (const p of reference.prompts) expect([model.tokens.bos, ...model.tokenize(p.prompt)]).toEqual(p.promptIds);
  });

  it.each(reference.prompts.map((p, i) => [i, p] as const))('prompt %i: the same greedy tokens; log-probabilities close', async (i, p) => {
    const check = await checkPrompt(model, p);
    console.log(`prompt ${i}: ${check.tokens} tokens, ${check.identical ? 'identical' : 'DIFFERENT'}, largest log-probability difference ${check.maxLogprobDiff.toExponential(2)}`);
    expect(check.llamaTokens).toEqual(check.expected);
    // F16 weights with F16-rounded activations in ggml's CPU matmuls and an F16 KV cache, against float32 PyTorch.
    expect(check.maxLogprobDiff).toBeLessThan(0.05);
    const expected = check.expected;

    // The engine (the native decode loop the chat uses) gives the same tokens.
    const engineRun = await collect(engine, { input: { kind: 'tokens', ids: p.promptIds }, sampling: greedy(p.greedy.length), captureRouting: true });
    expect(engineRun.tokens.filter((t) => t.phase === 'generated').map((t) => t.id)).toEqual(expected);
  });
});

describe('the CLI takes `demo` for the built-in model', () => {
  it('inspect demo', async () => {
    const r = await runCli('inspect', 'demo', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.path).toBe(DEMO);
    expect(info.isMoe).toBe(true);
    expect(info.continuesText).toBe(true);
  });

  it('generate demo writes text', async () => {
    const r = await runCli('generate', 'demo', '--prompt', 'The purpose of this module is', '-n', '24', '--threads', '1', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(20);
  });
});
