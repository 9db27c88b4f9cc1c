// Forcing experts on a DeepSeek-style router with expert groups (the deepseek2 fixture: 16 experts in 4 groups of
// 4, the best 2 groups searched, top-4). A group's score is the sum of its two best selection scores, so a group
// holding a single forced expert used to score -inf and lose its place: the routing matched neither the request
// nor the reference. Now the forced experts' groups are the ones searched, and a force over more groups than the
// router searches is refused in one line naming them.
import { afterAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../extension/engine/errors';
import { resolveIntervention } from '../../extension/engine/intervention';
import type { Intervention } from '../../extension/engine/types';
import { compareRouting, loadReferenceModel, referenceForward, type ReferenceModel } from '../reference/forward';
import { collect, fixture, greedy, newEngine, type Collected } from './helpers';

const engine = newEngine();
afterAll(() => engine.dispose());

const MODEL = fixture('moe-deepseek2.gguf');
const TEXT = 'Experts route tokens: function f(x) { return x * 2; } and the answer.';
const EXACT = { contextSize: 256, flashAttention: false, kvCache: 'f32' as const };

/** Experts that carry weight, per token and MoE layer slot (sorted). */
const weighted = (run: Collected, slot: number) =>
  run.tokens.map((t) => t.experts[slot].filter((_, r) => t.weights[slot][r] > 0).sort((a, b) => a - b));

describe('force across expert groups (deepseek2)', () => {
  let reference: ReferenceModel;
  let size: number;

  it('the model reports its groups', async () => {
    await engine.load({ modelPath: MODEL, ...EXACT });
    const groups = engine.model!.routing!.expertGroups;
    expect(groups).toEqual({ count: 4, searched: 2 });
    size = engine.model!.routing!.experts / groups!.count;
    reference = loadReferenceModel(MODEL, { attention: 'standard', kvCache: 'f32' });
  });

  it('top-k experts in two groups, one of them holding a single forced expert: exactly those, equal to the reference', async () => {
    const model = engine.model!;
    // three experts of group 0 and one of group 2: group 2's score used to be -inf (its second best was masked)
    const forced = [0, 1, 2, 2 * size + 1];
    const intervention: Intervention = { force: { '*': forced } };
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(12), intervention });
    model.routing!.moeLayers.forEach((_, slot) => expect(weighted(run, slot).every((ids) => ids.join() === forced.join())).toBe(true));
    // Once the forced experts' groups are the ones searched, the groups change nothing: the forced experts are the
    // top-k. So the reference without groups, masked as the engine masks (every other expert's logit -inf), is exact.
    const masked = new Map(resolveIntervention(intervention, model)!.layers.map((l) => [l.layer, l.masked]));
    const ungrouped: ReferenceModel = { ...reference, hparams: { ...reference.hparams, groups: 1, groupsUsed: 1 } };
    const ids = run.tokens.map((t) => t.id);
    const routing = compareRouting(referenceForward(ungrouped, ids, masked), {
      experts: run.tokens.map((t) => t.experts),
      weights: run.tokens.map((t) => t.weights),
    });
    expect(routing.idMismatches).toEqual([]);
    expect(routing.nearTieFlips).toEqual([]);
    expect(routing.compared).toBe(ids.length * model.routing!.moeLayers.length);
    expect(routing.maxWeightDiff).toBeLessThan(1e-4);
  });

  it('fewer than top-k, one expert in each of two groups: those two carry the weight', async () => {
    const model = engine.model!;
    const forced = [1, 3 * size + 2];
    const run = await collect(engine, { input: { kind: 'text', text: TEXT }, sampling: greedy(8), intervention: { force: { '*': forced } } });
    model.routing!.moeLayers.forEach((_, slot) => expect(weighted(run, slot).every((ids) => ids.join() === forced.join())).toBe(true));
  });

  it('a force over more groups than the router searches is refused in one line naming the groups', async () => {
    const layer = engine.model!.routing!.moeLayers[0];
    const request = { input: { kind: 'text' as const, text: 'x' }, sampling: greedy(2), intervention: { force: { [String(layer)]: [0, 3, 10, 14] } } };
    const error = await engine.generate(request).catch((e: unknown) => e);
    expect(isEngineError(error, 'bad-intervention')).toBe(true);
    expect((error as Error).message).toBe(
      `--force: layer ${layer}'s experts 0,3,10,14 lie in expert groups 0, 2, 3, but ${engine.model!.name}'s router searches only 2 of its 4 groups of 4`,
    );
  });
});
