import { describe, expect, it } from 'vitest';
import { collectRouting, normalisedEntropy, routingSummaryStats } from '../../extension/routing/summary-stats';
import type { TokenFrame } from '../../extension/engine/types';

describe('routing summary statistics', () => {
  // E = 4, k = 1, 2 layers, 4 tokens; layout experts[(t * layers + l) * k + r].
  // layer 0 top-1: 0 0 1 1 → counts {0: 2, 1: 2} → H = ln 2, / ln 4 = 0.5; same as previous: t1 yes, t2 no, t3 yes → 2/3
  // layer 1 top-1: 0 1 2 3 → uniform → 1; never the same → 0
  const experts = Uint16Array.from([0, 0, 0, 1, 1, 2, 1, 3]);

  it('load entropy per layer, normalised by log E', () => {
    const s = routingSummaryStats({ experts, k: 1, layers: 2 }, 4);
    expect(s.tokens).toBe(4);
    expect(s.loadEntropy[0]).toBeCloseTo(0.5, 12);
    expect(s.loadEntropy[1]).toBeCloseTo(1, 12);
    expect(s.meanLoadEntropy).toBeCloseTo(0.75, 12);
  });

  it('same-top-1-as-previous rate with the 1/E baseline', () => {
    const s = routingSummaryStats({ experts, k: 1, layers: 2 }, 4);
    expect(s.sameTop1Rate[0]).toBeCloseTo(2 / 3, 12);
    expect(s.sameTop1Rate[1]).toBe(0);
    expect(s.sameTop1Baseline).toBe(0.25);
  });

  it('counts all k choices for the load and only rank 0 for top-1', () => {
    // k = 2, 1 layer, 2 tokens: [0, 1], [0, 2] → counts {0: 2, 1: 1, 2: 1} of 4; E = 4
    // H = −(0.5 ln 0.5 + 2 · 0.25 ln 0.25) = 1.5 ln 2; / ln 4 = 0.75. Top-1 0 then 0 → 1.
    const s = routingSummaryStats({ experts: Uint16Array.from([0, 1, 0, 2]), k: 2, layers: 1 }, 4);
    expect(s.loadEntropy[0]).toBeCloseTo(0.75, 12);
    expect(s.sameTop1Rate[0]).toBe(1);
  });

  it('entropy edge cases and E inferred from the ids', () => {
    expect(normalisedEntropy([5, 0, 0], 3)).toBe(0);
    expect(normalisedEntropy([0, 0], 2)).toBe(0);
    expect(routingSummaryStats({ experts: Uint16Array.from([0, 7]), k: 1, layers: 1 }).experts).toBe(8);
  });

  it('collects generated frames only, in order', () => {
    const frame = (phase: TokenFrame['phase'], ids: number[]): TokenFrame => ({
      phase, firstIndex: 0, ids: Int32Array.from([0]), texts: [''], textDelta: '', experts: Uint16Array.from(ids), weights: new Float32Array(ids.length), k: 1, layers: 2,
    });
    const r = collectRouting([frame('prompt', [9, 9]), frame('generated', [0, 0]), frame('generated', [0, 1])])!;
    expect([...r.experts]).toEqual([0, 0, 0, 1]);
    expect(r.tokens).toBe(2);
    expect(collectRouting([frame('prompt', [1, 1])])).toBeUndefined();
  });
});
