import { describe, expect, it } from 'vitest';
import { RoutingAggregator } from '../../extension/routing/aggregate';
import { routingSummaryStats } from '../../extension/routing/summary-stats';
import type { RoutingBlock } from '../../extension/protocol';
import type { TokenFrame } from '../../extension/engine/types';

/** Consecutive routing blocks (firstIndex 0, 1, …) of one token each: `tokens[t]` = experts[l * k + r] of token t. */
function blocks(tokens: number[][], k: number, layers: number, phase: RoutingBlock['phase'] = 'generated'): RoutingBlock[] {
  return tokens.map((experts, t) => ({
    firstIndex: t, phase, ids: Int32Array.from([t]), texts: [''], experts: Uint16Array.from(experts), weights: new Float32Array(experts.length), k, layers,
  }));
}

function stats(list: RoutingBlock[], experts = 0) {
  return routingSummaryStats(RoutingAggregator.fromBlocks(list, { experts }).summary());
}

describe('routing summary statistics', () => {
  // E = 4, k = 1, 2 layers, 4 tokens; layout experts[(t * layers + l) * k + r].
  // layer 0 top-1: 0 0 1 1 → counts {0: 2, 1: 2} → H = ln 2, / ln 4 = 0.5; same as previous: t1 yes, t2 no, t3 yes → 2/3
  // layer 1 top-1: 0 1 2 3 → uniform → 1; never the same → 0
  const routing = blocks([[0, 0], [0, 1], [1, 2], [1, 3]], 1, 2);

  it('load entropy per layer, normalised by log E', () => {
    const s = stats(routing, 4);
    expect(s.tokens).toBe(4);
    expect(s.loadEntropy[0]).toBeCloseTo(0.5, 12);
    expect(s.loadEntropy[1]).toBeCloseTo(1, 12);
    expect(s.meanLoadEntropy).toBeCloseTo(0.75, 12);
  });

  it('same-top-1-as-previous rate with the 1/E baseline', () => {
    const s = stats(routing, 4);
    expect(s.sameTop1Rate[0]).toBeCloseTo(2 / 3, 12);
    expect(s.sameTop1Rate[1]).toBe(0);
    expect(s.sameTop1Baseline).toBe(0.25);
  });

  it('counts all k choices for the load and only rank 0 for top-1', () => {
    // k = 2, 1 layer, 2 tokens: [0, 1], [0, 2] → counts {0: 2, 1: 1, 2: 1} of 4; E = 4
    // H = −(0.5 ln 0.5 + 2 · 0.25 ln 0.25) = 1.5 ln 2; / ln 4 = 0.75. Top-1 0 then 0 → 1.
    const s = stats(blocks([[0, 1], [0, 2]], 2, 1), 4);
    expect(s.loadEntropy[0]).toBeCloseTo(0.75, 12);
    expect(s.sameTop1Rate[0]).toBe(1);
  });

  it('entropy edge cases and E inferred from the ids', () => {
    // One expert takes the whole load of E = 3 → 0; nothing counted yet (E = 2) → 0.
    expect(stats(blocks([[0], [0], [0], [0], [0]], 1, 1), 3).loadEntropy[0]).toBe(0);
    expect(routingSummaryStats(new RoutingAggregator({ experts: 2, layers: 1, k: 1 }).summary()).loadEntropy[0]).toBe(0);
    expect(stats(blocks([[0], [7]], 1, 1)).experts).toBe(8);
  });

  it('counts the generated frames the runner adds, not the prompt ones', () => {
    // What runSample does with the engine's frames: only the generated phase reaches the aggregator.
    const frame = (phase: TokenFrame['phase'], firstIndex: number, ids: number[]): TokenFrame => ({
      phase, firstIndex, ids: Int32Array.from([0]), texts: [''], textDelta: '', experts: Uint16Array.from(ids), weights: new Float32Array(ids.length), k: 1, layers: 2,
    });
    const frames = [frame('prompt', 0, [9, 9]), frame('generated', 1, [0, 0]), frame('generated', 2, [0, 1])];
    const a = new RoutingAggregator({ experts: 0 });
    for (const f of frames) if (f.phase === 'generated') a.add(f);
    const s = routingSummaryStats(a.summary());
    expect(s.tokens).toBe(2);
    expect(s.experts).toBe(2);
    expect(s.sameTop1Rate).toEqual([1, 0]);
    // Prompt frames only: no routing counted (the runner then records none).
    const none = new RoutingAggregator({ experts: 0 });
    for (const f of [frame('prompt', 0, [1, 1])]) if (f.phase === 'generated') none.add(f);
    expect(none.tokens).toBe(0);
  });
});
