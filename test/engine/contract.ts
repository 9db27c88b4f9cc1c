// The engine contract: what every Engine — the local engine process, the remote engine over HTTP, the test fake —
// promises its callers (the chat, the evals, the CLI), checked the same way for each. The capabilities an engine
// reports decide which routing and token promises apply.
import { expect, it } from 'vitest';
import { isEngineError } from '../../extension/engine/errors';
import type { Engine, LoadOptions, TokenFrame } from '../../extension/engine/types';

export interface ContractTarget {
  engine: () => Engine;
  options: () => LoadOptions;
}

export function engineContract(target: ContractTarget): void {
  const load = async () => {
    const engine = target.engine();
    const info = await engine.load(target.options());
    return { engine, info };
  };

  it('load: the model it reports is engine.model, with capabilities that agree with its facts', async () => {
    const { engine, info } = await load();
    expect(engine.model).toEqual(info);
    const c = info.capabilities;
    expect(c.placement).toBe(info.placement !== undefined);
    if (c.gateWeights) expect(c.routingIds).toBe(true);
    if (c.routingIds) {
      expect(info.routing).toBeDefined();
      expect(info.routing!.moeLayers.length).toBeGreaterThan(0);
      expect(info.routing!.expertsPerToken).toBeGreaterThan(0);
    } else expect(c.routingAbsent).toBeDefined();
    expect(info.contextSize).toBeGreaterThan(0);
    expect(['exact', 'estimate']).toContain(c.tokenCounting);
    expect(info.remote !== undefined).toBe(target.options().backend === 'remote');
  });

  it('generate: the frames spell the answer; tokens, routing and weights as the capabilities say', async () => {
    const { engine, info } = await load();
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: { kind: 'text', text: 'The expert router' }, sampling: { maxTokens: 6, temperature: 0 } }, { onFrame: (f) => frames.push(f) });
    expect(frames.map((f) => f.textDelta).join('')).toBe(result.text);
    expect(result.generatedTokens).toBeGreaterThan(0);
    expect(result.generatedTokens).toBeLessThanOrEqual(6);
    expect(['eos', 'stop-string', 'max-tokens', 'context-full']).toContain(result.stopReason);
    const c = info.capabilities;
    const withIds = frames.filter((f) => f.ids.length > 0);
    for (const f of frames) expect(f.texts.length).toBe(f.ids.length);
    if (c.tokenIds) expect(withIds.filter((f) => f.phase === 'generated').reduce((n, f) => n + f.ids.length, 0)).toBe(result.generatedTokens);
    const routed = frames.filter((f) => f.experts.length > 0);
    expect(result.routingCaptured).toBe(routed.length > 0);
    if (c.routingIds) expect(routed.length).toBeGreaterThan(0);
    else expect(routed).toEqual([]);
    for (const f of routed) {
      const r = info.routing!;
      expect([f.layers, f.k]).toEqual([r.moeLayers.length, r.expertsPerToken]);
      expect(f.experts.length).toBe(f.ids.length * f.layers * f.k);
      if (r.experts) expect(Math.max(...f.experts)).toBeLessThan(r.experts);
      expect(f.weights.length).toBe(c.gateWeights ? f.experts.length : 0);
    }
  });

  it('captureRouting false: no routing', async () => {
    const { engine } = await load();
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: { kind: 'text', text: 'x' }, sampling: { maxTokens: 2 }, captureRouting: false }, { onFrame: (f) => frames.push(f) });
    expect(result.routingCaptured).toBe(false);
    expect(frames.every((f) => f.experts.length === 0)).toBe(true);
  });

  it('tokens: detokenize(tokenize(text)) gives the text back; counts grow with the conversation', async () => {
    const { engine } = await load();
    const text = 'Mixture of experts';
    expect((await engine.detokenize(await engine.tokenize(text))).trim()).toBe(text);
    const short = await engine.countTokens({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    const long = await engine.countTokens({
      kind: 'chat',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello there, how can I help' },
        { role: 'user', content: 'tell me about routers' },
      ],
    });
    expect(short).toBeGreaterThan(0);
    expect(long).toBeGreaterThan(short);
  });

  it('an already-aborted signal: nothing generated, reported as aborted', async () => {
    const { engine } = await load();
    const controller = new AbortController();
    controller.abort();
    const outcome = await engine.generate({ input: { kind: 'text', text: 'x' }, sampling: { maxTokens: 4 } }, { signal: controller.signal }).then(
      (r) => r.stopReason,
      (e: unknown) => (isEngineError(e, 'aborted') ? 'aborted' : e),
    );
    expect(outcome).toBe('aborted');
  });

  it('unload: no model, and generate says so with no-model', async () => {
    const { engine } = await load();
    await engine.unload();
    expect(engine.model).toBeUndefined();
    const error = await engine.generate({ input: { kind: 'text', text: 'x' } }).catch((e: unknown) => e);
    expect(isEngineError(error, 'no-model')).toBe(true);
  });
}
