import { describe, expect, it } from 'vitest';
import { RoutingAggregator, binomial, compareSummaries, entropy, uniformBaselines, RoutingIndex } from '../../extension/routing';
import { E, K, LAYERS, block, randomBlock } from './fixtures';

const ln = Math.log;

describe('combinatorics and baselines', () => {
  it('binomial coefficients', () => {
    expect(binomial(4, 2)).toBe(6);
    expect(binomial(8, 2)).toBe(28);
    expect(binomial(6, 2)).toBe(15);
    expect(binomial(5, 0)).toBe(1);
    expect(binomial(3, 5)).toBe(0);
    // C(128, 8) = 128!/(8! 120!) checked with BigInt.
    let big = 1n;
    for (let i = 0n; i < 8n; i++) big = (big * (128n - i)) / (i + 1n);
    expect(binomial(128, 8)).toBe(Number(big));
  });

  it('uniform baselines from E and k', () => {
    const b = uniformBaselines(4, 2);
    expect(b.keepTop1).toBe(1 / 4);
    expect(b.keepSet).toBeCloseTo(1 / 6, 15);
    expect(b.shareAny).toBeCloseTo(1 - 1 / 6, 15); // C(2,2)/C(4,2) = 1/6 disjoint
    const m = uniformBaselines(8, 2); // Mixtral: 1/8, 1/28, 1 − 15/28
    expect(m.keepTop1).toBe(0.125);
    expect(m.keepSet).toBeCloseTo(1 / 28, 15);
    expect(m.shareAny).toBeCloseTo(13 / 28, 15);
    expect(uniformBaselines(8, 1).shareAny).toBeCloseTo(1 / 8, 15);
  });

  it('entropy of counts', () => {
    expect(entropy([1, 1, 1, 1])).toBeCloseTo(ln(4), 15);
    expect(entropy([5, 0, 0])).toBe(0);
    expect(entropy([])).toBe(0);
  });
});

describe('RoutingAggregator on the hand-made trace', () => {
  const s = RoutingAggregator.fromBlocks([block(0, 4)], { experts: E }).summary();

  it('load per layer (top-1 and top-k counts)', () => {
    expect(s.tokens).toBe(4);
    expect(s.pairs).toBe(3);
    expect(s.layers).toBe(LAYERS);
    expect(s.k).toBe(K);
    expect(s.perLayer[0].top1).toEqual([2, 2, 0, 0]);
    expect(s.perLayer[0].topk).toEqual([2, 3, 1, 2]);
    expect(s.perLayer[1].top1).toEqual([1, 0, 2, 1]);
    expect(s.perLayer[1].topk).toEqual([1, 1, 3, 3]);
  });

  it('load entropy normalised by ln E', () => {
    // Layer 0 top-k shares 2/8, 3/8, 1/8, 2/8.
    const h0 = 2 * 0.25 * ln(4) + 0.375 * ln(8 / 3) + 0.125 * ln(8);
    expect(s.perLayer[0].loadEntropy).toBeCloseTo(h0 / ln(4), 12);
    // Layer 1 top-k shares 1/8, 1/8, 3/8, 3/8.
    const h1 = 2 * 0.125 * ln(8) + 2 * 0.375 * ln(8 / 3);
    expect(s.perLayer[1].loadEntropy).toBeCloseTo(h1 / ln(4), 12);
    // Layer 0 top-1 shares 1/2, 1/2, 0, 0 → ln 2 / ln 4 = 0.5.
    expect(s.perLayer[0].loadEntropyTop1).toBeCloseTo(0.5, 12);
  });

  it('mean per-token gate entropy', () => {
    const hq = -(0.75 * ln(0.75) + 0.25 * ln(0.25));
    const expected = (hq + ln(2)) / 2;
    for (const l of [0, 1]) {
      expect(s.perLayer[l].gateEntropy).toBeCloseTo(expected, 6);
      expect(s.perLayer[l].gateEntropyNormK).toBeCloseTo(expected / ln(2), 6);
      expect(s.perLayer[l].gateEntropyNormE).toBeCloseTo(expected / ln(4), 6);
    }
  });

  it('keep-previous-expert rates', () => {
    expect(s.perLayer[0].keepTop1).toBeCloseTo(2 / 3, 15);
    expect(s.perLayer[0].keepSet).toBeCloseTo(1 / 3, 15);
    expect(s.perLayer[0].shareAny).toBeCloseTo(2 / 3, 15);
    expect(s.perLayer[1].keepTop1).toBe(0);
    expect(s.perLayer[1].keepSet).toBeCloseTo(2 / 3, 15);
    expect(s.perLayer[1].shareAny).toBeCloseTo(2 / 3, 15);
    expect(s.mean.keepTop1).toBeCloseTo(1 / 3, 15);
    expect(s.mean.keepSet).toBeCloseTo(1 / 2, 15);
    expect(s.baselines.keepTop1).toBe(0.25);
    expect(s.baselines.keepSet).toBeCloseTo(1 / 6, 15);
  });

  it('incremental equals batch, and a gap in token indices breaks the pair chain', () => {
    const inc = new RoutingAggregator({ experts: E });
    inc.add(block(0, 1)).add(block(1, 3)).add(block(3, 4));
    expect(inc.summary()).toEqual(s);

    const gap = new RoutingAggregator({ experts: E });
    gap.add(block(0, 2)).add(block(2, 4, 10));
    expect(gap.pairs).toBe(2);
    // Pair (1→2) is dropped: layer 0 keeps t1→t... only (0→1) yes and (2→3) yes remain.
    expect(gap.summary().perLayer[0].keepTop1).toBe(1);
  });

  it('incremental equals batch on a random trace', () => {
    const one = randomBlock(0, 300, 6, 8, 2, 7);
    const parts = [0, 1, 50, 51, 200, 300];
    const inc = new RoutingAggregator({ experts: 8 });
    for (let i = 0; i + 1 < parts.length; i++) {
      const [a, b] = [parts[i], parts[i + 1]];
      const s = 6 * 2;
      inc.add({ ...one, firstIndex: a, ids: one.ids.slice(a, b), texts: one.texts.slice(a, b), experts: one.experts.slice(a * s, b * s), weights: one.weights.slice(a * s, b * s) });
    }
    const batch = RoutingAggregator.fromBlocks([one], { experts: 8 }).summary();
    const incremental = inc.summary();
    expect(incremental.pairs).toBe(299);
    expect(incremental.perLayer.map((l) => [l.top1, l.topk, l.keepTop1, l.keepSet, l.shareAny])).toEqual(
      batch.perLayer.map((l) => [l.top1, l.topk, l.keepTop1, l.keepSet, l.shareAny]),
    );
    for (let l = 0; l < 6; l++) expect(incremental.perLayer[l].gateEntropy).toBeCloseTo(batch.perLayer[l].gateEntropy, 9);
  });

  it('ignores blocks without routing and grows to unseen expert ids', () => {
    const a = new RoutingAggregator({ experts: 2 });
    a.add({ ...block(0, 2), experts: new Uint16Array(0), weights: new Float32Array(0) });
    expect(a.tokens).toBe(0);
    a.add(block(0, 4));
    expect(a.experts).toBe(4);
    expect(a.summary().perLayer[1].topk).toEqual([1, 1, 3, 3]);
  });
});

describe('merge and compare', () => {
  it('merging two messages sums counts without a pair across them', () => {
    const a = RoutingAggregator.fromBlocks([block(0, 2)], { experts: E });
    const b = RoutingAggregator.fromBlocks([block(2, 4)], { experts: E });
    const m = RoutingAggregator.mergeAll([a, b], { experts: E }).summary();
    expect(m.tokens).toBe(4);
    expect(m.pairs).toBe(2);
    expect(m.perLayer[0].topk).toEqual([2, 3, 1, 2]);
    // Pairs (0→1) and (2→3): layer 0 keeps top-1 in both.
    expect(m.perLayer[0].keepTop1).toBe(1);
    expect(m.perLayer[1].keepTop1).toBe(0);
  });

  it('compare reports deltas and load distance', () => {
    const a = RoutingAggregator.fromBlocks([block(0, 2)], { experts: E }).summary();
    const b = RoutingAggregator.fromBlocks([block(2, 4)], { experts: E }).summary();
    const c = compareSummaries(a, b);
    // Layer 0 top-k: a = {0:2, 1:1, 2:1}/4, b = {1:2, 3:2}/4 → TV = (2 + 1 + 1 + 2)/4/2 = 0.75
    expect(c.perLayer[0].loadDistance).toBeCloseTo(0.75, 12);
    expect(c.perLayer[1].delta.keepSet).toBe(-1); // a: {2,3}→{3,2} kept; b: {2,3}→{0,1} not
    expect(compareSummaries(a, a).meanLoadDistance).toBe(0);
  });
});

describe('RoutingIndex', () => {
  it('top-1 per layer, mode over layers and agreement with the previous token', () => {
    const idx = new RoutingIndex();
    idx.add(block(0, 1));
    idx.add(block(1, 4));
    expect(idx.count).toBe(4);
    expect([0, 1, 2, 3].map((i) => idx.top1(i, 0))).toEqual([0, 0, 1, 1]);
    expect([0, 1, 2, 3].map((i) => idx.top1(i, 1))).toEqual([2, 3, 2, 0]);
    expect([0, 1, 2, 3].map((i) => idx.modeTop1(i))).toEqual([0, 0, 1, 0]);
    expect([0, 1, 2, 3].map((i) => idx.agreement(i))).toEqual([null, 0.5, 0, 0.5]);
    const t = idx.token(2)!;
    expect(t.index).toBe(2);
    expect(Array.from(t.experts)).toEqual([1, 3, 2, 3]);
    expect(Array.from(t.weights)).toEqual([0.75, 0.25, 0.5, 0.5]);
  });
});
