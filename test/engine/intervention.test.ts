// Expert interventions on real llama.cpp: ablation, forcing and a top-k override give, for every prompt and
// generated token in every MoE layer, the routing of the independent reference forward pass run with the same
// intervention (ids identical, weights within 1e-4), on the Mixtral-style, qwen2moe, deepseek2 (sigmoid) and gpt-oss fixtures. The prefix cache never
// reuses state computed under another intervention; dense models are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../extension/engine/errors';
import { resolveIntervention } from '../../extension/engine/intervention';
import type { Intervention, ModelInfo } from '../../extension/engine/types';
import { compareRouting, loadReferenceModel, referenceForward, type ReferenceModel } from '../reference/forward';
import { collect, DENSE, fixture, greedy, MOE, newEngine, QWEN, type Collected } from './helpers';

const engine = newEngine();
afterAll(() => engine.dispose());

const TEXT = 'Experts route tokens: function f(x) { return x * 2; } and the answer.';
// Flash attention off and an f32 KV cache: the reference mirrors llama.cpp's arithmetic exactly (see forward.ts).
const EXACT = { contextSize: 256, flashAttention: false, kvCache: 'f32' as const };

/** The reference's masks for an intervention: layer → experts whose router logits are -inf. */
function masksOf(intervention: Intervention, model: ModelInfo): Map<number, number[]> {
  return new Map(resolveIntervention(intervention, model)!.layers.map((l) => [l.layer, l.masked]));
}

function expectReferenceRouting(run: Collected, reference: ReferenceModel, masked: Map<number, number[]>, layers: number): void {
  const ids = run.tokens.map((t) => t.id);
  const expected = referenceForward(reference, ids, masked);
  const routing = compareRouting(expected, { experts: run.tokens.map((t) => t.experts), weights: run.tokens.map((t) => t.weights) });
  expect(routing.idMismatches).toEqual([]);
  expect(routing.nearTieFlips).toEqual([]);
  expect(routing.compared).toBe(ids.length * layers);
  expect(routing.maxWeightDiff).toBeLessThan(1e-4);
}

/** The expert a run chose most often in a MoE layer slot. */
function busiestExpert(run: Collected, slot: number): number {
  const counts = new Map<number, number>();
  for (const t of run.tokens) for (const e of t.experts[slot]) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0][0];
}

/** Experts that carry weight, per token and MoE layer slot. */
const weighted = (run: Collected, slot: number) =>
  run.tokens.map((t) => t.experts[slot].filter((_, r) => t.weights[slot][r] > 0));

describe.each([
  ['Mixtral-style llama', MOE],
  ['qwen2moe with shared experts', QWEN],
])('interventions on the %s model', (_name, modelPath) => {
  let reference: ReferenceModel;
  let baseline: Collected;
  /** The expert most used in each layer without intervention: ablating it must change the routing. */
  let busiest: number[];
  /** Each test loads its model itself (tests below load other options), so any one runs alone. */
  const exact = () => engine.load({ modelPath, ...EXACT });

  beforeAll(async () => {
    await exact();
    reference = loadReferenceModel(modelPath, { attention: 'standard', kvCache: 'f32' });
    baseline = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12) });
    busiest = engine.model!.routing!.moeLayers.map((_, slot) => busiestExpert(baseline, slot));
  });

  it('the baseline (no intervention) routes as the reference', () => {
    expect(baseline.tokens.length).toBeGreaterThan(12);
    expectReferenceRouting(baseline, reference, new Map(), engine.model!.routing!.moeLayers.length);
  });

  it('ablation: the ablated experts are never chosen and the routing equals the reference', async () => {
    const model = await exact();
    const intervention: Intervention = { ablate: { '*': [busiest[0]], [String(model.routing!.moeLayers[2])]: [busiest[2], (busiest[2] + 1) % model.routing!.experts] } };
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12), intervention });
    expect(run.result.routingCaptured).toBe(true);
    for (const t of run.tokens) {
      model.routing!.moeLayers.forEach((_, slot) => expect(t.experts[slot]).not.toContain(busiest[0]));
      expect(t.experts[2]).not.toContain(busiest[2]);
    }
    expectReferenceRouting(run, reference, masksOf(intervention, model), model.routing!.moeLayers.length);
    // it changed something: the baseline used the ablated experts
    expect(run.tokens.map((t) => t.experts)).not.toEqual(baseline.tokens.slice(0, run.tokens.length).map((t) => t.experts));
  });

  it('force with top-k experts: exactly those, weights by the router over them, equal to the reference', async () => {
    const model = await exact();
    const forced = [1, 6];
    const intervention: Intervention = { force: { [String(model.routing!.moeLayers[1])]: forced } };
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12), intervention });
    for (const t of run.tokens) {
      expect([...t.experts[1]].sort()).toEqual(forced);
      expect(t.weights[1][0] + t.weights[1][1]).toBeCloseTo(1, 5); // softmax over the forced pair
    }
    expectReferenceRouting(run, reference, masksOf(intervention, model), model.routing!.moeLayers.length);
  });

  it('force with fewer than top-k: the forced expert takes all the weight, the other slot weight 0', async () => {
    const model = await exact();
    const intervention: Intervention = { force: { '0': [5], '3': [2] } };
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12), intervention });
    expect(weighted(run, 0).every((ids) => ids.length === 1 && ids[0] === 5)).toBe(true);
    expect(weighted(run, 3).every((ids) => ids.length === 1 && ids[0] === 2)).toBe(true);
    for (const t of run.tokens) {
      expect(t.weights[0][0]).toBeCloseTo(1, 6);
      expect(t.weights[0][1]).toBe(0);
    }
    expectReferenceRouting(run, reference, masksOf(intervention, model), model.routing!.moeLayers.length);
  });

  it('a chat whose second turn changes the intervention gives the tokens of a fresh run', async () => {
    await exact();
    const first = [{ role: 'user' as const, content: 'Summarize the router.' }];
    const a: Intervention = { ablate: { '*': [busiest[1]] } };
    const b: Intervention = { force: { '1': [0, 3] } };
    const turn1 = await collect(engine, { input: { kind: 'chat', messages: first }, sampling: greedy(6), intervention: a });
    const messages = [...first, { role: 'assistant' as const, content: turn1.result.text }, { role: 'user' as const, content: 'And the experts?' }];
    const reused = await collect(engine, { input: { kind: 'chat', messages }, sampling: greedy(8), intervention: b });
    const fresh = await collect(engine, { input: { kind: 'chat', messages }, sampling: greedy(8), intervention: b, reuseCache: false });
    // nothing computed under `a` was reused: the whole prompt was evaluated again
    expect(reused.frames[0].firstIndex).toBe(0);
    expect(reused.tokens.map((t) => t.id)).toEqual(fresh.tokens.map((t) => t.id));
    expect(reused.tokens.map((t) => t.experts)).toEqual(fresh.tokens.map((t) => t.experts));
    // while the same intervention does reuse the prefix
    const again = await collect(engine, {
      input: { kind: 'chat', messages: [...messages, { role: 'assistant', content: reused.result.text }, { role: 'user', content: 'Once more.' }] },
      sampling: greedy(4),
      intervention: b,
    });
    expect(again.frames[0].firstIndex).toBeGreaterThan(0);
  });

  it.each([1, 3])('experts per token %i at load: routing equals the reference with that top-k', async (k) => {
    await engine.load({ modelPath, ...EXACT, expertsPerToken: k });
    const model = engine.model!;
    expect(model.routing!.expertsPerToken).toBe(k);
    expect(model.routing!.modelExpertsPerToken).toBe(2);
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(8) });
    expect(run.frames[0].k).toBe(k);
    const topk: ReferenceModel = { ...reference, hparams: { ...reference.hparams, nExpertUsed: k } };
    expectReferenceRouting(run, topk, new Map(), model.routing!.moeLayers.length);
  });

  it('a bad intervention is one clear error and the engine keeps working', async () => {
    await engine.load({ modelPath, contextSize: 256 });
    const request = (intervention: Intervention) => engine.generate({ input: { kind: 'text', text: 'x' }, sampling: greedy(2), intervention });
    await expect(request({ ablate: { '9': [1] } })).rejects.toThrow(/layer 9 is not a MoE layer/);
    await expect(request({ force: { '0': [1, 2, 3] } })).rejects.toThrow(/3 experts forced in layer 0/);
    await expect(request({ ablate: { '0': [0, 1, 2, 3, 4, 5, 6, 7] } })).rejects.toThrow(/every expert ablated/);
    await expect(request({ ablate: { '0': [8] } })).rejects.toSatisfy((e) => isEngineError(e, 'bad-intervention'));
    const ok = await collect(engine, { input: { kind: 'text', text: 'x' }, sampling: greedy(2) });
    expect(ok.result.generatedTokens).toBe(2);
    await expect(engine.load({ modelPath, expertsPerToken: 9 })).rejects.toSatisfy((e) => isEngineError(e, 'bad-intervention'));
    await expect(engine.load({ modelPath, expertsPerToken: 0 })).rejects.toThrow(/from 1 to 8/);
  });
});

// Other gating rules. deepseek2: sigmoid scores with a selection bias and expert groups — an ablated expert must
// be out of the biased selection and of its group's score, not only weightless. gpt-oss: a router bias and a
// softmax over the chosen experts' logits. Their shapes differ (top-4 of 16 and a leading dense layer for
// deepseek2), so the experts and layers come from the model.
describe.each([
  ['deepseek2 (sigmoid gating, selection bias, expert groups)', fixture('moe-deepseek2.gguf')],
  ['gpt-oss (router bias, softmax over the chosen experts)', fixture('moe-gptoss.gguf')],
])('interventions on the %s model', (_name, modelPath) => {
  let reference: ReferenceModel;
  let baseline: Collected;
  const exact = () => engine.load({ modelPath, ...EXACT });

  beforeAll(async () => {
    await exact();
    reference = loadReferenceModel(modelPath, { attention: 'standard', kvCache: 'f32' });
    baseline = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12) });
  });

  it('the baseline (no intervention) routes as the reference', () => {
    expect(baseline.tokens.length).toBeGreaterThan(12);
    expectReferenceRouting(baseline, reference, new Map(), engine.model!.routing!.moeLayers.length);
  });

  it('ablation: the most used expert of every layer is never chosen and the routing equals the reference', async () => {
    const model = await exact();
    const ablate: Record<string, number[]> = {};
    model.routing!.moeLayers.forEach((layer, slot) => (ablate[String(layer)] = [busiestExpert(baseline, slot)]));
    const intervention: Intervention = { ablate };
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12), intervention });
    for (const t of run.tokens) model.routing!.moeLayers.forEach((layer, slot) => expect(t.experts[slot]).not.toContain(ablate[String(layer)][0]));
    expectReferenceRouting(run, reference, masksOf(intervention, model), model.routing!.moeLayers.length);
  });

  it('force with top-k experts (one expert group) and with a single expert: exactly those carry weight, equal to the reference', async () => {
    const model = await exact();
    const k = model.routing!.expertsPerToken;
    const all = Array.from({ length: k }, (_, i) => i); // experts 0..k-1: the first expert group of deepseek2
    const intervention: Intervention = { force: { [String(model.routing!.moeLayers[0])]: all, [String(model.routing!.moeLayers.at(-1))]: [k + 1] } };
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12), intervention });
    const last = model.routing!.moeLayers.length - 1;
    expect(weighted(run, 0).every((ids) => [...ids].sort((a, b) => a - b).join() === all.join())).toBe(true);
    expect(weighted(run, last).every((ids) => ids.length === 1 && ids[0] === k + 1)).toBe(true);
    expectReferenceRouting(run, reference, masksOf(intervention, model), model.routing!.moeLayers.length);
  });
});

describe('interventions on a dense model', () => {
  it('are refused with a clear message', async () => {
    await engine.load({ modelPath: DENSE, contextSize: 128 });
    const error = await engine.generate({ input: { kind: 'text', text: 'x' }, sampling: greedy(2), intervention: { ablate: { '0': [1] } } }).catch((e: unknown) => e);
    expect(isEngineError(error, 'not-moe')).toBe(true);
    expect((error as Error).message).toMatch(/dense model/);
    await expect(engine.load({ modelPath: DENSE, expertsPerToken: 1 })).rejects.toSatisfy((e) => isEngineError(e, 'not-moe'));
  });
});
