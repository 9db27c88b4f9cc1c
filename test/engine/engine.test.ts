// The engine on real llama.cpp with the generated models: generation, capture switching, chat, offload
// options, dense models, and agreement with node-llama-cpp's own greedy decoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineClient } from '../../extension/engine/client';
import { collect, DENSE, greedy, llamaGreedy, MOE, newEngine, QWEN } from './helpers';

const PROMPT = 'The function returns the value of the expert router';

describe('engine on the Mixtral-style model', () => {
  let engine: EngineClient;
  beforeAll(async () => {
    engine = newEngine();
    await engine.load({ modelPath: MOE, contextSize: 256 });
  });
  afterAll(() => engine.dispose());

  it('reports the MoE configuration', () => {
    const info = engine.model!;
    expect(info.architecture).toBe('llama');
    expect(info.routing).toEqual({ moeLayers: [0, 1, 2, 3], experts: 8, expertsPerToken: 2, sharedExperts: 0 });
    expect(info.activeParams).toBeLessThan(info.totalParams);
    expect(info.contextSize).toBe(256);
    expect(info.placement.planned).toBe(false);
    expect(info.placement.weights.reduce((n, w) => n + w.bytes, 0)).toBeGreaterThan(0);
  });

  it('gives every token, prompt and generated, routing for every MoE layer', async () => {
    const run = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(12) });
    const prompt = run.tokens.filter((t) => t.phase === 'prompt');
    const generated = run.tokens.filter((t) => t.phase === 'generated');
    expect(prompt.length).toBe(run.result.promptTokens);
    expect(prompt[0].id).toBe(1); // BOS
    expect(generated.length).toBe(run.result.generatedTokens);
    expect(run.tokens.map((t) => t.index)).toEqual(run.tokens.map((_, i) => i));
    for (const token of run.tokens) {
      expect(token.experts).toHaveLength(4);
      for (let l = 0; l < 4; l++) {
        const [e0, e1] = token.experts[l];
        const [w0, w1] = token.weights[l];
        expect(e0).not.toBe(e1);
        expect(e0).toBeGreaterThanOrEqual(0);
        expect(e0).toBeLessThan(8);
        expect(w0).toBeGreaterThanOrEqual(w1); // ordered by weight, descending
        expect(w0 + w1).toBeCloseTo(1, 5); // Mixtral normalises the top-k weights
      }
    }
    expect(run.result.routingCaptured).toBe(true);
  });

  it('generates the same greedy tokens with capture on and off', async () => {
    const on = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(24), captureRouting: true });
    const off = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(24), captureRouting: false });
    expect(off.result.routingCaptured).toBe(false);
    expect(off.frames.every((f) => f.experts.length === 0)).toBe(true);
    expect(on.tokens.filter((t) => t.phase === 'generated').map((t) => t.id)).toEqual(
      off.tokens.filter((t) => t.phase === 'generated').map((t) => t.id),
    );
    expect(on.text).toBe(off.text);
    expect(on.result.text).toBe(on.text);
  });

  it('switches capture off and on between turns of one conversation', async () => {
    const messages = [{ role: 'user' as const, content: 'Summarize the router.' }];
    const first = await collect(engine, { input: { kind: 'chat', messages }, sampling: greedy(6), captureRouting: true });
    const second = await collect(engine, {
      input: { kind: 'chat', messages: [...messages, { role: 'assistant', content: first.result.text }, { role: 'user', content: 'And the experts?' }] },
      sampling: greedy(6),
      captureRouting: false,
    });
    const third = await collect(engine, {
      input: {
        kind: 'chat',
        messages: [...messages, { role: 'assistant', content: first.result.text }, { role: 'user', content: 'And the experts?' }, { role: 'assistant', content: second.result.text }, { role: 'user', content: 'Once more.' }],
      },
      sampling: greedy(6),
      captureRouting: true,
    });
    expect(first.tokens.every((t) => t.experts.length === 4)).toBe(true);
    expect(second.tokens.every((t) => t.experts.length === 0)).toBe(true);
    expect(third.tokens.length).toBeGreaterThan(0);
    expect(third.tokens.every((t) => t.experts.length === 4)).toBe(true);
    // The cached prefix is reused: the third turn evaluates only its new tokens, which start later.
    expect(third.tokens[0].index).toBeGreaterThan(0);
    // Without reuse (a new conversation) every prompt token is evaluated and routed again.
    const fresh = await collect(engine, { input: { kind: 'chat', messages }, sampling: greedy(6), reuseCache: false });
    const freshPrompt = fresh.tokens.filter((t) => t.phase === 'prompt');
    expect(freshPrompt[0].index).toBe(0);
    expect(freshPrompt.length).toBe(fresh.result.promptTokens);
    const generatedIds = (run: typeof first) => run.tokens.filter((t) => t.phase === 'generated').map((t) => t.id);
    expect(generatedIds(fresh)).toEqual(generatedIds(first));
  });

  it('applies the chat template and stops at stop strings', async () => {
    const input = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'hi there' }] };
    const chat = await collect(engine, { input, sampling: greedy(4) });
    // Prompt frames cover the tokens evaluated now (the cached prefix of earlier turns is reused).
    const promptText = chat.tokens.filter((t) => t.phase === 'prompt').map((t) => t.text).join('');
    expect(promptText).toContain('hi there');
    expect(promptText).toContain('[/INST]');
    expect(chat.result.promptTokens).toBe(await engine.countTokens(input));

    const free = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(24) });
    const generated = free.tokens.filter((t) => t.phase === 'generated');
    const stopPiece = generated[5].text;
    expect(stopPiece.length).toBeGreaterThan(0);
    const stopped = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: { ...greedy(24), stop: [stopPiece] } });
    expect(stopped.result.stopReason).toBe('stop-string');
    expect(stopped.result.text).not.toContain(stopPiece);
    expect(free.result.text.startsWith(stopped.result.text)).toBe(true);
  });

  it('samples reproducibly with a seed and differently with another', async () => {
    const sampling = { temperature: 1.2, topK: 0, topP: 1, minP: 0, maxTokens: 24, repeatPenalty: 1 };
    const a = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: { ...sampling, seed: 7 } });
    const b = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: { ...sampling, seed: 7 } });
    const c = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: { ...sampling, seed: 8 } });
    expect(a.result.text).toBe(b.result.text);
    expect(c.result.text).not.toBe(a.result.text);
  });

  it('refuses a prompt longer than the context with a clear error', async () => {
    const long = 'expert router '.repeat(400);
    await expect(engine.generate({ input: { kind: 'text', text: long } })).rejects.toMatchObject({ code: 'context-overflow' });
    // The engine still works afterwards.
    const after = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(2) });
    expect(after.result.generatedTokens).toBe(2);
  });

  it('cancels a generation and keeps what was generated', async () => {
    const controller = new AbortController();
    let seen = 0;
    const result = await engine.generate(
      { input: { kind: 'text', text: PROMPT }, sampling: greedy(200) },
      {
        signal: controller.signal,
        onFrame: (f) => {
          if (f.phase === 'generated' && (seen += f.ids.length) >= 3) controller.abort();
        },
      },
    );
    expect(result.stopReason).toBe('aborted');
    expect(result.generatedTokens).toBeGreaterThanOrEqual(3);
    expect(result.generatedTokens).toBeLessThan(200);
  });
});

describe('engine on other models', () => {
  it('captures routing of a second architecture whose router ends on another node (qwen2moe)', async () => {
    const engine = newEngine();
    try {
      const info = await engine.load({ modelPath: QWEN, contextSize: 128 });
      expect(info.architecture).toBe('qwen2moe');
      expect(info.routing!.sharedExperts).toBeGreaterThan(0);
      const run = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(6) });
      expect(run.tokens.length).toBe(run.result.promptTokens + run.result.generatedTokens);
      for (const token of run.tokens) {
        expect(token.experts).toHaveLength(info.routing!.moeLayers.length);
        for (const weights of token.weights) {
          expect(weights[0]).toBeGreaterThanOrEqual(weights[1]);
          // qwen2moe does not renormalise the top-k softmax weights.
          expect(weights.reduce((a, b) => a + b, 0)).toBeLessThan(0.999);
        }
      }
    } finally {
      await engine.dispose();
    }
  });

  it('runs a dense model with empty routing, and refuses it where an MoE is required', async () => {
    const engine = newEngine();
    try {
      const info = await engine.load({ modelPath: DENSE, contextSize: 128 });
      expect(info.routing).toBeUndefined();
      const run = await collect(engine, { input: { kind: 'text', text: PROMPT }, sampling: greedy(5) });
      expect(run.result.generatedTokens).toBe(5);
      expect(run.result.routingCaptured).toBe(false);
      expect(run.tokens.every((t) => t.experts.length === 0)).toBe(true);
      await expect(engine.load({ modelPath: DENSE, requireMoe: true })).rejects.toMatchObject({ code: 'not-moe' });
    } finally {
      await engine.dispose();
    }
  });
});

describe("agreement with node-llama-cpp's own decoding", () => {
  it.each([
    ['Mixtral-style', MOE],
    ['qwen2moe', QWEN],
  ])('greedy tokens on the %s model are identical', async (_name, modelPath) => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath });
    const prompt = [...model.tokenize('The function returns the value')];
    if (model.tokens.bos !== null) prompt.unshift(model.tokens.bos);
    const theirs = (await llamaGreedy(model, prompt, 20)).tokens;
    await model.dispose();

    const engine = newEngine();
    try {
      await engine.load({ modelPath, contextSize: 256 });
      const ours = await collect(engine, { input: { kind: 'tokens', ids: prompt }, sampling: greedy(20), captureRouting: true });
      expect(ours.tokens.filter((t) => t.phase === 'generated').map((t) => t.id)).toEqual(theirs);
    } finally {
      await engine.dispose();
    }
  });
});
